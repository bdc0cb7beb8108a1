// NICs shared by a node's GPUs (issue 16, item 2): 4 nodes of 8 GPUs, a NIC of 100 Gbit/s per
// GPU or one per node, on one switch and on a fat-tree of nodes. Hierarchical all-reduce runs its
// inter-node phase on 8 rails at once, which then share the node's one NIC; a flat ring over
// rank-contiguous nodes has one inter-node flow per node each way and does not notice.
#include <gtest/gtest.h>

#include <tuple>

#include "core/summary.hpp"
#include "sim_helpers.hpp"
#include "strategies/collectives/cost.hpp"
#include "strategies/paths.hpp"

namespace dmlsim {
namespace {

std::string platform_yaml(int nics_per_node, bool fat_tree) {
  return fmt::format(
      R"(
  platform:
    topology: gpu-nodes
    nodes: 4
    gpus_per_node: 8
    nics_per_node: {}
    nvlink: {{bandwidth: 450GBps, latency: 700ns}}
    nic: {{bandwidth: 100Gbps, latency: 1.5us}}
    device: h100{})",
      nics_per_node,
      fat_tree ? "\n    fabric: {nodes_per_leaf: 2, spines: 2, oversubscription: 1, spine_latency: 500ns}"
               : "");
}

core::Experiment all_reduce(int nics_per_node, bool fat_tree, const std::string& algorithm) {
  return testing::experiment_from_yaml(fmt::format(R"(
experiment:{}
  strategy: {{type: collective, algorithm: {}, size: 256MiB}}
  simulation: {{fidelity: steps, trace: phases}}
)",
                                                   platform_yaml(nics_per_node, fat_tree), algorithm));
}

class SharedNic : public ::testing::TestWithParam<std::tuple<int, bool, std::string>> {};

TEST_P(SharedNic, SimulatedAllReduceTakesItsClosedForm) {
  const auto& [nics, fat_tree, algorithm] = GetParam();
  const core::Experiment e = all_reduce(nics, fat_tree, algorithm);
  const double predicted = strategies::make_strategy(e)->predict().iteration_seconds;
  const sim::SimResult r = testing::simulate_strategy(e);
  EXPECT_NEAR(r.simulated_seconds / predicted, 1.0, 0.005)
      << "simulated " << r.simulated_seconds << " s, closed form " << predicted << " s";
}

// Halving-doubling in both partner orders: its closed form charges each distance its own path
// (inside a node over NVLink, across over the NICs the round's flows share).
std::string shared_nic_name(const ::testing::TestParamInfo<std::tuple<int, bool, std::string>>& info) {
  std::string name = fmt::format("{}_nics_{}_{}", std::get<0>(info.param),
                                 std::get<1>(info.param) ? "fat_tree" : "switch", std::get<2>(info.param));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Sim, SharedNic,
    ::testing::Combine(::testing::Values(8, 1), ::testing::Bool(),
                       ::testing::Values("ring", "hierarchical", "halving-doubling",
                                         "halving-doubling, partner_order: distance-halving")),
    shared_nic_name);

