#include <fmt/format.h>

#include <iostream>

#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "core/trace_writer.hpp"
#include "core/units.hpp"
#include "sim/simulate.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::apps {

int run_command(const RunArgs& args) {
  // Everything that can be wrong with the input is found here, before anything is simulated or written.
  const core::Experiment experiment = core::load_experiment(args.experiment, args.overrides);
  const std::unique_ptr<strategies::Strategy> strategy = strategies::make_strategy(experiment);
  const std::filesystem::path out =
      args.out.empty() ? std::filesystem::path("dmlsim-out") / experiment.name : args.out;

  sim::SimOptions options;
  options.progress = args.progress;
  sim::SimResult result = sim::simulate(
      experiment, [&](core::Rank& rank) { strategy->run(rank); }, options);
  result.trace.label = fmt::format("{} (simulated)", experiment.name);

  core::RunSummary summary = core::summarize(result.trace, result.links);
  summary.messages = result.messages;
  nlohmann::json summary_json = summary.to_json();
  summary_json["experiment"] = experiment.name;
  summary_json["backend"] = "sim";
  summary_json["platform"] = experiment.platform.name;
  summary_json["strategy"] = experiment.strategy_type;
  summary_json["fidelity"] = core::to_string(experiment.fidelity);
  summary_json["predicted_iteration_s"] = strategy->predict().iteration_seconds;

  const auto files =
      write_outputs(out, {{"trace.json", [&](std::ostream& o) { core::write_chrome_trace(result.trace, o); }},
                          {"trace.csv", [&](std::ostream& o) { core::write_csv_trace(result.trace, o); }},
                          {"summary.json", [&](std::ostream& o) { o << summary_json.dump(2) << "\n"; }},
                          {"links.csv", [&](std::ostream& o) { core::write_links_csv(summary, o); }}});
  if (!args.quiet) {
    core::print_summary(summary, std::cout);
    std::cout << fmt::format("  simulated {} in {:.3f} s wall, {} messages\n",
                             core::format_duration(result.simulated_seconds), result.wall_seconds,
                             result.messages);
    std::cout << fmt::format("  wrote {} (open it in ui.perfetto.dev), trace.csv, summary.json, links.csv\n",
                             files.front().string());
  }
  return 0;
}

}  // namespace dmlsim::apps
