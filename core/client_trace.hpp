#pragma once
// Per-client figures of an edge platform's class, as FedScale's device traces give them: a CSV file
// whose header names some of `compute`, `down`, `up` and `latency`, and one row per client of the
// class, in host order.
//   compute   the client's speed as a factor of its class's device (0.5: half as fast)
//   down, up  its access link's rates, with units ("12Mbps", "850kbps")
//   latency   its access link's one-way latency ("35ms"; plain numbers are seconds)
// An empty cell keeps the class's figure for that client.
#include <filesystem>
#include <optional>
#include <vector>

#include "core/csv_file.hpp"

namespace dmlsim::core {

struct ClientProfile {
  std::optional<double> compute;   // factor
  std::optional<double> down, up;  // bytes/s
  std::optional<double> latency;   // s
  int line = 0;
};

// The rows in file order. Throws ConfigError "FILE:LINE: ..." on a malformed file.
std::vector<ClientProfile> read_client_trace(const std::filesystem::path& file);
std::vector<ClientProfile> client_profiles(const CsvFile& csv);

}  // namespace dmlsim::core
