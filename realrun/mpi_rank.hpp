#pragma once
// A rank as an MPI process: compute runs the real kernel (CpuKernels), messages are
// MPI_Isend/MPI_Irecv of real bytes (scratch memory when the strategy passes sizes only), and
// collectives started on the communication stream run in a second thread (MPI_THREAD_MULTIPLE),
// as NCCL calls run on a CUDA stream beside the compute.
#include <mpi.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/tracing_rank.hpp"
#include "realrun/common_clock.hpp"
#include "realrun/cpu_kernels.hpp"

namespace dmlsim::real {

// A fault to inject, for testing how failures are reported: the rank crashes (exit code 3), hangs,
// or throws an error when it begins the given iteration's gradient exchange (error) or the
// iteration (crash, hang). Read from $DMLSIM_FAULT="rank=R,kind=crash|hang|error,iteration=I".
struct InjectedFault {
  enum class Kind { none, crash, hang, error };
  Kind kind = Kind::none;
  int rank = -1;
  int iteration = 0;
  static InjectedFault from_environment();
};

// A communicator's MPI side: its own MPI communicator (the context that keeps its messages apart)
// over the group's ranks.
struct MpiCommunicator {
  std::string name;
  core::Group group;
  MPI_Comm comm = MPI_COMM_NULL;
};

// A new MPI communicator of `group`'s ranks of `world`, made by the group's members alone
// (MPI_Comm_create_group, collective over them): what MPI offers to keep two groups' messages apart.
MPI_Comm create_group_comm(MPI_Comm world, const core::Group& group);

// What the main and the stream views of a rank share.
struct MpiContext {
  MPI_Comm comm = MPI_COMM_WORLD;  // context 0: traffic outside any communicator
  std::mutex communicators_mutex;
  std::deque<MpiCommunicator> communicators;  // context c is communicators[c - 1]; never moves
  int rank = 0;
  int size = 1;
  const CommonClock* clock = nullptr;
  core::TraceDetail detail = core::TraceDetail::kernels;
  double slowdown = 1;
  std::mutex sequencer_mutex;
  core::MessageSequencer sequencer;
  std::uint64_t messages = 0;  // sent by this process (both views)
  InjectedFault fault;
  std::string progress_path;  // where the main view writes "iteration I phase" (see launcher.hpp)
};

struct MpiRequest;

class MpiRank final : public core::TracingRank {
 public:
  MpiRank(MpiContext& context, core::Trace& trace);
  ~MpiRank() override;

  double now() const override { return context_.clock->now(); }
  void compute(const core::Kernel& kernel) override;
  core::Request isend(int peer, core::Buffer buffer, core::Tag tag) override;
  core::Request irecv(int peer, core::Buffer buffer, core::Tag tag) override;
  void wait(core::Request& request) override;
  void wait_all(std::span<core::Request> requests) override;
  std::size_t wait_any(std::span<core::Request> requests) override;
  std::optional<std::size_t> test_any(std::span<core::Request> requests) override;
  std::optional<std::size_t> wait_any_for(std::span<core::Request> requests, double seconds) override;
  bool cancel(core::Request& request) override;
  void sleep(double seconds) override;
  void begin_phase(std::string_view name, int iteration, const core::EventAttributes& attributes,
                   std::uint64_t bytes) override;
  void wait(core::CollectiveHandle& handle) override;
  using core::Rank::compute;
  using core::Rank::wait;
  using core::Rank::wait_all;

  // Events the communication streams recorded (none if no stream ran).
  std::vector<const core::Trace*> stream_traces() const;
  // Stops the stream threads (after their queues are empty); rethrows what one raised.
  void finish();

 protected:
  std::uint32_t open_context(const core::Group& group, std::string_view name) override;
  core::CollectiveHandle start(core::SchedulePtr schedule, core::Group group, core::ElementBuffer buffer,
                               core::Tag tag, std::string_view stream) override;

 private:
  struct Scratch;
  struct Stream;
  void complete(core::Request::State& state);
  std::unique_ptr<MpiRequest> new_request(core::Lane lane, int peer, core::Buffer buffer, core::Tag tag);
  // The MPI communicator and the peer's rank in it that a message on `tag` uses.
  std::pair<MPI_Comm, int> route(int peer, core::Tag tag) const;
  std::string_view comm_name(core::Tag tag) const;
  Stream& stream(std::string_view name);
  void stop_streams();

  MpiContext& context_;
  // The progress file, open for the rank's life: each phase rewrites its one record in place (an
  // open, truncate and close per phase cost ~0.5 ms, which the measured phases then included).
  int progress_fd_ = -1;
  CpuKernels kernels_;
  std::unique_ptr<Scratch> scratch_;
  std::vector<std::unique_ptr<Stream>> streams_;
};

}  // namespace dmlsim::real
