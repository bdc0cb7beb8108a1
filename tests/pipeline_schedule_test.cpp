// Pipeline schedules as data: each builder's order against the published figures, every schedule
// replayed (matched, dependencies respected, no deadlock) and timed against its closed form, and
// the replay's own checks made to fire on broken schedules.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <limits>

#include "core/errors.hpp"
#include "strategies/pipeline/pipeline_closed_forms.hpp"
#include "strategies/pipeline/pipeline_replay.hpp"
#include "strategies/pipeline/pipeline_schedule.hpp"
#include "strategies/pipeline/stage_split.hpp"

namespace dmlsim::strategies::pipeline {
namespace {

// Per-stage costs split over the chunks; outside zb-h1 the backward carries the weight gradient.
ComputeCost costs(const PipelineSchedule& s, const StageTimes& t) {
  return [&s, t](int, int, PipelineOp op) {
    const double v = s.chunks;
    switch (op) {
      case PipelineOp::forward:
        return t.forward / v;
      case PipelineOp::backward:
        return (s.split_backward ? t.backward : t.backward + t.weight_gradient) / v;
      default:
        return t.weight_gradient / v;
    }
  };
}

// 1F1B with p = 4, m = 8 (Narayanan et al. 2021 and SC'21 fig. 3, top): stage s warms up with
// p − s − 1 forwards, alternates, then drains.
TEST(PipelineSchedule, OneFOneBWarmsUpAlternatesAndDrains) {
  const PipelineSchedule s = build_schedule(ScheduleKind::one_f_one_b, 4, 8);
  EXPECT_EQ(compute_order(s, 0), "F0 F1 F2 F3 B0 F4 B1 F5 B2 F6 B3 F7 B4 B5 B6 B7");
  EXPECT_EQ(compute_order(s, 1), "F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 F6 B4 F7 B5 B6 B7");
  EXPECT_EQ(compute_order(s, 3), "F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5 F6 B6 F7 B7");
  // Fewer micro-batches than stages: every forward is warm-up.
  EXPECT_EQ(compute_order(build_schedule(ScheduleKind::one_f_one_b, 4, 2), 0), "F0 F1 B0 B1");
}

// GPipe (Huang et al. 2019, fig. 2c): every forward, then the backwards from the last micro-batch.
TEST(PipelineSchedule, GPipeRunsEveryForwardThenEveryBackward) {
  const PipelineSchedule s = build_schedule(ScheduleKind::gpipe, 3, 4);
  for (int stage = 0; stage < 3; ++stage) EXPECT_EQ(compute_order(s, stage), "F0 F1 F2 F3 B3 B2 B1 B0");
}

// Interleaved 1F1B, p = 4, m = 8, v = 2 (SC'21 fig. 4, bottom, as Megatron-LM orders it): chunk 0
// of micro-batches 0-3, chunk 1 of the same, then chunk 0 of 4-7...; stage 0 warms up with
// (4 − 0 − 1)·2 + (2 − 1)·4 = 10 forwards; backwards start with the last chunk.
TEST(PipelineSchedule, InterleavedGoesRoundTheChunksInGroupsOfPMicroBatches) {
  const PipelineSchedule s = build_schedule(ScheduleKind::interleaved, 4, 8, 2);
  EXPECT_EQ(compute_order(s, 0),
            "F0.0 F1.0 F2.0 F3.0 F0.1 F1.1 F2.1 F3.1 F4.0 F5.0 F6.0 B0.1 F7.0 B1.1 F4.1 B2.1 F5.1 B3.1 "
            "F6.1 B0.0 F7.1 B1.0 B2.0 B3.0 B4.1 B5.1 B6.1 B7.1 B4.0 B5.0 B6.0 B7.0");
  EXPECT_EQ(compute_order(s, 3),
            "F0.0 F1.0 F2.0 F3.0 F0.1 B0.1 F1.1 B1.1 F2.1 B2.1 F3.1 B3.1 F4.0 B0.0 F5.0 B1.0 F6.0 B2.0 "
            "F7.0 B3.0 F4.1 B4.1 F5.1 B5.1 F6.1 B6.1 F7.1 B7.1 B4.0 B5.0 B6.0 B7.0");
  // The last chunk of the last stage sends nothing forward; its chunk 0 sends to stage 0's chunk 1.
  const auto& last = s.actions[3];
  const auto send = std::find(last.begin(), last.end(), PipelineAction{PipelineOp::send_activation, 0, 0, 0});
  EXPECT_NE(send, last.end()) << "stage 3 chunk 0 → stage 0 chunk 1";
}

// ZB-H1 (Qi et al. 2024, fig. 3): 1F1B's F and B, with stage s's W passes s places behind its B.
TEST(PipelineSchedule, ZeroBubbleH1DefersTheWeightGradientsOfLaterStages) {
  const PipelineSchedule s = build_schedule(ScheduleKind::zb_h1, 4, 8);
  EXPECT_TRUE(s.split_backward);
  EXPECT_EQ(compute_order(s, 0), "F0 F1 F2 F3 B0 W0 F4 B1 W1 F5 B2 W2 F6 B3 W3 F7 B4 W4 B5 W5 B6 W6 B7 W7");
  EXPECT_EQ(compute_order(s, 3), "F0 B0 F1 B1 F2 B2 F3 B3 W0 F4 B4 W1 F5 B5 W2 F6 B6 W3 F7 B7 W4 W5 W6 W7");
}

struct Shape {
  ScheduleKind kind;
  int p, m, v;
};

std::vector<Shape> acceptance_shapes() {
  std::vector<Shape> shapes;
  for (const int p : {2, 3, 4, 8}) {
    for (const int m : {1, p, 2 * p + 1}) {
      for (const ScheduleKind k : {ScheduleKind::gpipe, ScheduleKind::one_f_one_b, ScheduleKind::zb_h1})
        shapes.push_back({k, p, m, 1});
    }
    // Interleaved needs m to be a multiple of p (refused otherwise, below).
    for (const int m : {p, 2 * p, 3 * p}) {
      for (const int v : {2, 3}) shapes.push_back({ScheduleKind::interleaved, p, m, v});
    }
  }
  return shapes;
}

// Every shape of the acceptance grid replays soundly and takes its closed form to 1e-12, for
// several cost ratios (zb-h1's form holds while W ≤ F); peaks in flight as the closed forms say.
TEST(PipelineSchedule, EveryScheduleIsSoundAndTakesItsClosedForm) {
  const StageTimes ratios[] = {{1, 1, 1}, {1, 1.3, 0.7}, {2, 1, 1}, {1, 2, 0.5}, {0.37, 0.51, 0.29}};
  int checked = 0;
  for (const Shape& sh : acceptance_shapes()) {
    const PipelineSchedule s = build_schedule(sh.kind, sh.p, sh.m, sh.v);
    const std::string name = fmt::format("{} p={} m={} v={}", to_string(sh.kind), sh.p, sh.m, sh.v);
    for (const StageTimes& t : ratios) {
      const ReplayResult r = replay(s, costs(s, t));
      const double closed = pipeline_seconds(sh.kind, sh.p, sh.m, sh.v, t);
      EXPECT_NEAR(r.makespan / closed, 1.0, 1e-12) << name << " F=" << t.forward;
      EXPECT_NEAR(r.bubble_fraction(), bubble_fraction(sh.kind, sh.p, sh.m, sh.v, t), 1e-12) << name;
      for (int stage = 0; stage < sh.p; ++stage) {
        EXPECT_NEAR(r.busy[static_cast<std::size_t>(stage)], sh.m * t.total(), 1e-9) << name;
        EXPECT_EQ(r.peak_in_flight[static_cast<std::size_t>(stage)],
                  peak_in_flight(sh.kind, sh.p, sh.m, sh.v, stage))
            << name << " stage " << stage;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5 * (4 * 9 + 4 * 6));
}

// The bubble of the published formulas: (p − 1)/(m + p − 1) for 1F1B, (p − 1)/(v·m + p − 1)
// interleaved, and ZB-H1's 2·(p − 1)·W shorter than 1F1B's once m ≥ p.
TEST(PipelineSchedule, BubblesShrinkAsThePapersSay) {
  const StageTimes t{1, 1, 1};
  for (const int p : {2, 4, 8}) {
    const int m = 2 * p;
    EXPECT_NEAR(bubble_fraction(ScheduleKind::one_f_one_b, p, m, 1, t), (p - 1.0) / (m + p - 1), 1e-12);
    EXPECT_NEAR(bubble_fraction(ScheduleKind::gpipe, p, m, 1, t), (p - 1.0) / (m + p - 1), 1e-12);
    EXPECT_NEAR(bubble_fraction(ScheduleKind::interleaved, p, m, 2, t), (p - 1.0) / (2 * m + p - 1), 1e-12);
    const auto one_f_one_b = build_schedule(ScheduleKind::one_f_one_b, p, m);
    const auto zb = build_schedule(ScheduleKind::zb_h1, p, m);
    EXPECT_NEAR(replay(one_f_one_b, costs(one_f_one_b, t)).makespan - replay(zb, costs(zb, t)).makespan,
                2 * (p - 1) * t.weight_gradient, 1e-12);
  }
  EXPECT_THROW(pipeline_seconds(ScheduleKind::zb_h1, 4, 8, 1, {1, 1, 2}), core::ValueError) << "W > F";
}

TEST(PipelineSchedule, ShapesTheSchedulesCannotRunAreRefused) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const core::ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message([] { build_schedule(ScheduleKind::interleaved, 4, 6, 2); }).find("multiple of the stages (4)"),
      std::string::npos);
  EXPECT_NE(message([] { build_schedule(ScheduleKind::interleaved, 4, 8, 1); }).find("2 or more chunks"),
            std::string::npos);
  EXPECT_NE(message([] { build_schedule(ScheduleKind::one_f_one_b, 4, 8, 2); }).find("use interleaved"),
            std::string::npos);
  EXPECT_THROW(build_schedule(ScheduleKind::gpipe, 0, 8), core::ValueError);
  EXPECT_EQ(schedule_shape_problem(ScheduleKind::interleaved, 4, 6, 2)->field, "micro_batches");
  EXPECT_EQ(schedule_shape_problem(ScheduleKind::interleaved, 4, 8, 1)->field, "chunks");
  EXPECT_FALSE(schedule_shape_problem(ScheduleKind::interleaved, 4, 8, 2));
  EXPECT_THROW(pipeline_seconds(ScheduleKind::interleaved, 4, 6, 2, {1, 1, 1}), core::ValueError)
      << "the closed forms check the same shapes";
  EXPECT_THROW(build_schedule(ScheduleKind::gpipe, 2, 0), core::ValueError);
  ScheduleKind k{};
  EXPECT_TRUE(parse_schedule_kind("zb-h1", k));
  EXPECT_EQ(k, ScheduleKind::zb_h1);
  EXPECT_FALSE(parse_schedule_kind("1F1B", k));
}

// The replay refuses broken schedules, each with the stage, the action and the problem.
TEST(PipelineSchedule, ReplayFindsDeadlocksAndUnmatchedOrMisorderedActions) {
  const StageTimes t{1, 1, 1};
  auto problem = [&](const PipelineSchedule& s) {
    try {
      replay(s, costs(s, t));
    } catch (const core::ValueError& e) {
      return std::string(e.what());
    }
    return std::string("sound");
  };
  const PipelineSchedule good = build_schedule(ScheduleKind::one_f_one_b, 2, 2);
  EXPECT_EQ(problem(good), "sound");
  // Stage 0 waits for the gradient of micro-batch 0 before sending its activation: both wait.
  PipelineSchedule deadlock = good;
  auto& s0 = deadlock.actions[0];
  const auto recv =
      std::find_if(s0.begin(), s0.end(), [](const auto& a) { return a.op == PipelineOp::recv_gradient; });
  const PipelineAction moved = *recv;
  s0.erase(recv);
  s0.insert(s0.begin(), moved);
  EXPECT_NE(
      problem(deadlock).find("deadlocks: stage 0 action 0 (recv-gradient of micro-batch 0, peer stage 1); "
                             "stage 1 action 0 (recv-activation of micro-batch 0, peer stage 0)"),
      std::string::npos)
      << problem(deadlock);
  // A send nobody receives.
  PipelineSchedule unmatched = good;
  unmatched.actions[1].erase(unmatched.actions[1].begin());  // stage 1's first receive
  EXPECT_NE(problem(unmatched).find("runs before its activation is received"), std::string::npos)
      << problem(unmatched);
  // A backward before its forward, a forward twice, a wrong peer, a missing backward.
  PipelineSchedule early = good;
  std::swap(early.actions[1][1], early.actions[1][2]);  // stage 1: B0 before F0
  EXPECT_NE(problem(early).find("stage 1 action 1 (backward of micro-batch 0): runs before its forward"),
            std::string::npos)
      << problem(early);
  PipelineSchedule wrong_peer = good;
  wrong_peer.actions[0][1].peer = 0;  // stage 0's first send
  EXPECT_NE(problem(wrong_peer).find("the next stage is 1"), std::string::npos) << problem(wrong_peer);
  PipelineSchedule missing = good;
  missing.actions[0].resize(missing.actions[0].size() - 2);  // stage 0's last receive and backward
  EXPECT_NE(
      problem(missing).find("stage 1 sends the gradient of micro-batch 1 to virtual stage 0, which never"),
      std::string::npos)
      << problem(missing);
  PipelineSchedule no_weight = build_schedule(ScheduleKind::zb_h1, 2, 2);
  no_weight.actions[1].pop_back();  // stage 1's last W
  EXPECT_NE(problem(no_weight).find("stage 1 never runs the weight gradient of micro-batch 1"),
            std::string::npos)
      << problem(no_weight);
}

}  // namespace
}  // namespace dmlsim::strategies::pipeline

