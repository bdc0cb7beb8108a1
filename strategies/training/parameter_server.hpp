#pragma once
// `type: parameter-server` — workers push gradients to servers, servers aggregate, workers pull
// the result (Li et al., OSDI 2014; BytePS, Jiang et al., OSDI 2020).
//
//   mode: sync         every worker pulls the sum of all workers' gradients of the iteration
//   mode: async        a server applies each push as it arrives and answers with its state
//   mode: ssp          as async, but a worker never runs more than `staleness` iterations ahead
//                      of the slowest (stale-synchronous parallel, Ho et al., NIPS 2013)
//   servers: k         the gradients are sharded over k servers: tensors are cut into chunks of
//                      at most `chunk_size` (BytePS: 4 096 000 bytes) spread over the servers, so
//                      pushes of one chunk overlap pulls of the previous (ps_exchange.hpp)
//   server_placement:  dedicated — the last k ranks are servers (on their own hosts);
//                      colocated — server s runs on worker s (sync only, see below)
//
// A worker is written like a data-parallel one: forward, backward, and each gradient bucket
// handed to the exchange on the communication stream (Rank::start) as soon as backward has filled
// it, then the optimizer step on the pulled aggregate (BytePS: servers only sum, workers update).
// Dedicated synchronous servers run the server side of the same schedules; asynchronous and
// stale-synchronous servers answer worker by worker (ps_server.hpp). Server arithmetic is not
// charged, as for every reduction in dmlsim (BytePS' CPU summation keeps pace with the NIC,
// §4.2).
//
// Colocation: a colocated server must run beside its worker's training loop. In sync mode the
// exchange is one round-aligned schedule in which a member may play both parts, so it runs on
// the worker's communication stream and needs nothing new. An asynchronous server must answer
// whoever comes first while its worker computes: that needs a second free-running control flow
// per rank, and its worker's own pushes would be messages to self (which SimGrid routes through
// the host's NIC); until core::Rank has such a task, async and ssp need dedicated servers and say
// so.
//
// Stragglers: `slowdown` in the experiment slows a worker's compute, `host_links` in the
// platform its link.
#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

std::unique_ptr<Strategy> make_parameter_server(const core::Experiment& experiment);
// The fields of its `strategy:` mapping.
std::span<const std::string_view> parameter_server_fields();

}  // namespace dmlsim::strategies
