#pragma once
// Checkpoint-restart of a data-parallel job whose hosts fail: the options, the failures the job
// meets, the closed forms (Young 1974, Daly 2006) and the timeline — one driver, which the ranks of
// a simulation and `explain`'s replay both follow, so that they take the same decisions.
//
// The model. The job trains `iterations` steps. Every K steps rank 0 writes a checkpoint (the
// weights and the optimizer's state) to shared storage while the others wait for it at the next
// all-reduce, as a DDP job that saves with torch.save on rank 0 does: the job stops for the write,
// δ. A host failure at time T kills the job: the work since the last checkpoint is lost, the failure
// is noticed after a timeout (`detect`), the job is launched again (`launch`: processes, rendezvous,
// communicators), every rank reads the last checkpoint (L) and training goes on from its step. A
// failed host is replaced (a spare or the repaired host), so every epoch has the same membership.
// Failures while the job is down (detection, launch) are absorbed by that restart.
//
// Live rescaling (policy: live-rescale, live_rescale.cpp) changes the membership instead: see
// drive_live_rescale.
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_node.hpp"
#include "core/experiment.hpp"

namespace dmlsim::strategies {

// A shared file system: one writer at `write` bytes/s; on restart every rank reads the whole
// checkpoint, the readers sharing `read` bytes/s. `latency`: each operation's fixed cost (open,
// metadata, fsync).
struct CheckpointStorage {
  double write = 0;  // bytes/s
  double read = 0;   // bytes/s, all readers together
  double latency = 0;
  double write_seconds(std::uint64_t bytes) const { return latency + static_cast<double>(bytes) / write; }
  double read_seconds(std::uint64_t bytes, int readers) const {
    return latency + static_cast<double>(readers) * static_cast<double>(bytes) / read;
  }
};

// A scripted change of membership: at a time, or at the end of a training step (the first time it is
// reached), these nodes fail (the job loses its work since the last checkpoint or commit), leave (a
// clean exit at a step boundary) or join.
struct MembershipEvent {
  enum class Kind { fail, leave, join };
  Kind kind = Kind::fail;
  double at = -1;               // seconds, or
  std::int64_t iteration = -1;  // a step
  std::vector<int> nodes;       // the job's node indices (ElasticOptions::node_ranks)
};

struct ElasticOptions {
  enum class Policy { checkpoint_restart, live_rescale };
  Policy policy = Policy::checkpoint_restart;
  enum class Interval { none, iterations, seconds, young_daly };
  Interval interval = Interval::none;
  std::int64_t interval_iterations = 0;
  double interval_seconds = 0;
  std::uint64_t checkpoint_bytes = 0;
  CheckpointStorage storage;
  double detect = 60;    // s: the failure detector's timeout
  double launch = 120;   // s: processes started again, rendezvous, communicators
  double host_mtbf = 0;  // s, per node; 0: no drawn failures
  std::uint64_t seed = 1;
  std::vector<MembershipEvent> events;
  int readers = 0;  // ranks that read a checkpoint on restart
  // The job's nodes in platform order: their platform node number and their ranks.
  std::vector<int> node_ids;
  std::vector<std::vector<int>> node_ranks;
  int nodes() const { return static_cast<int>(node_ids.size()); }
  // The job's index of platform node `id`; none when no rank of the job runs there.
  std::optional<int> node_index(std::int64_t id) const;
  // Live rescaling (Horovod Elastic): the state is committed in memory every `commit_every` steps;
  // after a failure or before a join or leave, the members agree on the new membership and rebuild
  // their communicators (`rendezvous`); when nodes join, the first member broadcasts the state.
  std::int64_t commit_every = 1;
  double rendezvous = 10;
  double repair = 0;  // a failed node joins again after this long; 0: never
  int min_ranks = 1;
  int max_ranks = 0;  // a join that would exceed it waits for room; 0: no limit
  // batch: global — the job keeps the starting job's batch, shared by the members of each epoch (as
  // a DistributedSampler splits it: the first B mod N ranks take one sample more); 0: each rank
  // keeps its own batch (batch: per-rank).
  std::int64_t global_batch = 0;
  std::int64_t share_of_batch(std::size_t index, std::size_t members) const {
    const auto n = static_cast<std::int64_t>(members);
    return global_batch / n + (static_cast<std::int64_t>(index) < global_batch % n ? 1 : 0);
  }
  std::vector<int> spares;  // nodes out of the job at the start, which can join
  // The availability trace's nodes (a failed one comes back at its next window, not after `repair`),
  // and those whose first window starts after the job (among `spares`).
  std::vector<int> traced_nodes, out_at_start;
  std::size_t scripted_events = 0;  // events[0, this) are the experiment's list; the rest its trace's

