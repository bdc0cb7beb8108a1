#pragma once
// State shared by every simulated rank of one run: hosts, mailboxes, routes (latency and links,
// computed once per host pair), bytes per link, the trace, and the first error an actor raised.
#include <cstdint>
#include <exception>
#include <unordered_map>
#include <vector>

#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "core/trace.hpp"
#include "core/tracing_rank.hpp"

namespace simgrid::s4u {
class Host;
class Link;
class Mailbox;
}  // namespace simgrid::s4u

namespace dmlsim::sim {

struct Route {
  double latency = 0;
  std::vector<std::uint32_t> links;  // indices into SimWorld's link table
};

class SimWorld {
 public:
  SimWorld(const core::Experiment& experiment, std::vector<simgrid::s4u::Host*> rank_hosts);

  const core::Experiment& experiment() const { return experiment_; }
  simgrid::s4u::Host* host_of(int rank) const { return rank_hosts_[static_cast<std::size_t>(rank)]; }
  // Mailbox for messages from `src` to `dst` on `tag` (matching is FIFO per mailbox, as in MPI).
  simgrid::s4u::Mailbox* mailbox(int src, int dst, int tag);
  const Route& route(int src, int dst);
  // Charges a delivered message to every link of its path.
  void account(int src, int dst, std::uint64_t bytes);
  bool use_flows(int group_size) const;

  core::Trace& trace() { return trace_; }
  core::MessageSequencer& sequencer() { return sequencer_; }
  std::uint64_t messages() const { return messages_; }
  std::vector<core::LinkUsage> link_usage() const;

  // The first exception thrown inside an actor; the simulation stops and it is rethrown.
  void fail(std::exception_ptr error);
  std::exception_ptr error() const { return error_; }

 private:
  static std::uint64_t pair_key(int a, int b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  const core::Experiment& experiment_;
  std::vector<simgrid::s4u::Host*> rank_hosts_;
  std::unordered_map<std::uint64_t, simgrid::s4u::Mailbox*> mailboxes_;
  std::unordered_map<std::uint64_t, Route> routes_;
  std::unordered_map<const simgrid::s4u::Link*, std::uint32_t> link_index_;
  std::vector<const simgrid::s4u::Link*> links_;
  std::vector<std::uint64_t> link_bytes_;
  core::Trace trace_;
  core::MessageSequencer sequencer_;
  std::uint64_t messages_ = 0;
  std::exception_ptr error_;
};

}  // namespace dmlsim::sim
