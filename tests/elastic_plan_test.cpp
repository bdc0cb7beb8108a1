// Checkpoint-restart's timeline and closed forms (strategies/elastic/elastic_plan.hpp): timelines
// worked out by hand, the drawn failures' law, the exact expected makespan against the mean of
// seeded replays, Young/Daly's interval against the replays' optimum. Live rescaling's timeline:
// leaves, joins, failures with repair and min_ranks worked out by hand, and the accounts of a run
// with drawn failures.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli_helpers.hpp"
#include "core/config_node.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "strategies/elastic/elastic_plan.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::strategies {
namespace {

// Every step 1 s; a write 2 s (2 GB at 1 GB/s), a load 4 s (1 reader at 0.5 GB/s), down 5 + 7 s.
ElasticOptions hand_options() {
  ElasticOptions o;
  o.interval = ElasticOptions::Interval::iterations;
  o.interval_iterations = 10;
  o.checkpoint_bytes = 2'000'000'000;
  o.storage = {.write = 1e9, .read = 0.5e9, .latency = 0};
  o.readers = 1;
  o.detect = 5;
  o.launch = 7;
  o.node_ids = {0, 1, 2, 3};
  o.node_ranks = {{0}, {1}, {2}, {3}};
  return o;
}

MembershipEvent fails(double at, std::int64_t iteration, int node) {
  return {.kind = MembershipEvent::Kind::fail, .at = at, .iteration = iteration, .nodes = {node}};
}

// Records what the driver asks for.
class Recorder final : public TimelineExecutor {
 public:
  std::pair<double, double> warm_up(int epoch, const std::vector<int>& members, std::int64_t first,
                                    std::int64_t n) override {
    log.push_back(members.size() == 4
                      ? fmt::format("warm-up {} from {} x{}", epoch, first, n)
                      : fmt::format("warm-up {} of {} from {} x{}", epoch, members.size(), first, n));
    clock += static_cast<double>(n);
    return {clock, 1.0};
  }
  void iterations(std::int64_t first, std::int64_t n, double seconds) override {
    log.push_back(fmt::format("steps {}+{} {}s", first, n, seconds));
    clock += seconds;
  }
  void pause(std::string_view phase, double seconds) override {
    log.push_back(fmt::format("{} {}s", phase, seconds));
    clock += seconds;
  }
  void transfer_state(int epoch, const std::vector<int>& members, const std::vector<int>& joiners) override {
    log.push_back(
        fmt::format("epoch {}: state from {} to {}", epoch, members.front(), fmt::join(joiners, ",")));
  }
  void failure(double at, double lost, std::int64_t steps) override {
    log.push_back(fmt::format("failure at {} lost {}s {} steps", at, lost, steps));
  }
  std::vector<std::string> log;
  double clock = 0;
};

TEST(ElasticTimeline, AFailureAtATimeLosesTheWorkSinceTheLastCheckpoint) {
  ElasticOptions o = hand_options();
  o.events.push_back(fails(25.5, -1, 1));
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive_timeline(o, 50, 3, failures, r);
  // 0-3 warm-up, 3-10 steps, write 10-12, steps 11-20 to 22, write 22-24 (step 20 kept), steps from 24:
  // the failure at 25.5 loses 1.5 s (one whole step and half); noticed 30.5, launched 37.5, loaded 41.5;
  // from step 20: warm-up 3 to 44.5, steps to 30 at 51.5, write 53.5, to 40 at 63.5, write 65.5, to 50
  // at 75.5.
  const std::vector<std::string> expected = {"warm-up 0 from 0 x3",
                                             "steps 3+7 7s",
                                             "checkpoint 2s",
                                             "steps 10+10 10s",
                                             "checkpoint 2s",
                                             "steps 20+1 1.5s",
                                             "failure at 25.5 lost 1.5s 1 steps",
                                             "failure-detection 5s",
                                             "restart 7s",
                                             "checkpoint-load 4s",
                                             "warm-up 1 from 20 x3",
                                             "steps 23+7 7s",
                                             "checkpoint 2s",
                                             "steps 30+10 10s",
                                             "checkpoint 2s",
                                             "steps 40+10 10s"};
  EXPECT_EQ(r.log, expected);
  EXPECT_DOUBLE_EQ(out.makespan, 75.5);
  EXPECT_DOUBLE_EQ(r.clock, out.makespan);
  EXPECT_EQ(out.failures, 1);
  EXPECT_EQ(out.checkpoints, 4);
  EXPECT_EQ(out.checkpoint_every, 10);
  EXPECT_EQ(out.iterations_run, 51);
  EXPECT_DOUBLE_EQ(out.lost_seconds, 1.5);
  EXPECT_DOUBLE_EQ(out.load_seconds, 4);
  EXPECT_DOUBLE_EQ(out.detect_seconds, 5);
  EXPECT_DOUBLE_EQ(out.restart_seconds, 7);
  EXPECT_DOUBLE_EQ(out.checkpoint_seconds, 8);
}

TEST(ElasticTimeline, AFailureAtAnIterationComesAtItsEndBeforeItsCheckpoint) {
  ElasticOptions o = hand_options();
  o.events.push_back(fails(-1, 20, 0));
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive_timeline(o, 30, 3, failures, r);
  // Step 20 ends at 22, before its write: the work since the write of step 10 (ended at 12) is lost;
  // down to 34, loaded at 38, steps 11 to 30 with a write at 20: 38 + 10 + 2 + 10 = 60.
  EXPECT_DOUBLE_EQ(out.makespan, 60);
  EXPECT_DOUBLE_EQ(out.lost_seconds, 10);
  EXPECT_EQ(out.failures, 1);
  EXPECT_EQ(out.checkpoints, 2);  // at 10, then at 20 on the second pass
}

TEST(ElasticTimeline, AFailureInsideTheWarmUpStopsItThere) {
  ElasticOptions o = hand_options();
  o.events.push_back(fails(-1, 2, 0));
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive_timeline(o, 12, 3, failures, r);
  ASSERT_GE(r.log.size(), 3u);
  EXPECT_EQ(r.log[0], "warm-up 0 from 0 x2");
  EXPECT_EQ(r.log[1], "failure at 2 lost 2s 2 steps");
  // Nothing kept: no load; 2 + 12 down, then 12 steps with a write at 10: 14 + 12 + 2.
  EXPECT_DOUBLE_EQ(out.makespan, 28);
  EXPECT_DOUBLE_EQ(out.load_seconds, 0);
}

TEST(ElasticTimeline, AFailureDuringAWriteKeepsNoCheckpoint) {
  ElasticOptions o = hand_options();
  o.events.push_back(fails(11, -1, 2));
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive_timeline(o, 50, 3, failures, r);
  // The write of step 10 is cut at 11: back to step 0 with nothing to load; 11 + 12 + 50 + 4 writes × 2.
  EXPECT_DOUBLE_EQ(out.makespan, 81);
  EXPECT_DOUBLE_EQ(out.lost_seconds, 11);
  EXPECT_DOUBLE_EQ(out.checkpoint_seconds, 1 + 8);
  EXPECT_EQ(out.checkpoints, 4);
}

TEST(ElasticTimeline, AStepFailureAfterAnEarlierOneStillComes) {
  ElasticOptions o = hand_options();
  o.events = {fails(15.5, -1, 1), fails(-1, 18, 2)};
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive_timeline(o, 30, 3, failures, r);
  // The failure at 15.5 (step 13 under way) goes back to step 10: down to 27.5, loaded at 31.5; step
  // 18 ends at 39.5 (warm-up to 34.5, 5 more): the second failure, back to step 10 again: down to 51.5,
  // loaded 55.5, steps 11-20 to 65.5, write 67.5, steps to 30 at 77.5.
  EXPECT_EQ(out.failures, 2);
  EXPECT_DOUBLE_EQ(out.makespan, 77.5);
}

TEST(ElasticTimeline, FailuresWhileTheJobIsDownAreAbsorbed) {
  ElasticOptions o = hand_options();
  o.events = {fails(25.5, -1, 1), fails(30, -1, 2)};
  FailureClock failures(o);
  Recorder r;
  EXPECT_DOUBLE_EQ(drive_timeline(o, 50, 3, failures, r).makespan, 75.5);
}

// Live rescaling: every step 1 s whatever the membership; rendezvous 2 s, detection 5 s.
ElasticOptions live_options() {
  ElasticOptions o = hand_options();
  o.policy = ElasticOptions::Policy::live_rescale;
  o.interval = ElasticOptions::Interval::none;
  o.rendezvous = 2;
  return o;
}

MembershipEvent change(MembershipEvent::Kind kind, std::int64_t iteration, int node) {
  return {.kind = kind, .at = -1, .iteration = iteration, .nodes = {node}};
}

TEST(LiveRescale, ALeaveAndAJoinChangeTheMembersAtStepBoundariesAndLoseNothing) {
  ElasticOptions o = live_options();
  o.events = {change(MembershipEvent::Kind::leave, 5, 3), change(MembershipEvent::Kind::join, 10, 3)};
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive(o, 20, 2, failures, r);
  // 4 ranks train steps 1-5 (to 5 s); 3 ranks, after a 2 s rendezvous, steps 6-10 (7-12 s); node 3
  // joins: rendezvous to 14 s, the state to rank 3, 4 ranks train steps 11-20 (to 24 s).
  const std::vector<std::string> expected = {
      "warm-up 0 from 0 x2",        "steps 2+3 3s",         "rendezvous 2s",
      "warm-up 1 of 3 from 5 x2",   "steps 7+3 3s",         "rendezvous 2s",
      "epoch 2: state from 0 to 3", "warm-up 2 from 10 x2", "steps 12+8 8s"};
  EXPECT_EQ(r.log, expected);
  EXPECT_DOUBLE_EQ(out.makespan, 24);
  EXPECT_EQ(out.rank_steps_kept, 5 * 4 + 5 * 3 + 10 * 4);
  EXPECT_EQ(out.epochs, 3);
  EXPECT_EQ(out.failures, 0);
  EXPECT_DOUBLE_EQ(out.rendezvous_seconds, 4);
  EXPECT_DOUBLE_EQ(out.lost_seconds, 0);
  EXPECT_EQ(out.iterations_run, 20);
}

TEST(LiveRescale, AFailureLosesTheStepsSinceTheCommitAndTheNodeComesBackAfterRepair) {
  ElasticOptions o = live_options();
  o.commit_every = 5;
  o.repair = 30;
  o.events = {fails(13.5, -1, 1)};
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive(o, 40, 2, failures, r);
  // Node 1 fails at 13.5 s during step 14: steps 11-13 (since the commit of step 10 at 10 s) are lost,
  // 3.5 s. Noticed at 18.5 s, rendezvous to 20.5 s; 3 ranks from step 10. Node 1 is repaired at 43.5 s,
  // the end of step 33: it joins at the next commit, step 35 (45.5 s); rendezvous to 47.5 s; steps
  // 36-40 on 4 ranks to 52.5 s.
  const std::vector<std::string> expected = {
      "warm-up 0 from 0 x2",  "steps 2+11 11.5s", "failure at 13.5 lost 3.5s 3 steps",
      "failure-detection 5s", "rendezvous 2s",    "warm-up 1 of 3 from 10 x2",
      "steps 12+23 23s",      "rendezvous 2s",    "epoch 2: state from 0 to 1",
      "warm-up 2 from 35 x2", "steps 37+3 3s"};
  EXPECT_EQ(r.log, expected);
  EXPECT_DOUBLE_EQ(out.makespan, 52.5);
  EXPECT_DOUBLE_EQ(r.clock, out.makespan);
  EXPECT_EQ(out.rank_steps_kept, 10 * 4 + 25 * 3 + 5 * 4);
  EXPECT_EQ(out.failures, 1);
  EXPECT_DOUBLE_EQ(out.lost_seconds, 3.5);
  EXPECT_DOUBLE_EQ(out.detect_seconds, 5);
  EXPECT_DOUBLE_EQ(out.rendezvous_seconds, 4);
  EXPECT_EQ(out.iterations_run, 43);
}

TEST(LiveRescale, BelowMinRanksTheJobWaitsForTheRepairedNode) {
  ElasticOptions o = live_options();
  o.min_ranks = 4;
  o.repair = 20;
  o.events = {fails(5.5, -1, 2)};
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive(o, 20, 2, failures, r);
  // Committed every step: the failure at 5.5 s loses half a step. Noticed at 10.5 s; 3 ranks are fewer
  // than 4: the job waits for node 2 until 25.5 s, then rendezvous to 27.5 s and 15 steps to 42.5 s.
  const std::vector<std::string> expected = {
      "warm-up 0 from 0 x2",        "steps 2+3 3.5s",        "failure at 5.5 lost 0.5s 0 steps",
      "failure-detection 5s",       "waiting for nodes 15s", "rendezvous 2s",
      "epoch 1: state from 0 to 2", "warm-up 1 from 5 x2",   "steps 7+13 13s"};
  EXPECT_EQ(r.log, expected);
  EXPECT_DOUBLE_EQ(out.makespan, 42.5);
  EXPECT_DOUBLE_EQ(out.waiting_seconds, 15);
  EXPECT_EQ(out.rank_steps_kept, 20 * 4);
}

TEST(LiveRescale, AJoinAboveMaxRanksWaitsForALeaveToMakeRoom) {
  ElasticOptions o = live_options();
  o.spares = {3};
  o.max_ranks = 3;
  o.events = {change(MembershipEvent::Kind::join, 5, 3), change(MembershipEvent::Kind::leave, 10, 1)};
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive(o, 20, 2, failures, r);
  // Node 3's join, due at step 5, would make 4 ranks: it waits. Node 1 leaves at step 10 (10 s) and
  // node 3 takes its place in the same change: rendezvous to 12 s, the state to rank 3, steps 11-20.
  const std::vector<std::string> expected = {
      "warm-up 0 of 3 from 0 x2",  "steps 2+8 8s", "rendezvous 2s", "epoch 1: state from 0 to 3",
      "warm-up 1 of 3 from 10 x2", "steps 12+8 8s"};
  EXPECT_EQ(r.log, expected);
  EXPECT_DOUBLE_EQ(out.makespan, 22);
  EXPECT_EQ(out.epochs, 2);
  EXPECT_EQ(out.rank_steps_kept, 20 * 3);
}

TEST(LiveRescale, AGlobalBatchIsSharedAsADistributedSamplerSharesIt) {
  ElasticOptions o;
  o.global_batch = 256;
  for (std::size_t n = 1; n <= 64; ++n) {
    std::int64_t sum = 0, largest = 0, smallest = 1 << 30;
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t share = o.share_of_batch(i, n);
      sum += share;
      largest = std::max(largest, share);
      smallest = std::min(smallest, share);
    }
    EXPECT_EQ(sum, 256) << n << " ranks";
    EXPECT_LE(largest - smallest, 1) << n << " ranks";
    EXPECT_EQ(o.share_of_batch(0, n),
              (256 + static_cast<std::int64_t>(n) - 1) / static_cast<std::int64_t>(n));
  }
}

