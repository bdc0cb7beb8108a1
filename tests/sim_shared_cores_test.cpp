// Hosts that share one machine's cores (`shared_cores`, the namespace testbed): ranks computing at
// once share them, each kernel on at most one core. With c cores and k ranks each computing a
// kernel of t seconds (t on a core of its own), all start together and end at t·max(1, k/c); a
// rank that computes alone runs at full speed; kernels that meet part-way share only while both run.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "core/errors.hpp"
#include "sim_helpers.hpp"

namespace dmlsim {
namespace {

core::Experiment experiment(int hosts, int shared_cores) {
  return testing::experiment_from_yaml(fmt::format(
      "experiment: {{platform: {{topology: star, hosts: {}, link: {{bandwidth: 1Gbps, latency: 1us}}, "
      "device: cpu{}}}, strategy: {{type: collective, size: 4KiB}}, simulation: {{trace: kernels}}}}",
      hosts, shared_cores > 0 ? fmt::format(", shared_cores: {}", shared_cores) : ""));
}

const core::Kernel kKernel = core::gemm("k", 512, 512, 512, core::DType::fp32);

// Each rank's kernel ends, by rank, when the ranks in `computing` run one kernel at time 0 (and
// the one in `late`, if any, starts its kernel at `late_start`).
std::map<int, double> kernel_ends(const core::Experiment& e, int computing, int late = -1,
                                  double late_start = 0) {
  const sim::SimResult r = sim::simulate(e, [&](core::Rank& rank) {
    if (rank.rank() == late) {
      rank.sleep(late_start);
      rank.compute(kKernel);
    } else if (rank.rank() < computing) {
      rank.compute(kKernel);
    }
  });
  std::map<int, double> ends;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::compute) ends[ev.rank] = ev.end;
  }
  return ends;
}

class SharedCores : public ::testing::TestWithParam<int> {};

TEST_P(SharedCores, RanksComputingAtOnceShareTheCores) {
  const int computing = GetParam();
  const core::Experiment e = experiment(4, 2);
  const double t = e.platform.device.kernel_seconds(kKernel);
  ASSERT_GT(t, 0);
  const auto ends = kernel_ends(e, computing);
  ASSERT_EQ(static_cast<int>(ends.size()), computing);
  for (const auto& [rank, end] : ends)
    EXPECT_NEAR(end / (t * std::max(1.0, computing / 2.0)), 1.0, 1e-9) << "rank " << rank;
}

INSTANTIATE_TEST_SUITE_P(Sim, SharedCores, ::testing::Values(1, 2, 3, 4));

TEST(SharedCores, WithoutThemEveryHostComputesOnItsOwn) {
  const core::Experiment e = experiment(4, 0);
  const double t = e.platform.device.kernel_seconds(kKernel);
  for (const auto& [rank, end] : kernel_ends(e, 4)) EXPECT_NEAR(end / t, 1.0, 1e-9) << "rank " << rank;
}

TEST(SharedCores, AKernelThatStartsLateSharesOnlyWhileBothRun) {
  // One core; rank 0 computes from 0, rank 1 from t/2. Alone until t/2 (half done), then each at
  // half speed: rank 0 ends at t/2 + t = 1.5t, rank 1 has done t/2 by then and ends alone at 2t.
  const core::Experiment e = experiment(2, 1);
  const double t = e.platform.device.kernel_seconds(kKernel);
  const auto ends = kernel_ends(e, 1, 1, t / 2);
  EXPECT_NEAR(ends.at(0) / (1.5 * t), 1.0, 1e-9);
  EXPECT_NEAR(ends.at(1) / (2 * t), 1.0, 1e-9);
}

TEST(SharedCores, TheCoresAreEchoedAndOnlyAStarHasThem) {
  EXPECT_NE(experiment(4, 2).platform.describe().find("sharing 2 cores"), std::string::npos);
  EXPECT_THROW(
      testing::experiment_from_yaml(
          "experiment: {platform: {topology: fat-tree, hosts: 4, hosts_per_leaf: 2, spines: 1, host_link: "
          "{bandwidth: 1Gbps, latency: 1us}, spine_link: {bandwidth: 1Gbps, latency: 1us}, device: cpu, "
          "shared_cores: 2}, strategy: {type: collective, size: 4KiB}}"),
      core::ConfigError);
}

}  // namespace
}  // namespace dmlsim
