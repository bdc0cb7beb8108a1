#include <fmt/format.h>

#include <iostream>

#include "apps/commands.hpp"
#include "core/experiment.hpp"
#include "core/units.hpp"
#include "strategies/jobs.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::apps {

namespace {

void explain(const core::Experiment& experiment) {
  const auto strategy = strategies::make_strategy(experiment);
  const strategies::Prediction p = strategy->predict();
  std::cout << fmt::format("{}\n{}\n{}\n", experiment.name, p.summary, experiment.platform.header());
  for (const auto& t : p.terms) {
    std::cout << fmt::format("  {:<32} {:>12}   {}\n", t.name, core::format_duration(t.seconds), t.formula);
  }
  std::cout << fmt::format("\n  predicted iteration time         {:>12}\n",
                           core::format_duration(p.iteration_seconds));
  if (!p.references.empty()) {
    std::cout << fmt::format("\n  {}:\n", p.references_title);
    for (const auto& r : p.references) {
      std::cout << fmt::format("  {:<40} {:>12}   {}\n", r.name, core::format_duration(r.seconds), r.formula);
    }
  }
  if (!p.memory.empty()) {
    std::cout << fmt::format("\n  memory per GPU{:<18} {:>10} {:>10} {:>10} {:>12} {:>10} {:>10}\n", "",
                             "weights", "gradients", "optimizer", "activations", "total", "device");
    auto bytes = [](std::uint64_t b) { return core::format_bytes(static_cast<double>(b)); };
    for (const auto& m : p.memory) {
      std::cout << fmt::format("  {:<32} {:>10} {:>10} {:>10} {:>12} {:>10} {:>10}{}\n", m.ranks,
                               bytes(m.weights), bytes(m.gradients), bytes(m.optimizer), bytes(m.activations),
                               bytes(m.total()), bytes(m.capacity),
                               m.total() > m.capacity ? "  OUT OF MEMORY" : "");
    }
  }
  for (const auto& note : p.notes) std::cout << "  note: " << note << "\n";
}

}  // namespace

int explain_command(const ExplainArgs& args) {
  if (!strategies::has_jobs(args.experiment)) {
    explain(strategies::load_experiment(args.experiment, args.overrides));
    return 0;
  }
  // Several jobs: each job's closed form alone; what they do to each other needs the simulation.
  const strategies::JobsExperiment jobs = strategies::load_jobs(args.experiment, args.overrides);
  for (const strategies::Job& job : jobs.jobs) {
    std::cout << fmt::format("== job {} ({} ranks from {}, on hosts {}), as if alone ==\n", job.name,
                             job.experiment.ranks, core::format_duration(job.start),
                             fmt::join(job.hosts, ","));
    explain(job.experiment);
    std::cout << "\n";
  }
  std::cout << "  the jobs' contention for shared links is what `dmlsim run` simulates (slowdown per job)\n";
  return 0;
}

}  // namespace dmlsim::apps
