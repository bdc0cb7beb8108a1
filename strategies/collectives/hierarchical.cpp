#include "strategies/collectives/hierarchical.hpp"

#include <fmt/format.h>

#include "strategies/collectives/algorithm.hpp"
#include "strategies/collectives/binary_tree.hpp"
#include "strategies/collectives/halving_doubling.hpp"
#include "strategies/collectives/ring.hpp"

namespace dmlsim::strategies {

core::SchedulePtr make_hierarchical_all_reduce(int n, int index, std::uint64_t count, int local_size,
                                               const std::string& inner_algorithm,
                                               std::uint64_t inner_tree_chunks) {
  const int g = local_size;
  const int nodes = n / g;
  const int node = index / g, local = index % g;
  const core::ElementRange rail_chunk =
      core::chunk_range(count, static_cast<std::uint64_t>(g), static_cast<std::uint64_t>(local));

  core::SchedulePtr inner;
  if (inner_algorithm == "ring") {
    inner = std::make_shared<RingAllReduce>(nodes, node, rail_chunk.count);
  } else if (inner_algorithm == "halving-doubling") {
    inner = std::make_shared<HalvingDoublingAllReduce>(nodes, node, rail_chunk.count);
  } else if (inner_algorithm == "tree") {
    inner = make_tree_all_reduce(nodes, node, rail_chunk.count, inner_tree_chunks);
  } else {
    inner = make_double_tree_all_reduce(nodes, node, rail_chunk.count, inner_tree_chunks);
  }
  const core::Embedding in_node{node * g, 1, 0};
  const core::Embedding on_rail{local, g, rail_chunk.offset};
  using Part = core::SequenceSchedule::Part;
  std::vector<Part> parts{
      Part{std::make_shared<RingReduceScatter>(g, local, count), in_node, "intra-node reduce-scatter"},
      Part{inner, on_rail, fmt::format("inter-node {} all-reduce", inner_algorithm)},
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
      if (options.local_size < 1 || n % options.local_size != 0) {
        return AlgorithmProblem{
            "local_size",
            fmt::format("hierarchical all-reduce needs the group ({} members) to be whole nodes of {}", n,
                        options.local_size)};
      }
      if (options.inner == "hierarchical")
        return AlgorithmProblem{"inner", "hierarchical all-reduce cannot nest itself"};
      auto inner = algorithm_problem(Collective::all_reduce, options.inner, n / options.local_size, options);
      if (inner) inner->field = "inner";
      return inner;
    },
    [](Collective, int n, int index, std::uint64_t count, std::uint32_t element_bytes,
       const CollectiveOptions& options) -> core::SchedulePtr {
      // Every rail must pipeline its tree in the same number of chunks: size them on the largest rail.
      const std::uint64_t rail_count =
          core::chunk_range(count, static_cast<std::uint64_t>(options.local_size), 0).count;
      const std::uint64_t per_tree = options.inner == "double-binary-tree" ? rail_count / 2 : rail_count;
      return make_hierarchical_all_reduce(
          n, index, count, options.local_size, options.inner,
          pipeline_chunks(per_tree * element_bytes, options.tree_chunk_bytes));
    },
    [](Collective, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions& options) {
      const int g = options.local_size, nodes = n / g;
      const std::uint64_t rail = core::chunk_range(count, static_cast<std::uint64_t>(g), 0).count;
      CostTerms t = ring_steps(
          2 * (g - 1), max_chunk_bytes(count, static_cast<std::uint64_t>(g), element_bytes), paths.intra);
      const PathClasses rail_paths{paths.rails, paths.intra, paths.rails};
      t += collective_cost(Collective::all_reduce, options.inner, nodes, rail, element_bytes, rail_paths,
                           options);
      return t;
    },
    [](const PathClasses& paths) { return paths.rails.ring; }};

}  // namespace dmlsim::strategies
