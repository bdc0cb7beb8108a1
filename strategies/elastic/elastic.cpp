#include "strategies/elastic/elastic.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/elastic/elastic_plan.hpp"
#include "strategies/training/data_parallel.hpp"

namespace dmlsim::strategies {
namespace {

// The ranks carry the timeline out: warm-ups in full, the rest by the clock. Ranks outside an
// epoch's membership (a failed or departed node's, a spare's) only keep the clock.
class RankExecutor final : public TimelineExecutor {
 public:
  RankExecutor(const DataParallel& dp, const ElasticOptions& options, core::Rank& rank, int training_ranks)
      : dp_(dp), options_(options), rank_(rank), training_ranks_(training_ranks) {}

  std::pair<double, double> warm_up(int epoch, const std::vector<int>& members, std::int64_t,
                                    std::int64_t n) override {
    epoch_ = epoch;
    member_ = std::binary_search(members.begin(), members.end(), rank_.rank());
    if (rank_.rank() == 0) rank_.count(core::kRanksInJob, static_cast<double>(members.size()));
    if (member_ && (!replica_ || replica_epoch_ != epoch)) {
      replica_.reset();
      // batch: global — this rank's share of the job's batch among this epoch's members.
      const auto index = static_cast<std::size_t>(
          std::lower_bound(members.begin(), members.end(), rank_.rank()) - members.begin());
      replica_.emplace(dp_, rank_, epoch, members,
                       options_.global_batch > 0 ? options_.share_of_batch(index, members.size()) : 0);
      replica_epoch_ = epoch;
    }
    // Every rank counts the full steps, members or not: an "iteration" phase's number is the same
    // step on every rank.
    const int base = executed_;
    executed_ += static_cast<int>(n);
    if (member_) {
      double previous_end = -1;
      for (std::int64_t j = 0; j < n; ++j) {
        const double start = rank_.now();
        replica_->iteration(base + static_cast<int>(j), attributes());
        const double end = rank_.now();
        steady_ = end - (previous_end >= 0 ? previous_end : start);
        previous_end = end;
      }
    }
    // Every training rank takes the first member's figures: the members to plan the epoch, the
    // others to keep the clock.
    std::vector<int> order{members.front()};
    for (int r = 0; r < training_ranks_; ++r) {
      if (r != members.front()) order.push_back(r);
    }
    double agreed[2] = {rank_.now(), steady_};
    rank_.agree(core::Group::of(order), agreed);
    if (!member_ && agreed[0] > rank_.now()) idle(agreed[0] - rank_.now());
    return {agreed[0], agreed[1]};
  }

  // Horovod Elastic's state.sync(): the first member broadcasts the state to every member of the new
  // epoch, the survivors as well as the joiners; nobody trains before it has the state.
  void transfer_state(int epoch, const std::vector<int>& members, const std::vector<int>&) override {
    if (!std::binary_search(members.begin(), members.end(), rank_.rank())) return;
    core::Phase phase(rank_, core::kStateTransferPhase, -1,
                      core::EventAttributes{}.set(core::Attribute::epoch, epoch));
    core::Communicator state = rank_.communicator(core::Group::of(members), "state", epoch);
    state.broadcast({(options_.checkpoint_bytes + 3) / 4, 4, nullptr}, NamedAlgorithm("tree"));
  }

  void iterations(std::int64_t first, std::int64_t, double seconds) override {
    if (seconds <= 0) return;
    if (!member_) return idle(seconds);
    core::Phase phase(rank_, "steady-iterations", static_cast<int>(first), attributes());
    rank_.sleep(seconds);
  }

  void pause(std::string_view name, double seconds) override {
    if (seconds <= 0) return;
    core::Phase phase(rank_, name, -1, attributes());
    rank_.sleep(seconds);
  }

  void failure(double, double lost_seconds, std::int64_t) override {
    rank_.mark(core::kFailureMark);
    if (rank_.rank() == 0) rank_.count(core::kLostWorkSeconds, lost_seconds);
  }

 private:
  core::EventAttributes attributes() const {
    return core::EventAttributes{}.set(core::Attribute::epoch, epoch_);
  }
  void idle(double seconds) {
    core::Phase phase(rank_, core::kOutOfJobPhase, -1, attributes());
    rank_.sleep(seconds);
  }

