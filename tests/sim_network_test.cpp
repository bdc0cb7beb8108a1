// The network model: contention under oversubscription as max-min sharing predicts, and the
// `flows` fidelity against message-level `steps`.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "cli_helpers.hpp"
#include "core/trace_csv_reader.hpp"
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

// One experiment in both fidelities (each in its own dmlsim process): the makespans, the largest
// relative difference of any rank's start or end of any collective (the k-th of a name on a rank
// in an iteration against the same in the other), and the largest busbw of either summary.
struct StepsAndFlows {
  double steps = 0, flows = 0;
  double worst_event = 0;
  double busbw = 0;  // bytes/s
};

StepsAndFlows steps_and_flows(const std::string& experiment_yaml, const std::string& name) {
  ScratchDir scratch(name);
  testing::write_file(scratch / "e.yaml", experiment_yaml);
  StepsAndFlows out;
  std::map<std::tuple<int, std::string, int, int>, std::pair<double, double>> events[2];
  const char* fidelities[2] = {"steps", "flows"};
  for (int i = 0; i < 2; ++i) {
    const auto dir = scratch / fidelities[i];
    const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--quiet", "--set",
                               std::string("simulation.fidelity=") + fidelities[i], "--out", dir.string()},
                              scratch);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json summary = testing::read_json(dir / "summary.json");
    (i == 0 ? out.steps : out.flows) = summary["makespan_s"].get<double>();
    for (const auto& c : summary["collectives"])
      out.busbw = std::max(out.busbw, c["busbw_GBps"].get<double>() * 1e9);
    std::map<std::tuple<int, std::string, int>, int> seen;
    const core::Trace trace = core::read_csv_trace(dir / "trace.csv");
    for (const core::TraceEvent& e : trace.events()) {
      if (e.lane != core::Lane::collective) continue;
      const std::string event(trace.text(e.name));
      const int k = seen[{e.rank, event, e.iteration}]++;
      events[i][{e.rank, event, e.iteration, k}] = {e.start, e.end};
    }
  }
  EXPECT_EQ(events[0].size(), events[1].size());
  for (const auto& [key, steps] : events[0]) {
    const auto it = events[1].find(key);
    if (it == events[1].end()) {
      ADD_FAILURE() << "flows lacks rank " << std::get<0>(key) << "'s " << std::get<1>(key);
      continue;
    }
    for (const auto& [a, b] :
         {std::pair{steps.first, it->second.first}, std::pair{steps.second, it->second.second}}) {
      if (a > 0) out.worst_event = std::max(out.worst_event, std::abs(b - a) / a);
    }
  }
  return out;
}

class FlowsEqualSteps : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(FlowsEqualSteps, OnAStar) {
  const auto& [algorithm, n] = GetParam();
  const StepsAndFlows r = steps_and_flows(fmt::format(R"(
experiment:
  platform: {}
  strategy: {{type: collective, algorithm: {}, size: 48MiB, local_size: 4}}
  simulation: {{trace: phases}}
)",
                                                      testing::star_platform(n), algorithm),
                                          "flows-star");
  EXPECT_NEAR(r.flows / r.steps, 1.0, 1e-6) << "steps " << r.steps << " s, flows " << r.flows << " s";
  // Every rank's every collective starts and ends as it does message by message.
  EXPECT_LT(r.worst_event, 1e-6);
  EXPECT_LE(r.busbw, 10e9 / 8) << "busbw above the 10 Gbit/s links";
}

INSTANTIATE_TEST_SUITE_P(Sim, FlowsEqualSteps,
                         ::testing::Combine(::testing::Values("ring", "halving-doubling", "tree",
                                                              "double-binary-tree", "hierarchical",
                                                              "rail-rings"),
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
  const StepsAndFlows r = steps_and_flows(fmt::format(R"(
experiment:{}
  placement: [0, 4, 1, 5, 2, 6, 3, 7]
  strategy: {{type: collective, algorithm: ring, size: 64MiB, groups: 2}}
  simulation: {{trace: phases}}
)",
                                                      kOversubscribedTree),
                                          "flows-rings");
  EXPECT_NEAR(r.flows / r.steps, 1.0, 1e-6) << "steps " << r.steps << " s, flows " << r.flows << " s";
  EXPECT_LT(r.worst_event, 1e-6);
  EXPECT_LE(r.busbw, 10e9 / 8);
}

TEST(FlowsApproximateSteps, RingsOfDifferentSizesSharingLinks) {
  // Where flows approximate: a 64 MiB and a 16 MiB ring share the uplinks. Message by message the
  // small ring finishes, then the big one has the links to itself, and within each step the other
  // ring uses bandwidth left idle during latency; aggregated flows shift these moments slightly.
  // notes/simgrid.md measured +0.1 … +2.25 %; we hold it to 3 %.
  const StepsAndFlows r = steps_and_flows(fmt::format(R"(
experiment:{}
  placement: [0, 4, 1, 5, 2, 6, 3, 7]
  strategy: {{type: collective, algorithm: ring, size: [64MiB, 16MiB], groups: 2}}
  simulation: {{trace: phases}}
)",
                                                      kOversubscribedTree),
                                          "flows-uneven");
  EXPECT_NEAR(r.flows / r.steps, 1.0, 0.03) << "steps " << r.steps << " s, flows " << r.flows << " s";
  std::cout << fmt::format("flows/steps = {:.6f}\n", r.flows / r.steps);
}

// Data-parallel GPT-2 XL on 8 DGX-H100-like nodes (8 GPUs behind NVLink, a 400 Gbit/s NIC per
// GPU), ring all-reduce: the rings mix NVLink hops with NIC hops, and buckets start as backward
// makes them. Per rank and per collective, flows must give the times a rank experiences: a rank
// downstream of a NIC hop ends a few NVLink rounds after the hop's members, a rank whose bucket
// is ready early starts early (before flows worked the rounds out, 1.2e-3 off at 64 GPUs and
// 3.8e-4 at 256; before flows waited for the ring, 6 %), and busbw stays below the NIC's 50 GB/s.
TEST(FlowsEqualSteps, PerRankCollectiveTimesOnGpuNodes) {
  const StepsAndFlows r = steps_and_flows(std::string(R"(
experiment:
  platform:
    topology: gpu-nodes
    nodes: 8
    gpus_per_node: 8
    nvlink: {bandwidth: 450GBps, latency: 700ns}
    nic: {bandwidth: 400Gbps, latency: 1.5us}
    device: h100
  model: )") + (testing::source_dir() / "models" / "gpt2-xl.yaml").string() +
                                              R"(
  ranks: 64
  iterations: 2
  strategy: {type: data-parallel, allreduce: ring}
  simulation: {trace: phases}
)",
                                          "flows-dgx");
  EXPECT_NEAR(r.flows / r.steps, 1.0, 1e-6) << "steps " << r.steps << " s, flows " << r.flows << " s";
  EXPECT_LT(r.worst_event, 1e-6);
  EXPECT_LE(r.busbw, 400e9 / 8);
  std::cout << fmt::format("largest per-rank collective difference {:.2e}\n", r.worst_event);
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
