#pragma once
// What a strategy sees of one process, on any backend (SimGrid actor, MPI process). Blocking
// style, like MPI: strategies are plain per-rank code and the backend owns the scheduling.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "core/buffer.hpp"
#include "core/group.hpp"
#include "core/kernel.hpp"
#include "core/schedule.hpp"
#include "core/trace_attributes.hpp"

namespace dmlsim::core {

class Communicator;

// What a receive matches a send on, besides the peer: the communicator's context and a tag inside
// it. Context 0 is the rank's own traffic outside any communicator; every communicator gets a
// context of its own from the backend, so traffic of two communicators can never match.
struct Tag {
  std::uint32_t context = 0;
  int value = 0;
  constexpr Tag() = default;
  constexpr Tag(int tag_value) : value(tag_value) {}  // NOLINT(google-explicit-constructor): raw traffic
  constexpr Tag(std::uint32_t context_id, int tag_value) : context(context_id), value(tag_value) {}
  friend bool operator==(const Tag&, const Tag&) = default;
};

// Handle of a posted message; backends keep their state behind it. Move-only.
class Request {
 public:
  struct State {
    virtual ~State() = default;
  };
  Request() = default;
  explicit Request(std::unique_ptr<State> state) : state_(std::move(state)) {}
  bool pending() const { return state_ != nullptr; }
  State* state() const { return state_.get(); }
  std::unique_ptr<State> release() { return std::move(state_); }

 private:
  std::unique_ptr<State> state_;
};

// Handle of a collective started on a rank's communication stream.
class CollectiveHandle {
 public:
  struct State {
    virtual ~State() = default;
  };
  CollectiveHandle() = default;
  explicit CollectiveHandle(std::unique_ptr<State> state) : state_(std::move(state)) {}
  bool pending() const { return state_ != nullptr; }
  State* state() const { return state_.get(); }
  std::unique_ptr<State> release() { return std::move(state_); }

 private:
  std::unique_ptr<State> state_;
};

class Rank {
 public:
  virtual ~Rank() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual double now() const = 0;  // seconds since the run started

  virtual void compute(const Kernel& kernel) = 0;
  // Kernels run back to back (a layer's forward). Backends may cost them as one block when the
  // trace does not record kernels one by one.
  virtual void compute(std::span<const Kernel> kernels);
  // The same block `times` times back to back (a client's local training steps). Backends that cost
  // a block as one (the simulator below `trace: kernels`) charge it once, `times` over.
  virtual void compute_repeated(std::span<const Kernel> kernels, std::int64_t times);
  virtual Request isend(int peer, Buffer buffer, Tag tag) = 0;
  virtual Request irecv(int peer, Buffer buffer, Tag tag) = 0;
  virtual void wait(Request& request) = 0;
  virtual void wait_all(std::span<Request> requests);
  // Waits until one of the pending requests completes and returns its index (that request is then
  // no longer pending). Servers use it to serve whichever worker comes first. At least one request
  // must be pending.
  virtual std::size_t wait_any(std::span<Request> requests) = 0;
  // Returns the index of a pending request that has already completed (it is then no longer
  // pending), or nullopt, without waiting. A server uses it to take in everything that has arrived
  // before it answers. The default reports no completion (always correct, if uninformative):
  // backends that can tell, override it.
  virtual std::optional<std::size_t> test_any(std::span<Request> requests) {
    (void)requests;
    return std::nullopt;
  }
  // Waits at most `seconds` for one of the pending requests: its index, as wait_any gives it, or
  // nullopt once the time is up, every request still pending — a deadline (the federated server
  // that stops waiting for stragglers, a failure detector). At least one request must be pending.
  // The default says the backend cannot (BackendError).
  virtual std::optional<std::size_t> wait_any_for(std::span<Request> requests, double seconds);
  // Withdraws a pending receive that no message has matched yet and returns true: the request is
  // no longer pending, and a message sent later is left for the next receive. A receive that a
  // message has matched cannot be withdrawn (as with MPI_Cancel): it completes, with its data, and
  // false is returned; so it is for a request no longer pending. Sends cannot be cancelled
  // (ValueError). The default says the backend cannot (BackendError).
  virtual bool cancel(Request& request);
  virtual void sleep(double seconds) = 0;  // I/O, checkpoints, a deliberate pause
  // Member 0's `values` on every member of `group`: each member calls it, in the same order as its
  // other agreements over that group, with a span of the same length, and member 0's values are
  // copied into the others'. For decisions every rank must take alike from figures only one of them
  // measured (an elastic job plans the rest of an epoch from member 0's iteration time): figures that
  // differ in their last bits on two ranks would split the ranks' control flow. The simulator's costs
  // no simulated time and leaves every clock where it was — it is the model's bookkeeping, not the
  // job's traffic. The default says the backend cannot (BackendError).
  virtual void agree(const Group& group, std::span<double> values);