  const DataParallel& dp_;
  const ElasticOptions& options_;
  core::Rank& rank_;
  int training_ranks_;
  std::optional<DataParallel::Replica> replica_;
  int replica_epoch_ = -1;
  int epoch_ = 0;
  bool member_ = true;
  int executed_ = 0;   // iterations run in full: each "iteration" phase's number
  double steady_ = 0;  // the last full iteration's time on this rank
};

std::span<const std::string_view> all_fields() {
  static const std::vector<std::string_view> fields = [] {
    std::vector<std::string_view> out(data_parallel_fields().begin(), data_parallel_fields().end());
    out.insert(out.end(), elastic_own_fields().begin(), elastic_own_fields().end());
    return out;
  }();
  return fields;
}

class Elastic final : public Strategy {
 public:
  explicit Elastic(const core::Experiment& e)
      : experiment_(e),
        dp_(e, all_fields()),
        options_(read_elastic_options(*e.strategy, e, dp_.checkpoint_bytes())) {
    if (e.payload) {
      throw core::ConfigError(
          fmt::format("{}: field 'experiment.simulation.payload': elastic runs do not check "
                      "payloads yet (their weights are not checkpointed)",
                      e.source));
    }
    const double p = dp_.predict().iteration_seconds;
    if (options_.policy == ElasticOptions::Policy::live_rescale) {
      // The timeline replayed at the closed-form step time: a job that falls below min_ranks for good,
      // or fails without end, is refused here rather than midway through a simulation.
      try {
        replay_timeline(options_, e.iterations, p);
      } catch (const core::ValueError& error) {
        const auto failures = e.strategy->find("failures");
        (failures ? *failures : *e.strategy).fail(error.what());
      }
      return;
    }
    // A job whose failures come faster than it can checkpoint never finishes: refuse it up front.
    const double work = static_cast<double>(e.iterations) * p;
    const double expected = expected_makespan(options_, e.iterations, p, checkpoint_every(options_, p));
    if (p > 0 && !(expected < 1000 * work)) {
      e.strategy->at("failures")
          .fail(fmt::format(
              "a failure every {} (job MTBF) leaves this job little chance to finish: expected {} for {} of "
              "training; checkpoint more often or give a longer mtbf",
              core::format_duration(options_.job_mtbf()), core::format_duration(expected),
              core::format_duration(work)));
    }
  }

  void run(core::Rank& rank) const override {
    RankExecutor executor(dp_, options_, rank, experiment_.training_ranks());
    FailureClock failures(options_);
    const ElasticOutcome out = drive(options_, experiment_.iterations, kWarmUpIterations, failures, executor);
    if (rank.rank() == 0) {
      rank.count(core::kIterationsKept, static_cast<double>(experiment_.iterations));
      const std::int64_t samples = options_.global_batch > 0 ? experiment_.iterations * options_.global_batch
                                                             : out.rank_steps_kept * dp_.samples_per_rank();
      rank.count(core::kSamplesKept, static_cast<double>(samples));
    }
  }

  core::Roles roles() const override { return dp_.roles(); }

  Prediction predict() const override {
    if (options_.policy == ElasticOptions::Policy::live_rescale) return predict_live();
    Prediction p = dp_.predict();
    const double step = p.iteration_seconds;
    const std::int64_t every = checkpoint_every(options_, step);
    const double m = options_.job_mtbf();
    p.summary = fmt::format("elastic (checkpoint-restart) {}", p.summary);
    p.references_title =
        fmt::format("checkpoint-restart over {} iterations (closed forms)", experiment_.iterations);
    const auto add = [&](std::string name, double seconds, std::string how) {
      p.references.push_back({std::move(name), seconds, std::move(how)});
    };
    add("checkpoint write δ", options_.write_seconds(),
        fmt::format("{} (weights and optimizer state) at {}",
                    core::format_bytes(static_cast<double>(options_.checkpoint_bytes)),
                    core::format_bandwidth(options_.storage.write)));
    add("checkpoint load L", options_.load_seconds(),
        fmt::format("{} ranks read it, sharing {}", options_.readers,
                    core::format_bandwidth(options_.storage.read)));
    add("down after a failure D", options_.detect + options_.launch, "detection timeout + launch");
    if (m > 0) {
      add("job MTBF M", m, fmt::format("node MTBF / {} nodes", options_.nodes()));
      add("Young/Daly interval √(2δM)", young_daly_interval(options_.write_seconds(), m),
          "Young 1974, Daly 2006");
    }
    if (every > 0)
      add("checkpoint interval τ", static_cast<double>(every) * step,
          fmt::format("every {} iterations", every));
    const double work = static_cast<double>(experiment_.iterations) * step;
    add("training without failures", work, "iterations × iteration time");
    add("expected makespan", expected_makespan(options_, experiment_.iterations, step, every),
        "Poisson failures at 1/M, cycle by cycle (elastic_plan.cpp)");
    const ElasticOutcome seeded = replay_timeline(options_, experiment_.iterations, step);
    add("this seed's makespan", seeded.makespan,
        fmt::format("the run's own failures ({}) replayed at the closed-form iteration time",
                    seeded.failures));
    p.notes.push_back(
        "the iteration terms above are one steady iteration; a failed host is replaced, so every epoch has "
        "the same ranks");
    return p;
  }