TEST(LiveRescale, AFailureByStepComesBeforeThatStepsCommit) {
  ElasticOptions o = live_options();
  o.commit_every = 4;
  o.events = {fails(-1, 8, 3)};
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive(o, 12, 2, failures, r);
  // Node 3 fails at the end of step 8 (8 s), before its commit: steps 5-8 are lost (since the commit of
  // step 4 at 4 s). Noticed 13 s, rendezvous 15 s, 3 ranks train steps 5-12 to 23 s.
  EXPECT_DOUBLE_EQ(out.lost_seconds, 4);
  EXPECT_DOUBLE_EQ(out.makespan, 23);
  EXPECT_EQ(out.rank_steps_kept, 4 * 4 + 8 * 3);
  EXPECT_EQ(out.iterations_run, 16);
}

TEST(LiveRescale, WithoutARepairOrJoinBelowMinRanksIsAnError) {
  ElasticOptions o = live_options();
  o.min_ranks = 4;
  o.events = {fails(5.5, -1, 2)};
  FailureClock failures(o);
  Recorder r;
  EXPECT_THROW(drive(o, 20, 2, failures, r), core::ValueError);
}

TEST(LiveRescale, WithDrawnFailuresEveryStepRunIsKeptOrCountedAsLost) {
  ElasticOptions o = live_options();
  o.host_mtbf = 400;  // a failure every 100 s of the job, on average
  o.repair = 150;
  o.commit_every = 5;
  o.min_ranks = 2;
  o.seed = 11;
  FailureClock failures(o);
  // Counts the time in each kind of call (every step 1 s).
  struct Accounts final : TimelineExecutor {
    std::pair<double, double> warm_up(int, const std::vector<int>&, std::int64_t, std::int64_t n) override {
      stepping += static_cast<double>(n);
      clock += static_cast<double>(n);
      return {clock, 1.0};
    }
    void iterations(std::int64_t, std::int64_t, double seconds) override {
      stepping += seconds;
      clock += seconds;
    }
    void pause(std::string_view, double seconds) override { clock += seconds; }
    void failure(double, double, std::int64_t) override {}
    double stepping = 0, clock = 0;
  } a;
  const ElasticOutcome out = drive(o, 5000, 3, failures, a);
  EXPECT_GT(out.failures, 30);
  // An epoch after each failure, and one for each repaired node's join (joins due together share one).
  EXPECT_GT(out.epochs, out.failures + 1);
  EXPECT_LE(out.epochs, 2 * out.failures + 1);
  EXPECT_DOUBLE_EQ(a.clock, out.makespan);
  // Time training = the 5000 kept steps + the lost work; the rest is detection, rendezvous, waiting.
  EXPECT_NEAR(a.stepping, 5000 + out.lost_seconds, 1e-6);
  EXPECT_NEAR(out.makespan, a.stepping + out.detect_seconds + out.rendezvous_seconds + out.waiting_seconds,
              1e-6);
  // 5 s each, less where a failure during a warm-up is noticed at its end.
  EXPECT_LE(out.detect_seconds, 5.0 * out.failures);
  EXPECT_GT(out.detect_seconds, 4.0 * out.failures);
  // Fewer ranks some of the time, never fewer than min_ranks.
  EXPECT_LT(out.rank_steps_kept, 5000 * 4);
  EXPECT_GE(out.rank_steps_kept, 5000 * 2);
  // The same seed, the same run.
  FailureClock again(o);
  Recorder r;
  EXPECT_DOUBLE_EQ(drive(o, 5000, 3, again, r).makespan, out.makespan);
}

