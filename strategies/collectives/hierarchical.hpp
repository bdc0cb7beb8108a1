#pragma once
// Hierarchical all-reduce for groups laid out as M nodes of G consecutive members (GPUs of a
// node): a ring reduce-scatter inside each node leaves member j of the node with chunk j; the j-th
// members of all nodes (a "rail") all-reduce that chunk with an inner algorithm; a ring all-gather
// inside each node spreads the result. Every member crosses the network with only S/G bytes.
#include <cstdint>

#include "core/schedule.hpp"
#include "strategies/collectives/collectives.hpp"

namespace dmlsim::strategies {

// Nodes of options.local_size members; the rails run options.inner, built through the algorithm
// table (throws ValueError for an algorithm that is not an all-reduce).
core::SchedulePtr make_hierarchical_all_reduce(int n, int index, std::uint64_t count,
                                               std::uint32_t element_bytes, const CollectiveOptions& options);

}  // namespace dmlsim::strategies
