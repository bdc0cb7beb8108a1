#pragma once
// Starts the ranks of a real run with Open MPI's mpirun — on this machine, in the namespaces of a
// testbed, or on the hosts of a hostfile — as one process group, with a timeout. When a rank
// crashes or hangs, everything is killed and the rank is named.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "realrun/testbed.hpp"

namespace dmlsim::real {

struct LaunchOptions {
  std::filesystem::path program;       // the rank executable (dmlsim-rank)
  std::vector<std::string> arguments;  // its arguments
  int ranks = 1;
  std::optional<Testbed> testbed;  // one rank per namespace, in `placement` order
  std::vector<int> placement;      // host of each rank on the testbed
  std::filesystem::path hostfile;  // a real cluster instead (empty: all ranks on this machine)
  double timeout_seconds = 600;
  std::filesystem::path work_dir;                        // mpirun's log and the ranks' progress files go here
  std::vector<std::string> environment;                  // NAME=value for every rank
  std::vector<std::pair<std::string, std::string>> mca;  // extra --mca settings
};

struct LaunchResult {
  int exit_code = 0;
  bool timed_out = false;
  std::string problem;  // empty on success; else what happened, naming the rank(s)
  std::filesystem::path log;
};

LaunchResult launch(const LaunchOptions& options);

// Each rank writes its progress ("I PHASE": iteration I began PHASE) to progress_dir/rank<R>; the launcher
// reads them to say which rank is behind when a run hangs.
std::filesystem::path progress_file(const std::filesystem::path& progress_dir, int rank);

}  // namespace dmlsim::real
