#pragma once
// An asynchronous or stale-synchronous parameter server: it serves whichever worker's push
// arrives first (Rank::wait_any), applies it to its state at once, and answers the worker's pull
// with the state as it is then (asynchronous, Li et al., OSDI 2014) or — stale-synchronous with
// bound s (Ho et al., NIPS 2013) — holds the answer for a worker in iteration t until every worker
// has pushed that piece of iteration t − s: a worker then never starts iteration t + 1 before all
// have pushed iteration t − s, i.e. it is never more than s iterations ahead of the slowest.
// s = 0 is bulk-synchronous: with equal workers, the same messages at the same times as the
// synchronous server (tested). Not with a straggler: this server answers a piece's pulls as soon as
// its last push is in, the synchronous schedule one round later, pipelined with the next pushes;
// the traffic interleaves differently (one 2x-slow worker of 6: ssp(0) 2 % slower than sync).
//
// The workers run the worker side of the push/pull pipeline (ps_exchange.hpp) unchanged: the
// server answers its messages one by one. No metadata travels: messages between two ranks on one
// tag are matched in order (as in MPI), so the k-th push of a worker is piece k mod L of its
// iteration k / L (L pieces per iteration).
//
// Staleness of an update: how many updates of the same piece the server applied between the
// worker's pull of the state its gradient was computed on and its push. Each applied update is
// marked in the trace by a zero-length phase named kUpdateMark on the server, with the worker's
// iteration and the `staleness` attribute.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/rank.hpp"

namespace dmlsim::strategies {

struct UpdateServerPlan {
  int workers = 1;                         // ranks 0..workers−1
  std::vector<core::ElementRange> pieces;  // what every worker pushes here per iteration, in order
  int iterations = 1;
  std::optional<int> staleness_bound;  // SSP bound s; none: asynchronous
  std::uint32_t element_bytes = 4;
  bool payload = false;  // real floats: the state is the sum of the updates applied
  core::Tag tag;         // the workers' pushes and pulls: the context of their communicator with the server
};

// Serves every push of every worker; in payload mode checks at the end that each update was
// applied exactly once (state = iterations × Σ_w input_w) and throws BackendError otherwise.
void serve_updates(core::Rank& rank, const UpdateServerPlan& plan);

inline constexpr std::string_view kUpdateMark = "update";

}  // namespace dmlsim::strategies
