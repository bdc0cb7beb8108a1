#pragma once
// Hierarchical all-reduce for groups laid out as M nodes of G consecutive members (GPUs of a
// node): a ring reduce-scatter inside each node leaves member j of the node with chunk j; the j-th
// members of all nodes (a "rail") all-reduce that chunk with an inner algorithm; a ring all-gather
// inside each node spreads the result. Every member crosses the network with only S/G bytes.
#include <cstdint>
#include <string>

#include "core/schedule.hpp"

namespace dmlsim::strategies {

core::SchedulePtr make_hierarchical_all_reduce(int n, int index, std::uint64_t count, int local_size,
                                               const std::string& inner_algorithm,
                                               std::uint64_t inner_tree_chunks);

}  // namespace dmlsim::strategies
