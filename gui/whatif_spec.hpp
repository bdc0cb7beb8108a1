#pragma once
// A what-if run: the experiment the what-if dialog writes for `dmlsim run`, the command line it
// runs, and what it reads back from dmlsim's stderr. Kept apart from the dialog so it is tested
// without one.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmlsim::gui {

struct WhatIfSpec {
  std::string name = "what-if";
  std::string platform;  // path to a platform YAML
  std::string model;     // path to a model YAML; empty for strategies that need none (collective)
  int ranks = 0;         // 0: one rank per host of the platform
  int iterations = 2;
  std::string strategy = "data-parallel";
  std::vector<std::pair<std::string, std::string>> options;  // strategy fields, e.g. {"allreduce", "ring"}
  std::string fidelity = "auto";
  std::string trace = "kernels";  // phases | kernels | messages
};

// Default options of the strategies the dialog offers (others start empty).
std::vector<std::pair<std::string, std::string>> default_options(std::string_view strategy);
// The strategies the dialog offers; the field is editable, dmlsim has the final word.
const std::vector<std::string>& known_strategies();

// The experiment file, in the format `dmlsim run` reads (see README "Experiment").
std::string experiment_yaml(const WhatIfSpec& spec);
// `dmlsim run EXPERIMENT --out DIR --progress`.
std::vector<std::string> run_arguments(const std::string& experiment_file, const std::string& out_dir);

// dmlsim --progress rewrites "\r  simulated 0.123456 s ..." on stderr: the last simulated time.
std::optional<double> last_progress(std::string_view stderr_text);
// stderr without the progress lines: what the CLI printed, e.g. its one-line error.
std::string without_progress(std::string_view stderr_text);

}  // namespace dmlsim::gui
