#pragma once
// Closed-form alpha-beta costs of the collective algorithms, for `dmlsim explain` and for the
// tests that hold the simulator to them. α is the latency of one message's path, 1/β its
// bandwidth; S the buffer in bytes, n the members. Each formula is the critical path of the
// schedule that ships beside it, on a network where the algorithm's paths do not contend:
//   ring all-reduce               2(n−1)·(α + ⌈S/n⌉β)
//   ring reduce-scatter/all-gather (n−1)·(α + ⌈S/n⌉β)
//   halving-doubling all-reduce   2·log2(n)·α + 2(n−1)/n·S·β             (n a power of two;
//                                  otherwise + 2(α + Sβ) for the fold in and out); where the
//                                  paths differ by distance, Σ over rounds of α_d + S_round·β_d
//                                  (S/2 at the first distance of the partner order, S/4, ...)
//   halving / doubling RS, AG     log2(n)·α + (n−1)/n·S·β
//   tree reduce / broadcast       (C + D − 2)·(α + f·cβ) + (α + cβ)       (C chunks of c bytes,
//                                  D = depth, f = 2 for n ≥ 4 else 1: a parent receives from two
//                                  children, or sends to two, in each pipelined round)
//   tree all-reduce               reduce + broadcast
//   double binary tree            the same with c = S/(2C): both trees run in the same rounds
//   hierarchical (G per node, M nodes) 2(G−1)·(α_in + ⌈S/G⌉β_in) + inner all-reduce of S/G over M
//   rail rings (G channels)       2(n−1)·(α + G·⌈⌈S/G⌉/n⌉β), β of a port the G channels cross
// Every call adds the platform's collective launch cost (Platform::collective_launch) once.
// Reduction arithmetic is not charged (the simulator does not charge it either).
#include <cstdint>
#include <string_view>
#include <vector>

#include "strategies/collectives/collectives.hpp"

namespace dmlsim::strategies {

struct AlphaBeta {
  double alpha = 0;      // seconds
  double bandwidth = 0;  // bytes per second
};

// The slowest path of each kind of round an algorithm runs over a group, with every member
// sending at once, so that flows through one port (GPUs behind one NIC, or two children sending
// to one parent) share it.
struct GroupPaths {
  AlphaBeta ring;       // i to i + 1
  AlphaBeta butterfly;  // i to i XOR 2^k, the slowest over every k
  // The round at distance 2^k alone, k = 0, 1, ... (empty: every distance as `butterfly`).
  std::vector<AlphaBeta> butterfly_by_distance;
  // Child to parent and parent to children of the binary tree (both trees of the double tree at
  // once), as the bandwidth of a port that f flows cross in f·c/B (f = the tree's fan-in): on a
  // star it is the link's.
  AlphaBeta tree;
  AlphaBeta double_tree;

  static GroupPaths uniform(const AlphaBeta& ab) { return {ab, ab, {}, ab, ab}; }
  const AlphaBeta& butterfly_at(int k) const {
    return static_cast<std::size_t>(k) < butterfly_by_distance.size()
               ? butterfly_by_distance[static_cast<std::size_t>(k)]
               : butterfly;
  }
};

// Path parameters an algorithm sees: `whole` for algorithms over the whole group; `intra` and
// `rails` for hierarchical (inside a node; across nodes, one rail per local member, all at once).
struct PathClasses {
  GroupPaths whole;
  AlphaBeta intra;
  GroupPaths rails;
  // Seconds a collective call costs before its first message (Platform::collective_launch).
  double launch = 0;
  // A round of rail rings (rail_rings.hpp): every member sends one message per channel (g of them:
  // g − 1 to its neighbour inside the node, one across for the member that leaves it), as the
  // bandwidth of a port that the g messages cross in g·c/B — g × the slowest message's share (on a
  // star: the link's).
  AlphaBeta rail_rings;

  static PathClasses uniform(const AlphaBeta& ab) {
    return {GroupPaths::uniform(ab), ab, GroupPaths::uniform(ab), 0, ab};
  }
};

struct CostTerms {
  double latency = 0;   // seconds of α terms
  double transfer = 0;  // seconds of β terms
  double total() const { return latency + transfer; }
  CostTerms& operator+=(const CostTerms& o) {
    latency += o.latency;
    transfer += o.transfer;
    return *this;
  }
};

CostTerms collective_cost(Collective c, std::string_view algorithm, int n, std::uint64_t count,
                          std::uint32_t element_bytes, const PathClasses& paths,
                          const CollectiveOptions& options);

// How long a pipelined tree over n members takes with `chunks` chunks of at most `chunk_bytes`.
CostTerms tree_cost(int n, std::uint64_t chunks, double chunk_bytes, const AlphaBeta& path);
// `steps` rounds of one chunk each on one path (ring-like algorithms).
CostTerms ring_steps(int steps, double chunk_bytes, const AlphaBeta& path);
// The largest of `parts` near-equal chunks of `count` elements, in bytes.
double max_chunk_bytes(std::uint64_t count, std::uint64_t parts, std::uint32_t element_bytes);

}  // namespace dmlsim::strategies
