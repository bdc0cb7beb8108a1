#pragma once
// Closed forms of parameter-server communication: the three reference points of BytePS and the
// critical path of dmlsim's own push/pull pipeline (ps_exchange.hpp).
#include <cstdint>
#include <functional>
#include <vector>

#include "core/platform.hpp"
#include "strategies/collectives/cost.hpp"
#include "strategies/training/ps_exchange.hpp"

namespace dmlsim::strategies {

// Time to synchronize M bytes of gradients among n workers whose NICs move B bytes/s each way,
// when the network core is not the bottleneck (Jiang et al., "A Unified Architecture for
// Accelerating Distributed DNN Training in Heterogeneous GPU/CPU Clusters", OSDI 2020, §3.1):
//   all-reduce                       2(n−1)·M / (n·B)
//   PS on k servers of their own     max(M/B, n·M/(k·B))  — a worker sends and receives M, a
//                                    server receives and sends n·M/k
//   BytePS with k extra CPU servers  2n(n−1)·M / ((n² + k·n − 2k)·B) — the optimal split of the
//                                    traffic between servers on the GPU machines and the k CPU
//                                    machines; k = 0 gives all-reduce, k = n gives M/B
double allreduce_time(int n, double bytes, double bandwidth);
double ps_time(int n, int k, double bytes, double bandwidth);
double byteps_time(int n, int k, double bytes, double bandwidth);

// What the exchange's members see of the network, computed once per experiment.
struct ExchangePaths {
  double alpha = 0;                // slowest worker–server path latency, seconds
  std::vector<double> nic;         // per member: its own link, the fastest of its paths, bytes/s
  std::vector<double> slowest_to;  // per server: its slowest path to a worker, bytes/s
};
ExchangePaths exchange_paths(const PsRoles& roles,
                             const std::function<core::PathParams(int member_a, int member_b)>& path);

// Bucket b's exchange on paths nothing else uses. Every round costs α plus the longer of: the
// busiest member's bytes (sent or received — links are full duplex) over its own link, all flows
// of a round starting together and sharing it; and one piece over the slowest worker–server path
// (a worker behind a slow link). Round t moves, per server s, piece p_s of round t in and piece
// q_s of round t − 1 out, so
//   worker                 sends Σp, receives Σq
//   dedicated server s     receives n·p_s, sends n·q_s
//   colocated server s     sends Σp − p_s + (n−1)·q_s, receives Σq − q_s + (n−1)·p_s
// With C rounds of equal pieces c per server on a star of bandwidth B this is
// (C + 1)·(α + max(n, k)·c/B) for dedicated servers (→ max(M/B, nM/(kB)) as C grows) and
// (C + 1)·α + 2(n−1)·C·c/B for n colocated servers (the first and last rounds carry half a
// middle round's bytes): the all-reduce's 2(n−1)M/(nB) plus C + 1 latencies.
CostTerms exchange_cost(const PsLayout& layout, std::size_t bucket, const PsRoles& roles,
                        std::uint32_t element_bytes, const ExchangePaths& paths);

}  // namespace dmlsim::strategies
