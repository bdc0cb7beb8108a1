// Checkpoint-restart's timeline and closed forms (strategies/elastic/elastic_plan.hpp): timelines
// worked out by hand, the drawn failures' law, the exact expected makespan against the mean of
// seeded replays, Young/Daly's interval against the replays' optimum, and bad input.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

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
  o.hosts = 4;
  return o;
}

// Records what the driver asks for.
class Recorder final : public TimelineExecutor {
 public:
  std::pair<double, double> warm_up(int epoch, std::int64_t first, std::int64_t n) override {
    log.push_back(fmt::format("warm-up {} from {} x{}", epoch, first, n));
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
  void failure(double at, double lost, std::int64_t steps) override {
    log.push_back(fmt::format("failure at {} lost {}s {} steps", at, lost, steps));
  }
  std::vector<std::string> log;
  double clock = 0;
};

TEST(ElasticTimeline, AFailureAtATimeLosesTheWorkSinceTheLastCheckpoint) {
  ElasticOptions o = hand_options();
  o.scripted.push_back({.at = 25.5, .iteration = -1, .host = "node 1"});
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
  o.scripted.push_back({.at = -1, .iteration = 20, .host = "node 0"});
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
  o.scripted.push_back({.at = -1, .iteration = 2, .host = "node 0"});
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
  o.scripted.push_back({.at = 11, .iteration = -1, .host = "node 2"});
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
  o.scripted = {{.at = 15.5, .iteration = -1, .host = "node 1"},
                {.at = -1, .iteration = 18, .host = "node 2"}};
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
  o.scripted = {{.at = 25.5, .iteration = -1, .host = "node 1"},
                {.at = 30, .iteration = -1, .host = "node 2"}};
  FailureClock failures(o);
  Recorder r;
  EXPECT_DOUBLE_EQ(drive_timeline(o, 50, 3, failures, r).makespan, 75.5);
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
    const double next = a.next_after(t);
    EXPECT_DOUBLE_EQ(next, b.next_after(t));  // the same draws on every rank and machine
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
  EXPECT_NE(FailureClock(seeded).next_after(0), FailureClock(o).next_after(0));
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

}  // namespace
}  // namespace dmlsim::strategies
