#pragma once
// The files of a run, the same for both backends: trace.json, trace.csv, summary.json, links.csv.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "core/trace.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::apps {

// Writes the run's files into `dir` (all or nothing) and returns their paths. `extra` fields are
// merged into summary.json.
std::vector<std::filesystem::path> write_run_outputs(const std::filesystem::path& dir,
                                                     const core::Trace& trace,
                                                     const core::RunSummary& summary,
                                                     const nlohmann::json& extra);

// Facts about this machine to store beside measurements: cores, load average, kernel.
nlohmann::json machine_facts();

// What every summary.json says of its run, whichever backend ran it: experiment, backend,
// platform, strategy and the mesh (`parallelism`: each dimension's size and the rank order).
nlohmann::json run_identity(const core::Experiment& experiment, std::string_view backend);

// What a backend hands over when its run is over.
struct RunRecord {
  std::string_view backend;            // "sim" or "real"
  core::Trace& trace;                  // every rank's events
  std::vector<core::LinkUsage> links;  // the simulator's; a real run cannot see its links
  std::uint64_t messages = 0;          // point-to-point messages moved
};

struct FinishedRun {
  core::RunSummary summary;
  std::vector<std::filesystem::path> files;  // trace.json first
};

// The one ending of every run, whichever backend ran it: labels the trace ("<experiment>
// (simulated)" or "(measured)"), summarizes it with the strategy's roles and writes trace.json,
// trace.csv, summary.json and links.csv into `dir`. summary.json has the same keys from both
// backends: the summary's, run_identity's, `predicted_iteration_s` (the strategy's closed form),
// `fidelity` (steps or flows; null when measured) and `machine` (machine_facts() when measured;
// null when simulated, since the host of a simulation does not shape its times).
FinishedRun finish_run(const std::filesystem::path& dir, const core::Experiment& experiment,
                       const strategies::Strategy& strategy, RunRecord record);

}  // namespace dmlsim::apps
