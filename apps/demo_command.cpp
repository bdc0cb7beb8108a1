// `dmlsim demo`: data-parallel training of a transformer on 64 GPUs (8 nodes × 8), once per
// all-reduce algorithm, each simulation in its own process; prints the comparison.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/batch_runner.hpp"
#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "core/errors.hpp"
#include "core/units.hpp"
#include "strategies/collectives/algorithm.hpp"

namespace dmlsim::apps {

int demo_command(const DemoArgs& args) {
  const std::filesystem::path experiment = data_dir() / "experiments" / "demo-transformer-64gpu.yaml";
  std::vector<std::string> algorithms;
  for (const strategies::AlgorithmDescriptor* a : strategies::algorithm_table()) {
    if (a->implements(strategies::Collective::all_reduce)) algorithms.emplace_back(a->name);
  }
  check_output_dir(args.out);
  const int jobs = effective_jobs(args.jobs);
  std::cout << fmt::format(
      "dmlsim demo: {} on 64 simulated H100 GPUs, one run per all-reduce algorithm ({} at a time)\n",
      experiment.filename().string(), jobs);
  std::vector<PlannedRun> runs;
  for (const std::string& algorithm : algorithms) {
    runs.push_back({algorithm,
                    experiment,
                    {{"strategy.allreduce", algorithm}, {"name", "demo-" + algorithm}},
                    args.out / algorithm});
  }
  const std::vector<std::string> failed = run_batch(runs, jobs, &std::cout);
  if (!failed.empty()) {
    std::cerr << fmt::format("dmlsim demo: {} run(s) failed: {}\n", failed.size(), fmt::join(failed, ", "));
    return 1;
  }

  struct Row {
    std::string algorithm;
    nlohmann::json summary;
  };
  std::vector<Row> rows;
  for (const std::string& algorithm : algorithms)
    rows.push_back({algorithm, read_summary(args.out / algorithm)});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.summary["iteration_s"].get<double>() < b.summary["iteration_s"].get<double>();
  });
  std::cout << fmt::format("\n  {:<20} {:>12} {:>12} {:>12} {:>14} {:>13}\n", "all-reduce", "iteration",
                           "closed form", "comm/iter", "exposed comm", "busiest link");
  for (const Row& r : rows) {
    const auto& s = r.summary;
    const std::string busiest =
        s["links"].empty() ? "-"
                           : fmt::format("{:.0f} %", s["links"][0]["utilization_percent"].get<double>());
    std::cout << fmt::format("  {:<20} {:>12} {:>12} {:>12} {:>14} {:>13}\n", r.algorithm,
                             core::format_duration(s["iteration_s"].get<double>()),
                             core::format_duration(s["predicted_iteration_s"].get<double>()),
                             core::format_duration(s["communication_s"].get<double>()),
                             core::format_duration(s["exposed_communication_s"].get<double>()), busiest);
  }
  std::cout << fmt::format(
      "\n  traces: {}/<algorithm>/trace.json (open in ui.perfetto.dev); summaries beside them\n",
      args.out.string());
  return 0;
}

}  // namespace dmlsim::apps
