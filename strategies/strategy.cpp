#include "strategies/strategy.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"
#include "strategies/training/collective_benchmark.hpp"
#include "strategies/training/data_parallel.hpp"
#include "strategies/training/microbenchmarks.hpp"
#include "strategies/training/parameter_server.hpp"

namespace dmlsim::strategies {
namespace {

using Factory = std::unique_ptr<Strategy> (*)(const core::Experiment&);
constexpr std::pair<std::string_view, Factory> kStrategies[] = {
    {"collective", make_collective_benchmark},   {"data-parallel", make_data_parallel},
    {"kernels", make_kernel_benchmark},          {"pingpong", make_pingpong},
    {"parameter-server", make_parameter_server},
};

}  // namespace

std::vector<std::string> strategy_types() {
  std::vector<std::string> out;
  for (const auto& [name, factory] : kStrategies) out.emplace_back(name);
  return out;
}

std::unique_ptr<Strategy> make_strategy(const core::Experiment& experiment) {
  for (const auto& [name, factory] : kStrategies) {
    if (name == experiment.strategy_type) return factory(experiment);
  }
  experiment.strategy->at("type").fail(fmt::format(
      "unknown strategy '{}' (known: {})", experiment.strategy_type, fmt::join(strategy_types(), ", ")));
}

}  // namespace dmlsim::strategies
