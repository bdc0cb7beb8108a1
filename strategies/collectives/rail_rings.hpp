#pragma once
// Rail rings: all-reduce across nodes of g GPUs as NCCL runs its ring, one ring per channel, g
// channels (NCCL's rings on DGX-class nodes with a NIC per GPU). Channel c carries the c-th of g
// slices of the buffer around a ring that visits the nodes in order and, inside node k, enters at
// local GPU c and leaves from local GPU c − 1 (mod g) toward local GPU c of node k + 1. Every NIC
// then carries one channel out and one in, so the rings together use all g rails, while a single
// ring crosses one NIC per node boundary. Each channel is a ring all-reduce (Patarasuk & Yuan
// 2009) over its order; all channels run in the same rounds, on disjoint slices.
//   time: 2(n−1)·(α + ⌈⌈S/g⌉/n⌉β), α and β of the slowest message of a round in which every
//   member sends one message per channel (g − 1 of them to its neighbour over NVLink, one over
//   its NIC for the member that leaves its node), each sharing its ports with the others
// With one node, every channel's ring is the plain ring: the same time as `ring`.
#include "core/schedule.hpp"
#include "strategies/collectives/collectives.hpp"

namespace dmlsim::strategies {

// Member `index` of an n-member group (whole nodes of options.local_size) all-reducing `count`
// elements over rail rings.
core::SchedulePtr make_rail_rings_all_reduce(int n, int index, std::uint64_t count,
                                             const CollectiveOptions& options);

// Group index of position `position` on channel c's ring, and the inverse (g members per node).
int rail_ring_member(int position, int g, int channel);
int rail_ring_position(int member, int g, int channel);

}  // namespace dmlsim::strategies