namespace dmlsim::strategies::pipeline {
namespace {

double largest_part(std::span<const double> costs, const std::vector<std::size_t>& bounds) {
  double worst = 0;
  for (std::size_t k = 0; k + 1 < bounds.size(); ++k) {
    double part = 0;
    for (std::size_t i = bounds[k]; i < bounds[k + 1]; ++i) part += costs[i];
    worst = std::max(worst, part);
  }
  return worst;
}

// The smallest largest part over every cut of `costs` into `parts` non-empty ranges.
double brute_force_best(std::span<const double> costs, int parts) {
  const std::size_t n = costs.size();
  double best = std::numeric_limits<double>::infinity();
  // Each of the n − 1 gaps is a cut or not; keep the masks with parts − 1 cuts.
  for (unsigned mask = 0; mask < (1u << (n - 1)); ++mask) {
    if (std::popcount(mask) != parts - 1) continue;
    std::vector<std::size_t> bounds{0};
    for (std::size_t g = 0; g + 1 < n; ++g) {
      if (mask & (1u << g)) bounds.push_back(g + 1);
    }
    bounds.push_back(n);
    best = std::min(best, largest_part(costs, bounds));
  }
  return best;
}

TEST(StageSplit, BalancedCutsAreOptimalContiguousAndNonEmpty) {
  const double uniform[] = {1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(balanced_split(uniform, 4), (std::vector<std::size_t>{0, 2, 4, 6, 8}));
  // An embedding and a head much heavier than the blocks get chunks of their own.
  const double lopsided[] = {6, 1, 1, 1, 1, 1, 1, 6};
  EXPECT_EQ(balanced_split(lopsided, 3), (std::vector<std::size_t>{0, 1, 7, 8}));
  // A head that sets the optimum alone: the other chunks are still as even as they can be (3, 3,
  // 2 blocks, not 1, 1, 6).
  const double heavy_head[] = {1, 1, 1, 1, 1, 1, 1, 1, 10};
  const auto head_bounds = balanced_split(heavy_head, 4);
  EXPECT_EQ(head_bounds.back() - head_bounds[3], 1u);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_GE(head_bounds[k + 1] - head_bounds[k], 2u) << k;
  // Random costs against every possible cut.
  std::uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<double>(seed >> 8) / (1 << 24);
  };
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 1 + trial % 9;
    std::vector<double> costs(n);
    for (double& c : costs) c = next();
    for (int parts = 1; parts <= static_cast<int>(n); ++parts) {
      const auto bounds = balanced_split(costs, parts);
      ASSERT_EQ(bounds.size(), static_cast<std::size_t>(parts) + 1);
      EXPECT_EQ(bounds.front(), 0u);
      EXPECT_EQ(bounds.back(), n);
      for (std::size_t k = 0; k + 1 < bounds.size(); ++k) EXPECT_LT(bounds[k], bounds[k + 1]);
      EXPECT_DOUBLE_EQ(largest_part(costs, bounds), brute_force_best(costs, parts))
          << n << " layers, " << parts;
    }
  }
  EXPECT_THROW(balanced_split(uniform, 9), core::ValueError);
  EXPECT_THROW(balanced_split(uniform, 0), core::ValueError);
}

TEST(StageSplit, GivenCountsMustCoverTheModel) {
  const int counts[] = {3, 1, 4};
  EXPECT_EQ(split_from_counts(counts, 8), (std::vector<std::size_t>{0, 3, 4, 8}));
  EXPECT_THROW(split_from_counts(counts, 9), core::ValueError);
  const int empty_chunk[] = {3, 0, 5};
  EXPECT_THROW(split_from_counts(empty_chunk, 8), core::ValueError);
}

}  // namespace
}  // namespace dmlsim::strategies::pipeline