  double job_mtbf() const { return host_mtbf > 0 ? host_mtbf / nodes() : 0; }
  double write_seconds() const { return storage.write_seconds(checkpoint_bytes); }
  double load_seconds() const { return storage.read_seconds(checkpoint_bytes, readers); }
};

// The strategy block's elastic fields (`checkpoint`, `failures`, `restart`, `policy`), checked;
// `checkpoint_bytes` is the job's state (the wrapped strategy's). Errors name the file, line, field.
ElasticOptions read_elastic_options(const core::ConfigNode& node, const core::Experiment& experiment,
                                    std::uint64_t checkpoint_bytes);
std::span<const std::string_view> elastic_own_fields();

// The job's failures in time order: each node's drawn from an exponential law of mean `host_mtbf`
// (seeded per node and draw: the same on every machine), and the scripted ones at a time.
class FailureClock {
 public:
  explicit FailureClock(const ElasticOptions& options);
  struct Failure {
    double at = std::numeric_limits<double>::infinity();
    std::vector<int> nodes;  // job node indices; empty when there is no failure
  };
  // The first failure strictly after `t` of a node `alive` says is up (all when empty).
  Failure next_after(double t, const std::vector<bool>& alive = {});

 private:
  double draw(int node, std::uint64_t k) const;
  double mtbf_ = 0;
  std::uint64_t seed_ = 0;
  std::vector<double> node_next_;                              // each node's next failure
  std::vector<std::uint64_t> node_draws_;                      // draws taken so far per node
  std::vector<std::pair<double, std::vector<int>>> scripted_;  // by time
};

// Young's interval (Young 1974; Daly 2006's first order): √(2·δ·M), the checkpoint interval that
// minimises the expected time lost for checkpoint cost δ and mean time between failures M.
double young_daly_interval(double checkpoint_seconds, double mtbf);

// Live rescaling with drawn failures and repairs, to first order (a mean-field model: nodes fail
// independently at 1/M while the job trains, and are out for the repair, half a commit interval and
// a rendezvous): the expected makespan, and the expected share of the ranks in the job (× the
// ranks × the micro-batch × the steps: the samples kept with batch: per-rank). Steps take
// `iteration_seconds` whatever the membership; scripted events aside.
struct LiveExpectation {
  double makespan = 0;
  double ranks_share = 1;  // the mean fraction of the job's ranks in it, over its training time
};
LiveExpectation expected_live_rescale(const ElasticOptions& options, std::int64_t iterations,
                                      double iteration_seconds);

// Checkpoint every `every` steps (0: never) for `interval` as given over an iteration time.
std::int64_t checkpoint_every(const ElasticOptions& options, double iteration_seconds);

// The expected makespan under this model with Poisson failures of rate λ = 1/M (exact, not a first
// order; scripted failures aside) for `iterations` steps of `iteration_seconds` checkpointed every
// `every`: a sum over checkpoint cycles (see the .cpp).
double expected_makespan(const ElasticOptions& options, std::int64_t iterations, double iteration_seconds,
                         std::int64_t every);

// What the timeline asks of whoever carries it out: the ranks of a simulation (which run the
// first iterations of every epoch in full, then advance their clocks by whole steady iterations),
// or a replay from closed-form figures.
class TimelineExecutor {
 public:
  virtual ~TimelineExecutor() = default;
  // Runs `n` (≥ 0) training steps from step `first` in full, in membership epoch `epoch` whose ranks
  // are `members` (ascending), and returns the reference clock after them and the steady iteration
  // time, agreed by every rank (members[0]'s figures).
  virtual std::pair<double, double> warm_up(int epoch, const std::vector<int>& members, std::int64_t first,
                                            std::int64_t n) = 0;
  // Live rescaling: before epoch `epoch`'s first step, when `joiners` (ranks among `members`) come in,
  // members[0] broadcasts the training state to the members.
  virtual void transfer_state(int epoch, const std::vector<int>& members, const std::vector<int>& joiners) {
    (void)epoch;
    (void)members;
    (void)joiners;
  }
  // `n` steady iterations from step `first`, `seconds` in all (less than n whole ones when a failure
  // cuts them short).
  virtual void iterations(std::int64_t first, std::int64_t n, double seconds) = 0;
  // Time spent in a named phase: "checkpoint", "checkpoint-load", "failure-detection", "restart",
  // "rendezvous", "waiting for nodes".
  virtual void pause(std::string_view phase, double seconds) = 0;
  // A failure at `at` (reference clock) that lost `lost_seconds` of work, `lost_iterations` steps.
  virtual void failure(double at, double lost_seconds, std::int64_t lost_iterations) = 0;
};

struct ElasticOutcome {
  double makespan = 0;
  // Σ over the kept steps of the ranks that trained them: × the micro-batch, the samples kept.
  std::int64_t rank_steps_kept = 0;
  int epochs = 1;
  double rendezvous_seconds = 0, waiting_seconds = 0;
  std::int64_t checkpoint_every = 0;  // K; 0: no checkpoints
  int failures = 0;
  int checkpoints = 0;              // written in full
  std::int64_t iterations_run = 0;  // steps trained, the lost ones included
  double checkpoint_seconds = 0, load_seconds = 0, detect_seconds = 0, restart_seconds = 0, lost_seconds = 0;
};

// Drives a run of `iterations` steps: epochs of a warm-up (`warm_up` steps in full) and steady
// iterations, a checkpoint every K steps (given, or τ over the first epoch's agreed iteration time),
// failures from `failures`, restarts.
ElasticOutcome drive_timeline(const ElasticOptions& options, std::int64_t iterations, int warm_up,
                              FailureClock& failures, TimelineExecutor& executor);

// Live rescaling (policy: live-rescale): epochs of the ranks on the nodes that are up; a failure
// loses the work since the last commit, the survivors notice it after `detect`, agree on the new
// membership and go on from the committed step; leaves and joins take effect at the next commit
// boundary, the state broadcast to the members when nodes join; a failed node joins again after
// `repair`.
ElasticOutcome drive_live_rescale(const ElasticOptions& options, std::int64_t iterations, int warm_up,
                                  FailureClock& failures, TimelineExecutor& executor);

// Either policy's driver, as the options say.
ElasticOutcome drive(const ElasticOptions& options, std::int64_t iterations, int warm_up,
                     FailureClock& failures, TimelineExecutor& executor);

// A replay with a fixed iteration time (every step `iteration_seconds` whatever the membership,
// warm-ups included; state transfers to joiners take no time).
ElasticOutcome replay_timeline(const ElasticOptions& options, std::int64_t iterations,
                               double iteration_seconds);
// The same with each epoch's step time a function of its ranks.
ElasticOutcome replay_timeline(const ElasticOptions& options, std::int64_t iterations,
                               const std::function<double(std::size_t members)>& iteration_seconds);

}  // namespace dmlsim::strategies
