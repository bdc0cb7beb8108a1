#include "strategies/strategy.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"
#include "strategies/training/collective_benchmark.hpp"
#include "strategies/training/data_parallel.hpp"
#include "strategies/training/microbenchmarks.hpp"
#include "strategies/training/parameter_server.hpp"

namespace dmlsim::strategies {
namespace {

struct StrategyEntry {
  std::string_view name;
  std::unique_ptr<Strategy> (*make)(const core::Experiment&);
  std::span<const std::string_view> (*fields)();
};
constexpr StrategyEntry kStrategies[] = {
    {"collective", make_collective_benchmark, collective_benchmark_fields},
    {"data-parallel", make_data_parallel, data_parallel_fields},
    {"kernels", make_kernel_benchmark, kernel_benchmark_fields},
    {"pingpong", make_pingpong, pingpong_fields},
    {"parameter-server", make_parameter_server, parameter_server_fields},
};

}  // namespace

std::vector<std::string> strategy_types() {
  std::vector<std::string> out;
  for (const StrategyEntry& s : kStrategies) out.emplace_back(s.name);
  return out;
}

std::unique_ptr<Strategy> make_strategy(const core::Experiment& experiment) {
  for (const StrategyEntry& s : kStrategies) {
    if (s.name == experiment.strategy_type) return s.make(experiment);
  }
  experiment.strategy->at("type").fail(fmt::format(
      "unknown strategy '{}' (known: {})", experiment.strategy_type, fmt::join(strategy_types(), ", ")));
}

const core::FieldHomes& strategy_field_homes() {
  static const core::FieldHomes homes = [] {
    core::FieldHomes out;
    for (const StrategyEntry& s : kStrategies) {
      for (const std::string_view f : s.fields()) out.emplace(f, "experiment.strategy");
    }
    return out;
  }();
  return homes;
}

core::Experiment load_experiment(const std::filesystem::path& file, const Overrides& overrides) {
  return core::load_experiment(file, overrides, strategy_field_homes());
}

}  // namespace dmlsim::strategies
