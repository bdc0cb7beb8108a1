#include "strategies/collectives/hierarchical.hpp"

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
      Part{std::make_shared<RingReduceScatter>(g, local, count), in_node},
      Part{inner, on_rail},
      Part{std::make_shared<RingAllGather>(g, local, count), in_node},
  };
  return std::make_shared<core::SequenceSchedule>("all-reduce", "hierarchical", n, index, count,
                                                  std::move(parts));
}

}  // namespace dmlsim::strategies
