#pragma once
// `type: federated` — federated learning rounds over a population of clients (FedAvg with
// over-selection and a deadline, FedBuff): one server rank, every other rank a client on its own
// host, link and device (platform host_links and host_devices). The options are in
// federated_plan.hpp.
//
// Protocol (one communicator over every rank): the server hands a client a task by sending it the
// model; the client trains locally (its model's forward, backward and an SGD step per batch, on
// its host's device) and sends back its update; at the end the server sends every client a stop.
// Messages carry no header: a client has at most one task at a time and messages between two
// ranks on one tag arrive in order, so the server knows which model every update was computed on.
// Clients that are not selected only wait: they cost the simulation nothing. On an edge platform
// with availability windows the server draws only online clients, and a client whose window
// closes mid-task sends a one-byte "gone" notice instead of its update, which only frees it in the
// server's books (the server never waits for one).
//
// Hierarchical FL (mode hierarchical): each region's aggregator is a server of the region's
// clients, its rounds named "edge-round"; the server sends the aggregators the model and takes back
// each region's change and, on a tag of its own, the samples the change averaged.
//
// In payload mode the model is real floats: a client's update is a fixed function of the model it
// received, and the server checks every update against the model version it sent that client (a
// late or misattributed update fails the run) before averaging.
//
// The trace: the server's "iteration" phases are the rounds (fedavg) or aggregations (fedbuff),
// each with its `round`; inside them zero-length phases "report", "late" (fedavg) or "update",
// "stale" (fedbuff, with `staleness`) name the client whose update came in, "dropped" the selected
// clients that abandoned their task and "offline" those whose window closed. Clients show
// "local-training" and "upload", and the instants "dropped" and "offline".
#include <memory>
#include <span>
#include <string_view>

#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

std::unique_ptr<Strategy> make_federated(const core::Experiment& experiment);

}  // namespace dmlsim::strategies