  // The communicator of `group` named `name` (this rank must be a member): its own context for
  // messages, and its collectives run on the stream of the same name, so communicators with
  // different names progress concurrently. Every member asks for it with the same group and
  // name, in the same order relative to its other communicators (real backends create it
  // collectively, as MPI_Comm_create_group does); asking again returns the same communicator. A
  // rank cannot hold two communicators of one name over different groups.
  //
  // `epoch` numbers the membership of an elastic job: when ranks join or leave, the survivors ask
  // for the communicator again at the next epoch, over the new group. Each epoch is a communicator
  // of its own (its own context and stream, named "dp@1" in the trace; epoch 0 is plain "dp"), so
  // a message of an old membership can never match a receive of the new one.
  Communicator communicator(const Group& group, std::string_view name, int epoch = 0);

  // Runs a collective on this rank's own control flow and returns when this member is done.
  // `tag` is the context the schedule's messages travel in (a communicator's own, normally).
  void run(const Schedule& schedule, const Group& group, ElementBuffer buffer, Tag tag);

  // Waits for a collective started on a stream (Communicator::start).
  virtual void wait(CollectiveHandle& handle);
  // Waits for every pending handle. The default waits for them one by one; the simulator, whose
  // streams finish collectives in start order, waits once for the last one of each stream.
  virtual void wait_all(std::span<CollectiveHandle> handles);

  // Phase marks for the trace; use the Phase guard below. Events inside a phase carry its
  // iteration and attributes (an inner phase inherits what it does not set). `bytes`, when not 0,
  // is the message size the phase is about (a ping-pong's round trip): phase statistics keep each
  // size apart.
  virtual void begin_phase(std::string_view name, int iteration, const EventAttributes& attributes,
                           std::uint64_t bytes) = 0;
  virtual void end_phase() = 0;
  // For the trace, at this rank's present time: an instant (a checkpoint written, a member that
  // joined) and a sample of a counter series (memory in use, micro-batches in flight). Both carry
  // the enclosing phases' iteration and attributes. Backends that keep no trace ignore them.
  virtual void mark(std::string_view name) { (void)name; }
  virtual void count(std::string_view series, double value) {
    (void)series;
    (void)value;
  }

 protected:
  friend class Communicator;
  // The context of communicator (group, name) on this rank: the same on every member, different
  // for every other communicator. Backends keep the registry (sim: one per simulated world; MPI:
  // an MPI communicator per context; NCCL: an NCCL communicator per context).
  virtual std::uint32_t open_context(const Group& group, std::string_view name) = 0;

  // Starts a collective on the named stream and returns at once: collectives on one stream run
  // one after another in start order, while the caller keeps computing (gradient buckets
  // all-reduced during backward, as PyTorch DDP does), and different streams progress
  // concurrently. The buffer must stay alive until wait(). The default runs it to completion right
  // away (correct, without overlap).
  virtual CollectiveHandle start(SchedulePtr schedule, Group group, ElementBuffer buffer, Tag tag,
                                 std::string_view stream);

  // Executes rounds [rounds.begin, rounds.end) of `schedule` one by one through isend/irecv/wait_all,
  // reducing received chunks into the buffer when it carries data. The simulator overrides it to
  // run mergeable spans as aggregated flows.
  virtual void execute(const Schedule& schedule, const Group& group, ElementBuffer buffer, Tag tag,
                       RoundSpan rounds);
  // Called as a collective over two or more members starts, before its first round: the simulator
  // charges the platform's collective launch cost there. Real backends pay theirs for real.
  virtual void begin_collective() {}
  // Told about every finished collective, and before it each of its parts (for the trace).
  virtual void on_collective(const Schedule& schedule, ElementBuffer buffer, double start, double end);
  virtual void on_collective_part(const Schedule& schedule, const SchedulePart& part, std::uint32_t index,
                                  ElementBuffer buffer, double start, double end);
};

// Marks a phase ("forward", "backward", "iteration") for as long as it lives.
class Phase {
 public:
  Phase(Rank& rank, std::string_view name, int iteration = -1, const EventAttributes& attributes = {},
        std::uint64_t bytes = 0)
      : rank_(rank) {
    rank_.begin_phase(name, iteration, attributes, bytes);
  }
  ~Phase() { rank_.end_phase(); }
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  Rank& rank_;
};

// A strategy's per-rank body: the same code runs on every backend.
using RankProgram = std::function<void(Rank&)>;

// What running `schedule` on `buffer` as `rank` of `group` requires (the member's own schedule, for
// the buffer's element count; floats when it carries data); throws ValueError otherwise.
void check_member_schedule(const Schedule& schedule, const Group& group, ElementBuffer buffer, int rank);

// The round-by-round executor behind Rank::execute, usable by backends that override it.
void execute_steps(Rank& rank, const Schedule& schedule, const Group& group, ElementBuffer buffer, Tag tag,
                   std::size_t first_round, std::size_t end_round);

}  // namespace dmlsim::core
