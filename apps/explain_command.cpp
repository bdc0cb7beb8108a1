#include <fmt/format.h>

#include <iostream>

#include "apps/commands.hpp"
#include "core/experiment.hpp"
#include "core/units.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::apps {

int explain_command(const ExplainArgs& args) {
  const core::Experiment experiment = strategies::load_experiment(args.experiment, args.overrides);
  const auto strategy = strategies::make_strategy(experiment);
  const strategies::Prediction p = strategy->predict();
  std::cout << fmt::format("{}\n{}\nplatform {}\n\n", experiment.name, p.summary,
                           experiment.platform.describe());
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
  for (const auto& note : p.notes) std::cout << "  note: " << note << "\n";
  return 0;
}

}  // namespace dmlsim::apps
