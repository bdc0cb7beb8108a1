// The network model: contention under oversubscription as max-min sharing predicts, and the
// `flows` fidelity against message-level `steps`.
#include <gtest/gtest.h>

#include <iostream>

#include "cli_helpers.hpp"
#include "sim_helpers.hpp"
#include "strategies/collectives/collectives.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;

// 8 hosts on 2 leaves of 4, host links 10 Gbit/s (1 µs), one spine link of 20 Gbit/s (0.5 µs)
// per leaf: 40 Gbit/s enter a leaf from its hosts, 20 leave it: 2:1 oversubscribed.
const char* kOversubscribedTree = R"(
  platform:
    topology: fat-tree
    hosts: 8
    hosts_per_leaf: 4
    host_link: {bandwidth: 10Gbps, latency: 1us}
    spines: 1
    spine_link: {bandwidth: 20Gbps, latency: 500ns}
    device: h100)";

TEST(FatTree, OversubscriptionSlowsARingAsMaxMinSharingPredicts) {
  // Ranks alternate between leaves, so every ring hop crosses the spine: each leaf uplink carries
  // 4 flows, each gets 20/4 = 5 Gbit/s < 10 Gbit/s of its host link.
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(R"(
experiment:{}
  placement: [0, 4, 1, 5, 2, 6, 3, 7]
  strategy: {{type: collective, algorithm: ring, size: 64MiB}}
  simulation: {{fidelity: steps, trace: phases}}
)",
                                                                       kOversubscribedTree));
  const sim::SimResult r = testing::simulate_strategy(e);
  const double alpha = 2 * 1e-6 + 2 * 0.5e-6;
  const double chunk = 64.0 * (1 << 20) / 8;
  const double shared = 20e9 / 8 / 4;  // max-min share of the uplink
  const double expected = 2 * 7 * (alpha + chunk / shared);
  const double uncontended = 2 * 7 * (alpha + chunk / (10e9 / 8));
  EXPECT_NEAR(r.simulated_seconds / expected, 1.0, 0.005);
  EXPECT_GT(r.simulated_seconds / uncontended, 1.9);  // twice as slow as on a non-blocking fabric
}

// Runs one experiment in both fidelities (each in its own dmlsim process) and returns the makespans.
std::pair<double, double> steps_and_flows(const std::string& experiment_yaml, const std::string& name) {
  ScratchDir scratch(name);
  testing::write_file(scratch / "e.yaml", experiment_yaml);
  double makespan[2] = {0, 0};
  const char* fidelities[2] = {"steps", "flows"};
  for (int i = 0; i < 2; ++i) {
    const auto out = scratch / fidelities[i];
    const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--quiet", "--set",
                               std::string("simulation.fidelity=") + fidelities[i], "--out", out.string()},
                              scratch);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    makespan[i] = testing::read_json(out / "summary.json")["makespan_s"].get<double>();
  }
  return {makespan[0], makespan[1]};
}

class FlowsEqualSteps : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(FlowsEqualSteps, OnAStar) {
  const auto& [algorithm, n] = GetParam();
  const auto [steps, flows] = steps_and_flows(fmt::format(R"(
experiment:
  platform: {}
  strategy: {{type: collective, algorithm: {}, size: 48MiB, local_size: 4}}
  simulation: {{trace: phases}}
)",
                                                          testing::star_platform(n), algorithm),
                                              "flows-star");
  EXPECT_NEAR(flows / steps, 1.0, 1e-6) << "steps " << steps << " s, flows " << flows << " s";
}

INSTANTIATE_TEST_SUITE_P(Sim, FlowsEqualSteps,
                         ::testing::Combine(::testing::Values("ring", "halving-doubling", "tree",
                                                              "double-binary-tree", "hierarchical"),
                                            ::testing::Values(4, 16, 64)),
                         [](const auto& param_info) {
                           std::string s = fmt::format("{}_n{}", std::get<0>(param_info.param),
                                                       std::get<1>(param_info.param));
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

TEST(FlowsEqualSteps, EqualConcurrentRingsOnAnOversubscribedFatTree) {
  // Two 4-member rings, each hopping between leaves: 4 flows share each leaf uplink.
  const auto [steps, flows] = steps_and_flows(fmt::format(R"(
experiment:{}
  placement: [0, 4, 1, 5, 2, 6, 3, 7]
  strategy: {{type: collective, algorithm: ring, size: 64MiB, groups: 2}}
  simulation: {{trace: phases}}
)",
                                                          kOversubscribedTree),
                                              "flows-rings");
  EXPECT_NEAR(flows / steps, 1.0, 1e-6) << "steps " << steps << " s, flows " << flows << " s";
}

TEST(FlowsApproximateSteps, RingsOfDifferentSizesSharingLinks) {
  // Where flows approximate: a 64 MiB and a 16 MiB ring share the uplinks. Message by message the
  // small ring finishes, then the big one has the links to itself, and within each step the other
  // ring uses bandwidth left idle during latency; aggregated flows shift these moments slightly.
  // notes/simgrid.md measured +0.1 … +2.25 %; we hold it to 3 %.
  const auto [steps, flows] = steps_and_flows(fmt::format(R"(
experiment:{}
  placement: [0, 4, 1, 5, 2, 6, 3, 7]
  strategy: {{type: collective, algorithm: ring, size: [64MiB, 16MiB], groups: 2}}
  simulation: {{trace: phases}}
)",
                                                          kOversubscribedTree),
                                              "flows-uneven");
  EXPECT_NEAR(flows / steps, 1.0, 0.03) << "steps " << steps << " s, flows " << flows << " s";
  std::cout << fmt::format("flows/steps = {:.6f}\n", flows / steps);
}

}  // namespace
}  // namespace dmlsim

namespace dmlsim {
namespace {

TEST(SimgridXml, ARawSimgridPlatformRunsWithItsOwnLinks) {
  // platforms/simgrid-cluster.xml: <cluster> of 4 nodes, 1.25 GB/s and 1 µs per private link, so a
  // ring all-reduce of S takes 2·3·(2 µs + S/4 / 1.25 GB/s).
  const core::Experiment e =
      testing::experiment_from_yaml(fmt::format("experiment: {{platform: {}/platforms/simgrid-cluster.yaml, "
                                                "strategy: {{type: collective, size: 4MiB}}, "
                                                "simulation: {{payload: true}}}}",
                                                DMLSIM_SOURCE_DIR));
  const sim::SimResult r = testing::simulate_strategy(e);
  const double expected = 6 * (2e-6 + 1024.0 * 1024 / 1.25e9);
  EXPECT_NEAR(r.simulated_seconds / expected, 1.0, 1e-6);
}

}  // namespace
}  // namespace dmlsim