 private:
  // An epoch's step time in closed form: the full job's; with batch: global, forward and backward
  // scaled by the largest share of the batch over the model's micro-batch.
  std::function<double(std::size_t)> step_of(const Prediction& p) const {
    double compute = 0;
    for (const PredictionTerm& term : p.terms) {
      if (term.name == "forward" || term.name == "backward") compute += term.seconds;
    }
    const double step = p.iteration_seconds;
    const double micro_batch = static_cast<double>(dp_.model().micro_batch);
    return [this, step, compute, micro_batch](std::size_t members) {
      if (options_.global_batch <= 0) return step;
      const double share = static_cast<double>(options_.share_of_batch(0, members));
      return step + compute * (share / micro_batch - 1);
    };
  }

  Prediction predict_live() const {
    Prediction p = dp_.predict();
    const double step = p.iteration_seconds;
    const double m = options_.job_mtbf();
    p.summary = fmt::format("elastic (live-rescale) {}", p.summary);
    p.references_title = fmt::format("live rescaling over {} iterations", experiment_.iterations);
    const auto add = [&](std::string name, double seconds, std::string how) {
      p.references.push_back({std::move(name), seconds, std::move(how)});
    };
    add("commit interval", static_cast<double>(options_.commit_every) * step,
        options_.commit_every == 1 ? std::string("every iteration, in memory")
                                   : fmt::format("every {} iterations, in memory", options_.commit_every));
    add("down after a failure", options_.detect + options_.rendezvous, "detection timeout + rendezvous");
    add("rendezvous on a leave or join", options_.rendezvous, "the members agree, communicators rebuilt");
    if (m > 0) add("job MTBF M", m, fmt::format("node MTBF / {} nodes", options_.nodes()));
    add("training without failures", static_cast<double>(experiment_.iterations) * step,
        "iterations × iteration time, every rank in");
    if (options_.host_mtbf > 0 && options_.repair > 0 && options_.global_batch == 0) {
      const LiveExpectation e = expected_live_rescale(options_, experiment_.iterations, step);
      const double samples = static_cast<double>(experiment_.iterations) *
                             static_cast<double>(dp_.samples_per_rank()) * experiment_.training_ranks() *
                             e.ranks_share;
      add("expected makespan", e.makespan,
          fmt::format("first order (elastic_plan.cpp), drawn failures: {:.1f} % of the ranks in the job on "
                      "average, goodput {:.1f} samples/s",
                      100 * e.ranks_share, samples / e.makespan));
    }
    const ElasticOutcome seeded = replay_timeline(options_, experiment_.iterations, step_of(p));
    add("this seed's makespan", seeded.makespan,
        fmt::format("the run's own changes ({} epochs, {} failures) replayed at the closed-form iteration "
                    "time",
                    seeded.epochs, seeded.failures));
    if (options_.global_batch > 0) {
      p.notes.push_back(fmt::format(
          "the job keeps its global batch of {} samples: an epoch of N ranks gives each ⌈{}/N⌉ or ⌊{}/N⌋; "
          "the replay scales forward and backward by the largest share, the simulation rebuilds the model "
          "for each",
          options_.global_batch, options_.global_batch, options_.global_batch));
    } else {
      p.notes.push_back(
          "each rank keeps its batch when the membership changes: an epoch of fewer ranks trains fewer "
          "samples per step (learning-rate scaling is the user's); the replay takes every step at the full "
          "membership's time and state transfers as free, the simulation measures both");
    }
    return p;
  }

  const core::Experiment& experiment_;
  DataParallel dp_;
  ElasticOptions options_;
};

}  // namespace

std::span<const std::string_view> elastic_fields() {
  return all_fields();
}

std::unique_ptr<Strategy> make_elastic(const core::Experiment& experiment) {
  return std::make_unique<Elastic>(experiment);
}

}  // namespace dmlsim::strategies
