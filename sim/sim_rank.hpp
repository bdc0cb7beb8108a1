#pragma once
// A rank as a SimGrid actor: compute takes the device's roofline time, messages are mailbox
// transfers of the buffer's size (with a copy of the bytes in payload mode), and collectives on
// the communication stream run in their own actor on the same host.
#include <deque>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Semaphore.hpp>

#include "core/tracing_rank.hpp"
#include "sim/sim_world.hpp"

namespace dmlsim::sim {

class SimRank final : public core::TracingRank {
 public:
  SimRank(SimWorld& world, int rank);

  double now() const override;
  void compute(const core::Kernel& kernel) override;
  void compute(std::span<const core::Kernel> kernels) override;
  void compute_repeated(std::span<const core::Kernel> kernels, std::int64_t times) override;
  core::Request isend(int peer, core::Buffer buffer, core::Tag tag) override;
  core::Request irecv(int peer, core::Buffer buffer, core::Tag tag) override;
  void wait(core::Request& request) override;
  void wait_all(std::span<core::Request> requests) override;
  std::size_t wait_any(std::span<core::Request> requests) override;
  std::optional<std::size_t> test_any(std::span<core::Request> requests) override;
  std::optional<std::size_t> wait_any_for(std::span<core::Request> requests, double seconds) override;
  bool cancel(core::Request& request) override;
  void sleep(double seconds) override;
  void agree(const core::Group& group, std::span<double> values) override;
  void wait(core::CollectiveHandle& handle) override;
  void wait_all(std::span<core::CollectiveHandle> handles) override;
  using core::Rank::wait;

  // Brings the simulation up to this rank's own clock and the rank's clock up to the simulation's
  // (see ahead_): before anything another actor can see.
  void catch_up();
  // Sleeps what the rank's own clock is ahead, keeping it where it is behind (after a merged span):
  // when its program returns, the rank's end is now().
  void settle();
  // Compute time: this rank's own clock ahead, or on a `shared_cores` platform an execution on the
  // shared cores, which ranks computing at once share.
  void advance_compute(double seconds);

  // Flows fidelity works out per-member ends of a merged span round by round up to this many
  // member-rounds (members × rounds: a ring of 362 members); O(1) per member beyond, which keeps a
  // 50-bucket iteration on 1024 GPUs within its half-second budget (bench/).
  static constexpr std::uint64_t kRoundByRoundLimit = std::uint64_t{1} << 18;

 protected:
  std::uint32_t open_context(const core::Group& group, std::string_view name) override;
  core::CollectiveHandle start(core::SchedulePtr schedule, core::Group group, core::ElementBuffer buffer,
                               core::Tag tag, std::string_view stream) override;
  // `steps` runs every round; `flows` runs each mergeable span of rounds as one aggregated
  // message per peer followed by the span's remaining latency.
  void execute(const core::Schedule& schedule, const core::Group& group, core::ElementBuffer buffer,
               core::Tag tag, core::RoundSpan rounds) override;
  void begin_collective() override;

 private:
  struct Stream;
  void run_merged_span(const core::Schedule& schedule, const core::Group& group, core::ElementBuffer buffer,
                       core::Tag tag, core::RoundSpan span);
  void complete(core::Request::State& state);
  // Completes requests[which] (releasing it) and returns `which`.
  std::size_t finish_request(std::span<core::Request> requests, std::size_t which);
  void wait_for_stream(Stream& stream, std::uint64_t sequence);

  // A communication stream: one daemon actor per rank and stream name, started on first use, that
  // runs queued collectives in order (as a CUDA stream runs NCCL calls); streams of different
  // names run concurrently. One actor per stream rather than per collective (16 384 ranks × 50
  // buckets would be 800 000 actors), and it is woken only when idle, and wakes the rank only when
  // the rank waits: every simcall saved counts at 16 k ranks. SimGrid runs one actor at a time and
  // switches only inside simcalls, so plain fields suffice.
  struct StreamJob {
    core::SchedulePtr schedule;
    core::Group group;
    core::ElementBuffer buffer;
    core::Tag tag;
    int iteration = -1;
    core::EventAttributes attributes;  // of the phase that started it
    double ready = 0;                  // the rank's clock when it started the job: the job starts no earlier
  };
  struct Stream {
    std::string name;
    std::unique_ptr<SimRank> rank;  // the stream's view of this rank (its own phase stack)
    std::deque<StreamJob> queue;
    std::uint64_t started = 0;      // jobs queued so far
    std::uint64_t completed = 0;    // jobs finished so far
    std::uint64_t waiting_for = 0;  // the rank sleeps until `completed` reaches this (0: not waiting)
    double clock = 0;               // the stream's own time when its last job ended
    // Own time at which each job ended, from job `first_end` on: a rank that waited for job s is
    // past the ends of every job up to s, so those are dropped.
    std::deque<double> ends;
    std::uint64_t first_end = 0;
    bool idle = false;                    // the stream sleeps on `work`
    simgrid::s4u::SemaphorePtr work;      // wakes the stream
    simgrid::s4u::SemaphorePtr progress;  // wakes the waiting rank
  };
  Stream& stream(std::string_view name);

  SimWorld& world_;
  double slowdown_;
  const core::DeviceProfile& device_;  // of the host it runs on
  // Compute and sleeps advance only this rank's own clock, now() = simulation clock + ahead_; the
  // actor sleeps the debt away before anything another actor can see (a message, a wait) or when
  // its program ends. Nothing else runs on a rank's device, so the times are the same, with one
  // simulation event where a backward pass of 50 layers took 50. A collective started meanwhile
  // carries its start time to the stream (StreamJob::ready). Negative after a merged span that
  // ended for this rank before the simulation clock (run_merged_span): compute, streams and the
  // next span go on from the rank's own time; a message or a wait on one brings it up to the clock.
  double ahead_ = 0;
  std::vector<std::unique_ptr<Stream>> streams_;                   // few: a linear search is fastest
  std::vector<std::pair<core::Group, std::uint64_t>> agreements_;  // per group, how many so far
};

}  // namespace dmlsim::sim
