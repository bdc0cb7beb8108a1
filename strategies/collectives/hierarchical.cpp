#include "strategies/collectives/hierarchical.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"
#include "strategies/collectives/algorithm.hpp"
#include "strategies/collectives/ring.hpp"

namespace dmlsim::strategies {

core::SchedulePtr make_hierarchical_all_reduce(int n, int index, std::uint64_t count,
                                               std::uint32_t element_bytes,
                                               const CollectiveOptions& options) {
  const int g = options.local_size;
  const int nodes = n / g;
  const int node = index / g, local = index % g;
  const core::ElementRange rail_chunk =
      core::chunk_range(count, static_cast<std::uint64_t>(g), static_cast<std::uint64_t>(local));
  const AlgorithmDescriptor* inner_algorithm = find_algorithm(Collective::all_reduce, options.inner);
  if (inner_algorithm == nullptr || inner_algorithm == &kHierarchicalAlgorithm) {
    throw core::ValueError(
        fmt::format("hierarchical all-reduce cannot run '{}' across nodes", options.inner));
  }
  CollectiveOptions rail_options = options;
  rail_options.tree_chunk_basis =
      core::chunk_range(count, static_cast<std::uint64_t>(g), 0).count;  // the largest rail
  const core::SchedulePtr inner = inner_algorithm->build(Collective::all_reduce, nodes, node,
                                                         rail_chunk.count, element_bytes, rail_options);
  const core::Embedding in_node{node * g, 1, 0};
  const core::Embedding on_rail{local, g, rail_chunk.offset};
  using Part = core::SequenceSchedule::Part;
  std::vector<Part> parts{
      Part{std::make_shared<RingReduceScatter>(g, local, count), in_node, "intra-node reduce-scatter"},
      Part{inner, on_rail, fmt::format("inter-node {} all-reduce", options.inner)},
      Part{std::make_shared<RingAllGather>(g, local, count), in_node, "intra-node all-gather"},
  };
  return std::make_shared<core::SequenceSchedule>("all-reduce", "hierarchical", n, index, count,
                                                  std::move(parts));
}

const AlgorithmDescriptor kHierarchicalAlgorithm{
    "hierarchical",
    collective_bit(Collective::all_reduce),
    "ring reduce-scatter inside each node, `inner` all-reduce across nodes per rail, ring all-gather",
    [](Collective, int n, const CollectiveOptions& options) -> std::optional<AlgorithmProblem> {
      if (auto problem = whole_nodes_problem("hierarchical", n, options)) return problem;
      if (options.inner == "hierarchical")
        return AlgorithmProblem{"inner", "hierarchical all-reduce cannot nest itself"};
      auto inner = algorithm_problem(Collective::all_reduce, options.inner, n / options.local_size, options);
      if (inner) inner->field = "inner";
      return inner;
    },
    [](Collective, int n, int index, std::uint64_t count, std::uint32_t element_bytes,
       const CollectiveOptions& options) -> core::SchedulePtr {
      return make_hierarchical_all_reduce(n, index, count, element_bytes, options);
    },
    [](Collective, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions& options) {
      const int g = options.local_size, nodes = n / g;
      const std::uint64_t rail = core::chunk_range(count, static_cast<std::uint64_t>(g), 0).count;
      CostTerms t = ring_steps(
          2 * (g - 1), max_chunk_bytes(count, static_cast<std::uint64_t>(g), element_bytes), paths.intra);
      const PathClasses rail_paths{paths.rails, paths.intra, paths.rails, 0, paths.rails.ring};
      t += collective_cost(Collective::all_reduce, options.inner, nodes, rail, element_bytes, rail_paths,
                           options);
      return t;
    },
    [](const PathClasses& paths) { return paths.rails.ring; }};

}  // namespace dmlsim::strategies