TEST(LiveRescale, TheFirstOrderExpectationIsTheMeanOfSeededRuns) {
  // Node MTBF 4000 s (a failure every 1000 s of the job) with repairs of 100 and 400 s, and 1000 s
  // (every 250 s) with repairs of 300 s: a node out a fifth of the time.
  for (const auto& [mtbf, repair] :
       {std::pair{4000.0, 100.0}, std::pair{4000.0, 400.0}, std::pair{1000.0, 300.0}}) {
    ElasticOptions o = live_options();
    o.host_mtbf = mtbf;
    o.repair = repair;
    o.commit_every = 10;
    o.detect = 20;
    o.rendezvous = 5;
    const std::int64_t iterations = 50000;
    const int runs = 200;
    double makespan = 0, share = 0;
    for (int s = 0; s < runs; ++s) {
      o.seed = static_cast<std::uint64_t>(s + 1);
      const ElasticOutcome out = replay_timeline(o, iterations, 1.0);
      makespan += out.makespan / runs;
      share += static_cast<double>(out.rank_steps_kept) / (4.0 * iterations) / runs;
    }
    const LiveExpectation e = expected_live_rescale(o, iterations, 1.0);
    // Measured: 0.01 %, 0.004 % and 0.2 % of the makespan; 0.0001, 0.0003 and 0.002 of the share.
    EXPECT_NEAR(e.makespan, makespan, 0.005 * makespan) << "node MTBF " << mtbf << ", repair " << repair;
    EXPECT_NEAR(e.ranks_share, share, 0.005) << "node MTBF " << mtbf << ", repair " << repair;
  }
}

