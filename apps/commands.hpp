#pragma once
// The dmlsim subcommands. Each returns the process exit code; bad input throws core::ConfigError
// (main prints it and exits with 2).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim::apps {

using Overrides = std::vector<std::pair<std::string, std::string>>;

struct RunArgs {
  std::filesystem::path experiment;
  std::filesystem::path out;  // empty: dmlsim-out/<experiment name>
  Overrides overrides;
  bool quiet = false;
  bool progress = false;
};
int run_command(const RunArgs& args);

struct ExplainArgs {
  std::filesystem::path experiment;
  Overrides overrides;
};
int explain_command(const ExplainArgs& args);

struct DemoArgs {
  std::filesystem::path out = "dmlsim-out/demo";
  int jobs = 0;  // parallel simulations; 0 = one per core
};
int demo_command(const DemoArgs& args);

// Where the shipped experiments and platforms are (the source tree, or $DMLSIM_DATA_DIR).
std::filesystem::path data_dir();

}  // namespace dmlsim::apps
