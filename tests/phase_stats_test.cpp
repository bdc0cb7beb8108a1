// core::phase_times and core::compare_phases on hand-made traces, against numbers worked out by hand
// from the definition in core/phase_stats.hpp.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "core/phase_stats.hpp"
#include "trace_builder.hpp"

namespace dmlsim::core {
namespace {

constexpr double kTolerance = 1e-12;  // sums of a few doubles

// Two ranks, two iterations of 1 s. Rank 0: forward 0.2, backward 0.5, all-reduce 0.3 (two buckets
// of 0.1 and 0.2), optimizer 0.1 per iteration. Rank 1: forward 0.4 in iteration 0 only, backward
// 0.5, all-reduce 0.3 in one piece, no optimizer. Kernels on Lane::compute do not count.
Trace hand_made(double scale = 1) {
  Trace t;
  t.ranks = {{0, 0, "a"}, {1, 0, "b"}};
  for (int it = 0; it < 2; ++it) {
    const double b = it;
    for (int r = 0; r < 2; ++r) testing::add_event(t, r, Lane::phase, "iteration", "iteration", b, b + 1, it);
    testing::add_event(t, 0, Lane::phase, "forward", "forward", b, b + 0.2 * scale, it);
    testing::add_event(t, 0, Lane::compute, "gemm", "forward", b, b + 0.2 * scale, it);
    testing::add_event(t, 0, Lane::phase, "backward", "backward", b + 0.2, b + 0.2 + 0.5 * scale, it);
    testing::add_event(t, 0, Lane::collective, "all-reduce ring 1 MiB", "all-reduce", b + 0.3,
                       b + 0.3 + 0.1 * scale, it);
    testing::add_event(t, 0, Lane::collective, "all-reduce ring 2 MiB", "all-reduce", b + 0.5,
                       b + 0.5 + 0.2 * scale, it);
    testing::add_event(t, 0, Lane::phase, "optimizer", "optimizer", b + 0.8, b + 0.8 + 0.1 * scale, it);
    if (it == 0) testing::add_event(t, 1, Lane::phase, "forward", "forward", b, b + 0.4 * scale, it);
    testing::add_event(t, 1, Lane::phase, "backward", "backward", b + 0.4, b + 0.4 + 0.5 * scale, it);
    testing::add_event(t, 1, Lane::collective, "all-reduce ring 3 MiB", "all-reduce", b + 0.5,
                       b + 0.5 + 0.3 * scale, it);
  }
  return t;
}

const PhaseTime* find(const std::vector<PhaseTime>& times, std::string_view phase) {
  for (const PhaseTime& t : times) {
    if (t.phase == phase) return &t;
  }
  return nullptr;
}

TEST(PhaseStats, MeanPerIterationOfPerRankTotalsAveragedOverRanks) {
  const Trace t = hand_made();
  EXPECT_EQ(iteration_count(t), 2);
  const auto times = phase_times(t);
  ASSERT_EQ(times.size(), 4u) << "forward, backward, all-reduce, optimizer; not iteration, not kernels";
  // First events: forward at 0, backward at 0.2, all-reduce at 0.3, optimizer at 0.8.
  EXPECT_EQ(times[0].phase, "forward");
  EXPECT_EQ(times[1].phase, "backward");
  EXPECT_EQ(times[2].phase, "all-reduce");
  EXPECT_TRUE(times[2].collective);
  EXPECT_EQ(times[3].phase, "optimizer");

  // forward: rank 0 0.4 s / 2 iterations = 0.2, rank 1 0.4 s / 2 = 0.2 → 0.2.
  EXPECT_NEAR(find(times, "forward")->seconds, 0.2, kTolerance);
  EXPECT_EQ(find(times, "forward")->ranks, 2);
  // backward: 0.5 on both ranks.
  EXPECT_NEAR(find(times, "backward")->seconds, 0.5, kTolerance);
  // all-reduce: rank 0 (0.1 + 0.2) × 2 / 2 = 0.3, rank 1 0.3 → 0.3.
  EXPECT_NEAR(find(times, "all-reduce")->seconds, 0.3, kTolerance);
  // optimizer: only rank 0 has it, 0.1 per iteration.
  EXPECT_NEAR(find(times, "optimizer")->seconds, 0.1, kTolerance);
  EXPECT_EQ(find(times, "optimizer")->ranks, 1);
}

TEST(PhaseStats, IterationCountWithoutIterationMarks) {
  Trace t;
  testing::add_event(t, 0, Lane::phase, "forward", "forward", 0, 1, 3);
  testing::add_event(t, 0, Lane::phase, "forward", "forward", 1, 2, 5);
  EXPECT_EQ(iteration_count(t), 2) << "distinct iteration indices of any event";
  EXPECT_NEAR(phase_times(t)[0].seconds, 1.0, kTolerance);
  Trace none;
  testing::add_event(none, 0, Lane::phase, "forward", "forward", 0, 2, -1);
  EXPECT_EQ(iteration_count(none), 1);
  EXPECT_NEAR(phase_times(none)[0].seconds, 2.0, kTolerance);
}

// A ping-pong's round trips are one phase name with the message size in `bytes`: each size is a
// phase of its own, labelled exactly (sizes that would round alike stay apart).
TEST(PhaseStats, PhasesOfDifferentMessageSizesAreKeptApart) {
  Trace t;
  auto trip = [&t](std::uint64_t bytes, double start, double end, int iteration) {
    TraceEvent e = testing::make_event(t, 0, Lane::phase, "pingpong", "pingpong", start, end, iteration);
    e.bytes = bytes;
    t.add(e);
  };
  trip(1024, 0, 1, 0);
  trip(1024, 1, 2, 1);
  trip(std::uint64_t{64} << 20, 2, 6, 0);
  trip(std::uint64_t{64} << 20, 6, 12, 1);
  trip(1536, 12, 13, 0);
  trip(1537, 13, 14, 0);
  const auto times = phase_times(t);
  ASSERT_EQ(times.size(), 4u);
  EXPECT_EQ(times[0].phase, "pingpong 1 KiB");
  EXPECT_NEAR(times[0].seconds, 1.0, kTolerance);  // 2 s over 2 iterations
  EXPECT_EQ(times[1].phase, "pingpong 64 MiB");
  EXPECT_NEAR(times[1].seconds, 5.0, kTolerance);
  EXPECT_EQ(times[2].phase, "pingpong 1536 B");
  EXPECT_EQ(times[3].phase, "pingpong 1537 B");
  EXPECT_EQ(phase_label("forward", 0), "forward");
  EXPECT_EQ(phase_label("x", std::uint64_t{3} << 40), "x 3 TiB");
}
TEST(PhaseStats, CompareGivesErrorPercentPerPhase) {
  // Predicted: every phase 10 % longer than measured, and a phase only the prediction has.
  Trace predicted = hand_made(1.1);
  testing::add_event(predicted, 0, Lane::phase, "checkpoint", "checkpoint", 1.95, 1.99, 1);
  const Trace measured = hand_made(1.0);
  const auto diff = compare_phases(predicted, measured);
  ASSERT_EQ(diff.size(), 5u);
  for (const PhaseDifference& d : diff) {
    SCOPED_TRACE(d.phase);
    if (d.phase == "checkpoint") {
      EXPECT_NEAR(d.predicted_seconds, 0.04 / 2, kTolerance);
      EXPECT_EQ(d.measured_seconds, 0);
      EXPECT_TRUE(std::isnan(d.error_percent)) << "undefined without a measurement";
      continue;
    }
    // (1.1 m − m) / m × 100 = 10 %.
    EXPECT_NEAR(d.error_percent, 10.0, 1e-9);
    EXPECT_NEAR(d.predicted_seconds, 1.1 * d.measured_seconds, kTolerance);
  }
  EXPECT_EQ(diff.back().phase, "checkpoint") << "predicted's order";

  // The other way round: a phase the measured run has and the prediction misses is −100 %.
  const auto reverse = compare_phases(measured, predicted);
  ASSERT_EQ(reverse.size(), 5u);
  EXPECT_EQ(reverse.back().phase, "checkpoint");
  EXPECT_NEAR(reverse.back().error_percent, -100.0, 1e-9);
}

TEST(PhaseStats, ReportRoundTripsThroughJson) {
  const auto diff = compare_phases(hand_made(0.9), hand_made(1.0));
  auto with_undefined = diff;
  with_undefined.push_back({"only-predicted", 0.5, 0, std::nan("")});
  const nlohmann::json j = to_json(with_undefined);
  EXPECT_TRUE(j.back()["error_percent"].is_null());
  const auto back = phase_differences_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_EQ(back.size(), with_undefined.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].phase, with_undefined[i].phase);
    EXPECT_DOUBLE_EQ(back[i].predicted_seconds, with_undefined[i].predicted_seconds);
    EXPECT_DOUBLE_EQ(back[i].measured_seconds, with_undefined[i].measured_seconds);
    if (std::isnan(with_undefined[i].error_percent)) {
      EXPECT_TRUE(std::isnan(back[i].error_percent));
    } else {
      EXPECT_DOUBLE_EQ(back[i].error_percent, with_undefined[i].error_percent);
    }
  }
  EXPECT_THROW(phase_differences_from_json(nlohmann::json::parse(R"([{"phase": "x"}])")), ValueError);
  EXPECT_THROW(phase_differences_from_json(nlohmann::json::parse(R"({"phase": "x"})")), ValueError);
}

}  // namespace
}  // namespace dmlsim::core
