#pragma once
// A node availability trace: when each node of a shared or preemptible pool is up, as spot-instance
// logs give it. A CSV file with the header `node,from,to` and one row per window in which a platform
// node is up: `from` and `to` are durations from the job's start ("90min", "2h", or seconds), `to`
// empty for "until the end". Windows of one node must not overlap; nodes not listed are always up.
#include <filesystem>
#include <limits>
#include <vector>

namespace dmlsim::strategies {

struct AvailabilityWindow {
  int node = 0;  // the platform's node number
  double from = 0;
  double to = std::numeric_limits<double>::infinity();
  int line = 0;  // in the file, for error messages
};

// The windows in file order. Throws core::ConfigError "FILE:LINE: ..." on a malformed file.
std::vector<AvailabilityWindow> read_availability(const std::filesystem::path& file);

}  // namespace dmlsim::strategies