TEST(FailureClock, DrawsAreSeededExponentialPerHost) {
  ElasticOptions o = hand_options();
  o.host_mtbf = 100;
  o.seed = 7;
  FailureClock a(o), b(o);
  double t = 0, sum_sq = 0;
  const int n = 20000;
  std::vector<double> gaps;
  for (int i = 0; i < n; ++i) {
    const FailureClock::Failure drawn = a.next_after(t);
    const double next = drawn.at;
    EXPECT_DOUBLE_EQ(next, b.next_after(t).at);  // the same draws on every rank and machine
    EXPECT_EQ(drawn.nodes.size(), 1u);
    ASSERT_GT(next, t);
    gaps.push_back(next - t);
    t = next;
  }
  // Four hosts of MTBF 100: failures of the job at rate 4/100, gaps of mean 25 and standard deviation
  // 25 (exponential); the mean of 20 000 gaps is within 4 standard errors (25/√20000 = 0.18).
  double mean = 0;
  for (double g : gaps) mean += g / n;
  for (double g : gaps) sum_sq += (g - mean) * (g - mean) / (n - 1);
  EXPECT_NEAR(mean, 25, 4 * 25 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sum_sq), 25, 1.0);
  ElasticOptions seeded = o;
  seeded.seed = 8;
  EXPECT_NE(FailureClock(seeded).next_after(0).at, FailureClock(o).next_after(0).at);
}

