#pragma once
// Many simulations at once: each `dmlsim run` in its own child process (SimGrid allows one engine
// per process), `jobs` at a time, with a progress line per finished run. compare and demo plan
// their runs and read the summaries through it; sweeps will too.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim::apps {

struct PlannedRun {
  std::string label;                                           // names the run in progress and errors
  std::filesystem::path experiment;                            // the experiment file
  std::vector<std::pair<std::string, std::string>> overrides;  // --set FIELD=VALUE, in order
  std::filesystem::path out;                                   // its output directory
  std::vector<std::string> extra_args = {};                    // more `dmlsim run` options (--backend real)
  std::filesystem::path log = {};  // the run's stdout and stderr go here (empty: to ours)
};

// Called as each run ends, in plan order, with its index in the plan and its exit code.
using RunFinished = std::function<void(std::size_t index, int exit_code)>;

// `jobs` ≤ 0 means one per core.
int effective_jobs(int jobs);

// Runs every planned run, `jobs` at a time, starting them in order; after each one ends, prints
// "  finished LABEL (k/N[, F failed][, about T left])" to `progress` (if not null). Returns the
// labels of the runs that failed (non-zero exit), in plan order; the others' outputs are in their
// directories. Interrupted (Ctrl-C, SIGTERM), it stops the runs in progress and waits for them
// before dmlsim exits, so that none goes on writing into its directory.
std::vector<std::string> run_batch(const std::vector<PlannedRun>& runs, int jobs, std::ostream* progress,
                                   const RunFinished& finished = {});

// A finished run's summary.json.
nlohmann::json read_summary(const std::filesystem::path& run_dir);

}  // namespace dmlsim::apps
