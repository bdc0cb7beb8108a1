#pragma once
// The files of a run, the same for both backends: trace.json, trace.csv, summary.json, links.csv.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "core/trace.hpp"

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

}  // namespace dmlsim::apps