// A job MTBF of 1000 s (4 nodes of 4000 s), 1 s steps, writes of 5 s, loads of 10 s, 30 s down:
// Young/Daly's interval is √(2·5·1000) = 100 s.
ElasticOptions drawn_options(std::int64_t every) {
  ElasticOptions o = hand_options();
  o.interval_iterations = every;
  o.checkpoint_bytes = 5'000'000'000;  // 5 s at 1 GB/s, 10 s at 0.5 GB/s
  o.detect = 10;
  o.launch = 20;
  o.host_mtbf = 4000;
  return o;
}

struct Sample {
  double mean = 0, standard_error = 0;
};
Sample replays(ElasticOptions o, std::int64_t iterations, int seeds) {
  std::vector<double> t;
  for (int seed = 1; seed <= seeds; ++seed) {
    o.seed = static_cast<std::uint64_t>(seed);
    t.push_back(replay_timeline(o, iterations, 1.0).makespan);
  }
  Sample s;
  for (double v : t) s.mean += v / seeds;
  double var = 0;
  for (double v : t) var += (v - s.mean) * (v - s.mean) / (seeds - 1);
  s.standard_error = std::sqrt(var / seeds);
  return s;
}

TEST(ElasticClosedForms, TheExpectedMakespanIsTheMeanOfSeededRuns) {
  for (const std::int64_t every : {40, 100, 250}) {
    const ElasticOptions o = drawn_options(every);
    const Sample s = replays(o, 20000, 400);
    const double expected = expected_makespan(o, 20000, 1.0, every);
    SCOPED_TRACE(
        fmt::format("every {}: mean {} ± {}, expected {}", every, s.mean, s.standard_error, expected));
    EXPECT_GT(expected, 20000 + (20000 / every - 1) * 5.0);  // failures cost something
    EXPECT_NEAR(s.mean, expected, 3 * s.standard_error);
  }
}

