#pragma once
// State shared by every simulated rank of one run: hosts, mailboxes, routes (latency and links,
// computed once per host pair), bytes per link, the trace, and the first error an actor raised.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <span>
#include <tuple>

#include <simgrid/forward.h>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "core/trace.hpp"
#include "core/tracing_rank.hpp"
#include "sim/round_clock.hpp"

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
  // `job`: which of the jobs sharing the simulated network this world is (simulate_jobs); its
  // mailboxes are its own, so that two jobs' rank 0 → rank 1 messages never meet.
  SimWorld(const core::Experiment& experiment, std::vector<simgrid::s4u::Host*> rank_hosts, int job = 0);

  const core::Experiment& experiment() const { return experiment_; }
  simgrid::s4u::Host* host_of(int rank) const { return rank_hosts_[static_cast<std::size_t>(rank)]; }
  // The host whose cores every rank computes on, on a `shared_cores` platform; else null.
  simgrid::s4u::Host* shared_cores() const { return shared_cores_; }
  // Mailbox for messages from `src` to `dst` on `tag` (matching is FIFO per mailbox, as in MPI).
  simgrid::s4u::Mailbox* mailbox(int src, int dst, core::Tag tag);
  // The context of communicator (group, name): one registry for the whole simulated world, so
  // every member gets the same one and distinct communicators never share one. `rank` asks; it
  // cannot hold a second communicator of the same name over another group.
  std::uint32_t context(int rank, const core::Group& group, std::string_view name);
  // The communicator name of a context ("" for 0), for the trace.
  std::string_view context_name(std::uint32_t context) const;
  const Route& route(int src, int dst);
  // Charges a delivered message to every link of its path.
  void account(int src, int dst, std::uint64_t bytes);
  bool use_flows(int group_size) const;
  // Flows fidelity, one merged span of one collective (see SimRank::run_merged_span). A span is
  // identified by the communicator's context, the group and its first round: collectives of one
  // communicator run in the same order on every member, so each set of n arrivals is one instance.
  //
  // begin_span: member `index` has reached the span at its own time `arrival`; blocks until every
  // member has, so that the aggregated flows start together.
  void begin_span(std::uint32_t context, const core::Group& group, std::size_t first_round, int index,
                  double arrival);
  // end_span: the member's flows are done; `sends[t]` are its messages of the span's round t (its
  // own end as the merged flows made it: `together`). Blocks until every member is done and
  // returns when this member ends the span: per member, round by round as `steps` would (see
  // round_clock.hpp) when every member gave its rounds, else the latest `together` of all.
  double end_span(std::uint32_t context, const core::Group& group, std::size_t first_round, int index,
                  std::vector<std::vector<RoundMessage>> sends, double together);

  // Rank::agree: member `index` of `group` at its `sequence`-th agreement over that group. Member 0
  // leaves its values and goes on; the others wait for them (in simulated time only as long as the
  // SimGrid actors take to meet: SimRank::agree puts each clock back where it was).
  void agree(const core::Group& group, std::uint64_t sequence, int index, std::span<double> values);

  // Payload mode: a send's copy of its bytes, owned here while it is in flight (a receive takes it
  // back), so that a simulation stopped by an error frees what was never received.
  void* hold_payload(std::unique_ptr<std::vector<std::byte>> bytes);
  std::unique_ptr<std::vector<std::byte>> take_payload(void* held);

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
  int job_ = 0;
  simgrid::s4u::Host* shared_cores_ = nullptr;
  std::unordered_map<void*, std::unique_ptr<std::vector<std::byte>>> payloads_;
  std::vector<simgrid::s4u::Host*> rank_hosts_;
  std::unordered_map<core::MessageSequencer::Channel, simgrid::s4u::Mailbox*,
                     core::MessageSequencer::ChannelHash>
      mailboxes_;
  struct ContextKey {
    std::string name;
    core::Group group;
    friend bool operator==(const ContextKey&, const ContextKey&) = default;
  };
  struct ContextKeyHash {
    std::size_t operator()(const ContextKey& k) const {
      return std::hash<std::string>()(k.name) ^ (k.group.hash() * 0x9e3779b97f4a7c15ull);
    }
  };
  std::unordered_map<ContextKey, std::uint32_t, ContextKeyHash> contexts_;
  std::vector<std::string> context_names_{""};
  // (rank, name) -> context: a rank holds one communicator per name.
  std::unordered_map<std::string, std::unordered_map<int, std::uint32_t>> held_;
  std::unordered_map<std::uint64_t, Route> routes_;
  std::unordered_map<const simgrid::s4u::Link*, std::uint32_t> link_index_;
  std::vector<const simgrid::s4u::Link*> links_;
  std::vector<std::uint64_t> link_bytes_;
  core::Trace trace_;
  core::MessageSequencer sequencer_;
  std::uint64_t messages_ = 0;
  std::exception_ptr error_;
  struct SpanInstance {
    int begun = 0, ended = 0;
    simgrid::s4u::BarrierPtr begin_barrier, end_barrier;
    std::vector<double> arrival;                    // per member
    std::vector<std::vector<RoundMessage>> rounds;  // every member's sends, by round
    bool every_round = true;                        // all members gave their rounds
    double together = 0;                            // the latest member's end as the flows made it
    std::vector<double> end;                        // per member, set by the last to end
  };
  std::map<std::tuple<std::uint32_t, std::size_t, std::size_t>, std::shared_ptr<SpanInstance>> spans_;
  struct Agreement {
    std::vector<double> values;  // member 0's
    int taken = 0;               // by the other members
    simgrid::s4u::SemaphorePtr posted;
  };
  struct AgreementKey {
    core::Group group;
    std::uint64_t sequence = 0;
    friend bool operator==(const AgreementKey&, const AgreementKey&) = default;
  };
  struct AgreementKeyHash {
    std::size_t operator()(const AgreementKey& k) const {
      return k.group.hash() ^ (k.sequence * 0x9e3779b97f4a7c15ull);
    }
  };
  std::unordered_map<AgreementKey, std::shared_ptr<Agreement>, AgreementKeyHash> agreements_;
};

}  // namespace dmlsim::sim
