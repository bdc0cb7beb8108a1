#pragma once
// A rank as a SimGrid actor: compute sleeps for the device's roofline time, messages are mailbox
// transfers of the buffer's size (with a copy of the bytes in payload mode), and collectives on
// the communication stream run in their own actor on the same host.
#include <simgrid/s4u/Actor.hpp>

#include "core/tracing_rank.hpp"
#include "sim/sim_world.hpp"

namespace dmlsim::sim {

class SimRank final : public core::TracingRank {
 public:
  SimRank(SimWorld& world, int rank);

  double now() const override;
  void compute(const core::Kernel& kernel) override;
  core::Request isend(int peer, core::Buffer buffer, int tag) override;
  core::Request irecv(int peer, core::Buffer buffer, int tag) override;
  void wait(core::Request& request) override;
  void wait_all(std::span<core::Request> requests) override;
  void sleep(double seconds) override;
  core::CollectiveHandle start(core::SchedulePtr schedule, core::Group group, core::ElementBuffer buffer,
                               int tag) override;
  void wait(core::CollectiveHandle& handle) override;
  using core::Rank::wait;

 protected:
  // `steps` runs every round; `flows` runs each mergeable span of rounds as one aggregated
  // message per peer followed by the span's remaining latency.
  void execute(const core::Schedule& schedule, const core::Group& group, core::ElementBuffer buffer,
               int tag) override;

 private:
  void run_merged_span(const core::Schedule& schedule, const core::Group& group, core::ElementBuffer buffer, int tag,
                       core::RoundSpan span);
  void complete(core::Request::State& state);

  SimWorld& world_;
  double slowdown_;
  std::unique_ptr<SimRank> stream_;  // the communication stream's view of this rank
  simgrid::s4u::ActorPtr last_stream_actor_;
};

}  // namespace dmlsim::sim