TEST(ElasticClosedForms, WithoutFailuresTheMakespanIsTheWorkAndTheWrites) {
  ElasticOptions o = drawn_options(100);
  o.host_mtbf = 0;
  EXPECT_DOUBLE_EQ(expected_makespan(o, 1050, 1.0, 100), 1050 + 10 * 5.0);
  EXPECT_DOUBLE_EQ(replay_timeline(o, 1050, 1.0).makespan, 1050 + 10 * 5.0);
  // A rare failure costs next to nothing: the exact form tends to the failure-free one.
  o.host_mtbf = 1e12;
  EXPECT_NEAR(expected_makespan(o, 1050, 1.0, 100), 1100, 1e-3);
}

TEST(ElasticClosedForms, TheBestIntervalOfTheRunsIsYoungDalys) {
  // The mean makespan over 1000 seeded runs (the same failures for every interval) for intervals of
  // 30 to 300 s, evenly spread in log τ, and a parabola in log τ through them: the time lost,
  // W·(δ/τ + τ/2M) to first order, is √(2δ/M)·W·cosh(ln(τ/τ*)), even in log τ about the optimum τ*.
  std::vector<double> taus, means;
  for (int i = 0; i <= 20; ++i) {
    const auto every = static_cast<std::int64_t>(std::llround(30 * std::pow(10.0, i / 20.0)));
    taus.push_back(std::log(static_cast<double>(every)));
    means.push_back(replays(drawn_options(every), 20000, 1000).mean);
  }
  // Least squares of mean = a·x² + b·x + c, x = ln τ.
  double m[3][4] = {};
  for (std::size_t i = 0; i < taus.size(); ++i) {
    const double x[3] = {taus[i] * taus[i], taus[i], 1};
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) m[r][c] += x[r] * x[c];
      m[r][3] += x[r] * means[i];
    }
  }
  for (int p = 0; p < 3; ++p) {  // Gauss-Jordan
    for (int r = 0; r < 3; ++r) {
      if (r == p) continue;
      const double f = m[r][p] / m[p][p];
      for (int c = 0; c < 4; ++c) m[r][c] -= f * m[p][c];
    }
  }
  const double a = m[0][3] / m[0][0], b = m[1][3] / m[1][1];
  ASSERT_GT(a, 0);
  const double best = std::exp(-b / (2 * a));
  const double young = young_daly_interval(5, 1000);
  EXPECT_DOUBLE_EQ(young, 100);
  EXPECT_NEAR(best, young, 0.1 * young) << "the runs' best interval " << best;
  // The exact form's own optimum too.
  std::int64_t exact_best = 0;
  double lowest = 1e300;
  for (std::int64_t every = 20; every <= 400; ++every) {
    const double t = expected_makespan(drawn_options(every), 20000, 1.0, every);
    if (t < lowest) lowest = t, exact_best = every;
  }
  EXPECT_NEAR(static_cast<double>(exact_best), young, 0.1 * young);
}

