#pragma once
// An availability trace: when each member of a pool is up, as spot-instance logs or a federated
// population's behaviour traces (FedScale) give it. A CSV file with the header `KEY,from,to` and one
// row per window in which the member is up (KEY: `node` for an elastic job's platform nodes,
// `client` for an edge class's clients, counted from 0): `from` and `to` are durations from the
// run's start ("90min", "2h", or seconds), `to` empty for "until the end". Windows of one member
// must not overlap; members not listed are always up.
#include <filesystem>
#include <limits>
#include <string_view>
#include <vector>

#include "core/csv_file.hpp"

namespace dmlsim::core {

struct AvailabilityWindow {
  int key = 0;  // the node or client number
  double from = 0;
  double to = std::numeric_limits<double>::infinity();
  int line = 0;  // in the file, for error messages
};

// The windows in file order. Throws ConfigError "FILE:LINE: ..." on a malformed file.
std::vector<AvailabilityWindow> read_availability(const std::filesystem::path& file, std::string_view key);
std::vector<AvailabilityWindow> availability_windows(const CsvFile& csv, std::string_view key);

}  // namespace dmlsim::core
