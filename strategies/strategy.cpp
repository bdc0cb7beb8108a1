#include "strategies/strategy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/errors.hpp"
#include "strategies/elastic/elastic.hpp"
#include "strategies/federated/federated.hpp"
#include "strategies/federated/federated_plan.hpp"
#include "strategies/training/collective_benchmark.hpp"
#include "strategies/training/data_parallel.hpp"
#include "strategies/training/microbenchmarks.hpp"
#include "strategies/training/model_parallel.hpp"
#include "strategies/training/parameter_server.hpp"

namespace dmlsim::strategies {
namespace {

struct StrategyEntry {
  std::string_view name;
  std::unique_ptr<Strategy> (*make)(const core::Experiment&);
  std::span<const std::string_view> (*fields)();
  // The mesh dimensions (core::Mesh::kNames) the strategy splits its work along; a mesh with any
  // other dimension larger than 1 is refused rather than run as something else.
  std::span<const std::string_view> dimensions;
};
constexpr std::string_view kDataOnly[] = {"dp"};
constexpr std::string_view kPipelineAndData[] = {"pp", "dp"};
constexpr std::string_view kTensorAndData[] = {"tp", "dp"};
constexpr std::string_view kDataTensorPipeline[] = {"dp", "tp", "pp"};
constexpr StrategyEntry kStrategies[] = {
    {"collective", make_collective_benchmark, collective_benchmark_fields, kDataOnly},
    {"data-parallel", make_data_parallel, data_parallel_fields, kDataOnly},
    {"elastic", make_elastic, elastic_fields, kDataOnly},
    {"federated", make_federated, federated_fields, kDataOnly},
    {"kernels", make_kernel_benchmark, kernel_benchmark_fields, kDataOnly},
    {"pingpong", make_pingpong, pingpong_fields, kDataOnly},
    {"parameter-server", make_parameter_server, parameter_server_fields, kDataOnly},
    {"pipeline", make_model_parallel, model_parallel_fields, kPipelineAndData},
    {"tensor-parallel", make_model_parallel, model_parallel_fields, kTensorAndData},
    {"hybrid", make_model_parallel, model_parallel_fields, kDataTensorPipeline},
};

// A mesh that splits along a dimension the strategy does not: one error at the parallelism block.
void check_mesh(const core::Experiment& e, const StrategyEntry& s) {
  for (const core::Mesh::Dimension& d : e.mesh.dimensions()) {
    if (d.size == 1 || std::find(s.dimensions.begin(), s.dimensions.end(), d.name) != s.dimensions.end())
      continue;
    const std::string problem = fmt::format(
        "strategy '{}' splits its work along {} only, not along {} ({} {}); set {}: 1 or remove it", s.name,
        fmt::join(s.dimensions, ", "), d.name, d.name, d.size, d.name);
    if (e.parallelism) {
      if (const auto field = e.parallelism->find(d.name)) field->fail(problem);
      e.parallelism->fail(problem);
    }
    throw core::ConfigError(fmt::format("{}: {}", e.source, problem));
  }
}

}  // namespace

std::vector<std::string> strategy_types() {
  std::vector<std::string> out;
  for (const StrategyEntry& s : kStrategies) out.emplace_back(s.name);
  return out;
}

std::unique_ptr<Strategy> make_strategy(const core::Experiment& experiment) {
  for (const StrategyEntry& s : kStrategies) {
    if (s.name != experiment.strategy_type) continue;
    check_mesh(experiment, s);
    return s.make(experiment);
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