TEST(ElasticClosedForms, TheCheckpointIntervalInSteps) {
  ElasticOptions o = drawn_options(100);
  EXPECT_EQ(checkpoint_every(o, 0.25), 100);
  o.interval = ElasticOptions::Interval::seconds;
  o.interval_seconds = 30;
  EXPECT_EQ(checkpoint_every(o, 0.25), 120);
  EXPECT_EQ(checkpoint_every(o, 100), 1);  // at least every step
  o.interval = ElasticOptions::Interval::young_daly;
  EXPECT_EQ(checkpoint_every(o, 0.5), 200);  // √(2·5·1000) = 100 s of 0.5 s steps
  o.interval = ElasticOptions::Interval::none;
  EXPECT_EQ(checkpoint_every(o, 0.5), 0);
}

namespace availability {

// An experiment of 4 nodes (one rank each), live rescaling with the availability trace `csv`.
struct SpotPool {
  explicit SpotPool(const std::string& csv, const std::string& strategy_extra = "",
                    const std::string& failures_extra = "")
      : dir("availability") {
    std::ofstream(dir / "spot.csv") << csv;
    std::ofstream(dir / "e.yaml")
        << "experiment:\n"
           "  platform: {topology: star, hosts: 4, link: {bandwidth: 10Gbps, latency: "
           "1us}, device: h100}\n"
           "  model: {type: mlp, widths: [256, 512, 10], batch: 32, dtype: fp32}\n"
           "  iterations: 20000\n"
           "  strategy:\n"
           "    type: elastic\n"
        << strategy_extra << "    failures: {availability: spot.csv" << failures_extra << "}\n";
  }
  ElasticOptions options() const {
    const core::Experiment e =
        core::parse_experiment(core::ConfigNode::load_file(dir / "e.yaml").at("experiment"));
    return read_elastic_options(*e.strategy, e, 1000);
  }
  // The error reading it gives, with the scratch directory left out.
  std::string error() const {
    try {
      options();
    } catch (const core::ConfigError& e) {
      std::string what = e.what();
      const std::string prefix = dir.path().string() + "/";
      if (const auto at = what.find(prefix); at != std::string::npos) what.erase(at, prefix.size());
      return what;
    }
    return "no error";
  }
  testing::ScratchDir dir;
};

constexpr const char* kLive = "    policy: live-rescale\n";

TEST(Availability, WindowsBecomeJoinsAndPreemptions) {
  const SpotPool pool("node,from,to\n2,0,1h\n2,3h,\n3, 30min , 2h\n", kLive);
  const ElasticOptions o = pool.options();
  using K = MembershipEvent::Kind;
  std::vector<std::tuple<K, double, int>> events;
  for (const MembershipEvent& m : o.events) events.emplace_back(m.kind, m.at, m.nodes.at(0));
  EXPECT_EQ(events, (std::vector<std::tuple<K, double, int>>{
                        {K::fail, 3600, 2}, {K::join, 10800, 2}, {K::join, 1800, 3}, {K::fail, 7200, 3}}));
  EXPECT_EQ(o.spares, (std::vector<int>{3}));  // node 3's first window starts at 30 min
  EXPECT_EQ(o.traced_nodes, (std::vector<int>{2, 3}));
  // Every step 1 s: 3 ranks, then 4 from 30 min, 3 from 1 h, 2 from 2 h, 3 from 3 h.
  FailureClock failures(o);
  Recorder r;
  const ElasticOutcome out = drive(o, 20000, 2, failures, r);
  EXPECT_EQ(out.epochs, 5);
  EXPECT_EQ(out.failures, 2);
  std::vector<std::string> warm_ups;
  for (const std::string& line : r.log) {
    if (line.starts_with("warm-up")) warm_ups.push_back(line.substr(0, line.find(" from")));
  }
  EXPECT_EQ(warm_ups, (std::vector<std::string>{"warm-up 0 of 3", "warm-up 1", "warm-up 2 of 3",
                                                "warm-up 3 of 2", "warm-up 4 of 3"}));
  // With preemption: leave (a notice long enough to reach a commit), nothing is lost.
  const ElasticOptions l = SpotPool("node,from,to\n2,0,1h\n", kLive, ", preemption: leave").options();
  EXPECT_EQ(l.events.at(0).kind, K::leave);
  FailureClock none(l);
  EXPECT_EQ(drive(l, 20000, 2, none, r).failures, 0);
}

TEST(Availability, BadTracesNameTheFileLineAndField) {
  EXPECT_EQ(SpotPool("node,start,end\n", kLive).error(), "spot.csv:1: the header must be node,from,to");
  EXPECT_EQ(SpotPool("node,from,to\n2,2h,1h\n", kLive).error(),
            "spot.csv:2: field 'to': the window ends at 1h but starts at 2h");
  EXPECT_EQ(SpotPool("node,from,to\nx,0,1h\n", kLive).error(),
            "spot.csv:2: field 'node': 'x' is not a node number");
  EXPECT_EQ(SpotPool("node,from,to\n2,0\n", kLive).error(), "spot.csv:2: 2 fields; a window is node,from,to");
  EXPECT_EQ(SpotPool("node,from,to\n2,0,2h\n\n2,1h,3h\n", kLive).error(),
            "spot.csv:4: node 2's window overlaps the one on line 2");
  EXPECT_EQ(SpotPool("node,from,to\n9,0,1h\n", kLive).error(),
            "spot.csv:2: node 9 runs none of the job's ranks");
  EXPECT_EQ(SpotPool("", kLive).error(), "spot.csv: empty; the header must be node,from,to");
  EXPECT_EQ(SpotPool("node,from,to\n2,0,1h\n").error(),
            "e.yaml:7: field 'experiment.strategy.failures.availability': a field of policy: live-rescale");
  EXPECT_EQ(
      SpotPool("node,from,to\n3,1h,\n", std::string(kLive) + "    spares: [3]\n").error(),
      "e.yaml:8: field 'experiment.strategy.spares': node 3 is in the availability trace: it says when the "
      "node is up");
  const std::string bad_time = SpotPool("node,from,to\n2,soon,1h\n", kLive).error();
  EXPECT_TRUE(bad_time.starts_with("spot.csv:2: field 'from': ")) << bad_time;
}

}  // namespace availability

}  // namespace
}  // namespace dmlsim::strategies