// The closed forms the simulations above are held to: one NIC for 8 GPUs makes hierarchical's
// inter-node transfer 8 times as long and leaves the ring as it was.
TEST(SharedNic, OneNicPerNodeSlowsTheRailsEightfoldAndNotTheRing) {
  for (const bool fat_tree : {false, true}) {
    const auto cost = [&](int nics, const std::string& algorithm) {
      const core::Experiment e = all_reduce(nics, fat_tree, algorithm);
      strategies::CollectiveOptions o;
      o.local_size = 8;
      o.inner = "ring";
      const auto paths = strategies::path_classes(e, core::Group::world(32), 8);
      return std::pair{strategies::collective_cost(strategies::Collective::all_reduce, algorithm, 32,
                                                   (256u << 20) / 4, 4, *paths, o),
                       *paths};
    };
    const auto [ring_per_gpu, p8] = cost(8, "ring");
    const auto [ring_shared, p1] = cost(1, "ring");
    EXPECT_EQ(ring_shared.total(), ring_per_gpu.total());
    EXPECT_DOUBLE_EQ(p1.rails.ring.bandwidth, p8.rails.ring.bandwidth / 8);
    EXPECT_DOUBLE_EQ(p1.whole.ring.bandwidth, p8.whole.ring.bandwidth);
    EXPECT_DOUBLE_EQ(p1.intra.bandwidth, p8.intra.bandwidth);
    // Inter-node phase: a ring all-reduce of S/8 over 4 nodes, 2·3 steps of S/32.
    const double rail_transfer = 6 * (256.0 * (1 << 20) / 32) / (100e9 / 8);
    const auto hier_per_gpu = cost(8, "hierarchical").first;
    const auto hier_shared = cost(1, "hierarchical").first;
    EXPECT_NEAR((hier_shared.transfer - hier_per_gpu.transfer) / rail_transfer, 7.0, 1e-9);
  }
}

// Hierarchical all-reduce shows its three parts in the trace (with a NIC per GPU and one per
// node), each inside the collective's own event: the intra-node reduce-scatter and all-gather over NVLink,
// and the inter-node ring over the rails, each as long as its closed form; the summary counts the collective
// once.
class HierarchicalParts : public ::testing::TestWithParam<int> {};

TEST_P(HierarchicalParts, AreInTheTraceAsLongAsTheirClosedForms) {
  const int nics = GetParam();
  const core::Experiment e = all_reduce(nics, false, "hierarchical");
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto paths = strategies::path_classes(e, core::Group::world(32), 8);
  const std::uint64_t count = (256u << 20) / 4;
  const double intra =
      strategies::ring_steps(7, strategies::max_chunk_bytes(count, 8, 4), paths->intra).total();
  const double inter =
      strategies::ring_steps(2 * 3, strategies::max_chunk_bytes(count / 8, 4, 4), paths->rails.ring).total();
  const std::vector<std::pair<std::string, double>> expected{{"intra-node reduce-scatter 256 MiB", intra},
                                                             {"inter-node ring all-reduce 32 MiB", inter},
                                                             {"intra-node all-gather 256 MiB", intra}};
  for (int rank : {0, 13, 31}) {
    std::vector<const core::TraceEvent*> parts;
    const core::TraceEvent* whole = nullptr;
    for (const core::TraceEvent& ev : r.trace.events()) {
      if (ev.rank != rank || ev.lane != core::Lane::collective) continue;
      if (core::is_collective_part(ev)) {
        parts.push_back(&ev);
      } else {
        whole = &ev;
      }
    }
    ASSERT_NE(whole, nullptr);
    ASSERT_EQ(parts.size(), 3u) << "rank " << rank;
    EXPECT_DOUBLE_EQ(parts.front()->start, whole->start);
    EXPECT_DOUBLE_EQ(parts.back()->end, whole->end);
    for (std::size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE(fmt::format("{} NIC(s) per node, rank {}, part {}", nics, rank, i));
      EXPECT_EQ(r.trace.text(parts[i]->name), expected[i].first);
      EXPECT_EQ(parts[i]->attributes.get(core::Attribute::part), static_cast<int>(i));
      EXPECT_NEAR(parts[i]->duration() / expected[i].second, 1.0, 0.005);
      if (i > 0) {
        EXPECT_DOUBLE_EQ(parts[i]->start, parts[i - 1]->end);
      }
    }
  }
  const core::RunSummary summary = core::summarize(r.trace, r.links);
  ASSERT_EQ(summary.collectives.size(), 1u);
  EXPECT_EQ(summary.collectives[0].count, 32u);
}

INSTANTIATE_TEST_SUITE_P(Sim, HierarchicalParts, ::testing::Values(8, 1), [](const auto& param_info) {
  return fmt::format("{}_nics_per_node", param_info.param);
});

}  // namespace
}  // namespace dmlsim
