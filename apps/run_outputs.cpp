#include "apps/run_outputs.hpp"

#include <sys/utsname.h>

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "apps/output.hpp"
#include "core/trace_writer.hpp"

namespace dmlsim::apps {

std::vector<std::filesystem::path> write_run_outputs(const std::filesystem::path& dir,
                                                     const core::Trace& trace,
                                                     const core::RunSummary& summary,
                                                     const nlohmann::json& extra) {
  nlohmann::json summary_json = summary.to_json();
  summary_json.update(extra);
  return write_outputs(dir, {{"trace.json", [&](std::ostream& o) { core::write_chrome_trace(trace, o); }},
                             {"trace.csv", [&](std::ostream& o) { core::write_csv_trace(trace, o); }},
                             {"summary.json", [&](std::ostream& o) { o << summary_json.dump(2) << "\n"; }},
                             {"links.csv", [&](std::ostream& o) { core::write_links_csv(summary, o); }}});
}

nlohmann::json run_identity(const core::Experiment& experiment, std::string_view backend) {
  nlohmann::json identity{{"experiment", experiment.name},
                          {"backend", backend},
                          {"platform", experiment.platform.name},
                          {"strategy", experiment.strategy_type},
                          {"parallelism", core::to_json(experiment.mesh)}};
  // An edge platform's client classes: each rank's host's class (null for the server's host).
  if (!experiment.platform.host_classes.empty()) {
    nlohmann::json& classes = identity[core::kHostClassOfRankKey] = nlohmann::json::array();
    for (const int host : experiment.placement) {
      const core::HostClass* c = experiment.platform.class_of(host);
      classes.push_back(c != nullptr ? nlohmann::json(c->name) : nlohmann::json());
    }
  }
  // A platform's sites (an edge platform's regions with aggregators): each rank's host's site.
  if (const auto* star = std::get_if<core::StarTopology>(&experiment.platform.topology);
      star && !star->sites.empty()) {
    nlohmann::json& sites = identity[core::kSiteOfRankKey] = nlohmann::json::array();
    for (const int host : experiment.placement) {
      const int site = star->site(host);
      sites.push_back(site >= 0 ? nlohmann::json(star->sites[static_cast<std::size_t>(site)].name)
                                : nlohmann::json());
    }
  }
  return identity;
}

FinishedRun finish_run(const std::filesystem::path& dir, const core::Experiment& experiment,
                       const strategies::Strategy& strategy, RunRecord record) {
  const bool simulated = record.backend == "sim";
  record.trace.label = fmt::format("{} ({})", experiment.name, simulated ? "simulated" : "measured");
  FinishedRun run;
  run.summary = core::summarize(record.trace, std::move(record.links), strategy.roles());
  run.summary.messages = record.messages;
  nlohmann::json extra = run_identity(experiment, record.backend);
  const strategies::Prediction prediction = strategy.predict();
  extra["predicted_iteration_s"] = prediction.iteration_seconds;
  // The strategy's memory model: the most a rank needs, and whether every rank's device holds it
  // (null where the strategy models memory per rank class only as a total, or not at all).
  extra["memory_per_device_bytes"] =
      prediction.memory_per_device > 0 ? nlohmann::json(prediction.memory_per_device) : nlohmann::json();
  const std::optional<bool> fits = prediction.memory_fits();
  extra["memory_fits"] = fits ? nlohmann::json(*fits) : nlohmann::json();
  extra["fidelity"] = simulated ? nlohmann::json(core::to_string(experiment.fidelity)) : nlohmann::json();
  extra["machine"] = simulated ? nlohmann::json() : machine_facts();
  run.files = write_run_outputs(dir, record.trace, run.summary, extra);
  return run;
}

nlohmann::json machine_facts() {
  nlohmann::json facts;
  facts["cores"] = std::thread::hardware_concurrency();
  std::ifstream load("/proc/loadavg");
  double one = 0, five = 0, fifteen = 0;
  if (load >> one >> five >> fifteen) facts["loadavg"] = {one, five, fifteen};
  utsname u{};
  if (uname(&u) == 0) facts["kernel"] = std::string(u.sysname) + " " + u.release;
  return facts;
}

}  // namespace dmlsim::apps
