// Hierarchical federated learning (`mode: hierarchical` on an edge platform whose regions have
// aggregators): the two-level platform's paths, a cloud round against its closed form, the seeded
// replay against the simulation with every update checked, and bad input.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "sim_helpers.hpp"

namespace dmlsim {
namespace {

constexpr std::string_view kModel =
    "{type: mlp, name: fl-mlp, widths: [256, 512, 10], batch: 32, dtype: fp32}";

// Two regions, each with an aggregator behind its WAN link: eu (1 Gbit/s, 20 ms) with three clients
// of two classes, asia (500 Mbit/s, 80 ms) with three. The aggregators' and the server's links are
// fast, so every transfer's bottleneck is a client's access link or a WAN link.
constexpr std::string_view kPlatform =
    "{topology: edge, server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}, "
    "regions: {"
    "eu: {wan: {bandwidth: 1Gbps, latency: 20ms}, aggregator: {link: {bandwidth: 10Gbps, latency: 1ms}, "
    "device: cpu}}, "
    "asia: {wan: {bandwidth: 500Mbps, latency: 80ms}, aggregator: {link: {bandwidth: 10Gbps, latency: 1ms}, "
    "device: cpu}}}, "
    "classes: {"
    "eu-lte: {count: 2, link: {down: 20Mbps, up: 5Mbps, latency: 30ms}, device: cpu, region: eu}, "
    "eu-fibre: {count: 1, link: {down: 100Mbps, up: 50Mbps, latency: 5ms}, device: cpu, region: eu}, "
    "asia-lte: {count: 3, link: {down: 40Mbps, up: 8Mbps, latency: 40ms}, device: cpu, region: asia}}}";

core::Experiment hierarchical(int rounds, const std::string& strategy, const std::string& extra = "",
                              std::string_view platform = kPlatform) {
  return testing::experiment_from_yaml(
      fmt::format("experiment:\n  platform: {}\n  model: {}\n  iterations: {}\n  strategy: "
                  "{{type: federated, mode: hierarchical, {}}}\n{}",
                  platform, kModel, rounds, strategy, extra));
}

double average_seconds(const core::Experiment& e, int host, int updates) {
  const core::Model& m = e.require_model();
  return e.platform.device_of(host).kernel_seconds(
      core::elementwise("aggregate", m.parameters() * updates, m.dtype, 2, 2));
}

std::vector<std::pair<double, double>> phases(const core::Trace& trace, int rank, std::string_view name) {
  std::vector<std::pair<double, double>> out;
  for (const core::TraceEvent& e : trace.events()) {
    if (e.lane == core::Lane::phase && e.rank == rank && trace.text(e.name) == name)
      out.emplace_back(e.start, e.end);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(EdgeHierarchy, ClientsReachTheirAggregatorInsideTheRegionAndTheServerOverTheWan) {
  const core::Experiment e = hierarchical(1, "clients_per_round: 1, samples: 64");
  const core::Platform& p = e.platform;
  EXPECT_EQ(p.host_count(), 9);
  EXPECT_EQ(p.aggregator_hosts(), (std::vector<int>{6, 7}));
  // Ranks: six clients, the two aggregators on their hosts, the server last.
  EXPECT_EQ(e.ranks, 9);
  EXPECT_EQ(e.placement, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  // Client 0 (eu, 5/20 Mbit/s, 30 ms) to the eu aggregator: its own link and the aggregator's.
  const core::PathParams in_region = p.path(0, 6, 1, 1).value();
  EXPECT_DOUBLE_EQ(in_region.latency, 30e-3 + 1e-3);
  EXPECT_DOUBLE_EQ(in_region.bandwidth, 5e6 / 8);
  // The eu aggregator to the server: its link, eu's WAN and the server's link.
  const core::PathParams wan = p.path(6, 8, 1, 1).value();
  EXPECT_DOUBLE_EQ(wan.latency, 1e-3 + 20e-3 + 1e-3);
  EXPECT_DOUBLE_EQ(wan.bandwidth, 1e9 / 8);
  // From an eu client to an asia one: both access links and both WAN links.
  const core::PathParams across = p.path(0, 3, 1, 1).value();
  EXPECT_DOUBLE_EQ(across.latency, 30e-3 + 20e-3 + 80e-3 + 40e-3);
  EXPECT_DOUBLE_EQ(across.bandwidth, 5e6 / 8);
  EXPECT_NE(p.describe().find("aggregators: region eu (WAN"), std::string::npos) << p.describe();
}

// Every client of a region selected: a cloud round is the slower region's model down the WAN, its
// edge rounds (each the slowest client's download from the aggregator, training and upload, then
// the aggregator's average of three), its change up the WAN; then the server's average of two. In
// payload mode, with updates arriving out of selection order (the fibre client first), the server
// finds each region's change bit for bit as its clients' updates make it.
TEST(SimHierarchicalFl, ACloudRoundIsTheSlowestRegionPlusTheServersAverage) {
  const core::Experiment e =
      hierarchical(2, "clients_per_round: 3, edge_rounds: 2, samples: {0-2: 320, 3-5: 96}",
                   "  simulation: {payload: true}\n");
  const core::Model& m = e.require_model();
  const double bytes = static_cast<double>(m.gradient_bytes());
  const double step = testing::federated_step_seconds(m, e.platform.device_of(0));
  struct Client {
    double down, up, latency;
    double samples;
  };
  const Client eu[] = {
      {20e6 / 8, 5e6 / 8, 30e-3, 320}, {20e6 / 8, 5e6 / 8, 30e-3, 320}, {100e6 / 8, 50e6 / 8, 5e-3, 320}};
  const Client asia[] = {
      {40e6 / 8, 8e6 / 8, 40e-3, 96}, {40e6 / 8, 8e6 / 8, 40e-3, 96}, {40e6 / 8, 8e6 / 8, 40e-3, 96}};
  const auto region = [&](const Client(&clients)[3], double wan_rate, double wan_latency, int aggregator) {
    double edge_round = 0;
    for (const Client& c : clients) {
      const double alpha = c.latency + 1e-3;  // the client's link and the aggregator's
      const double task =
          (alpha + bytes / c.down) + std::ceil(c.samples / 32) * step + (alpha + bytes / c.up);
      edge_round = std::max(edge_round, task);
    }
    edge_round += average_seconds(e, aggregator, 3);
    const double wan_alpha = 1e-3 + wan_latency + 1e-3;
    // Down: the model. Up: the region's change and the samples it averaged (a double).
    return (wan_alpha + bytes / wan_rate) + (wan_alpha + (bytes + 8) / wan_rate) + 2 * edge_round;
  };
  const double round =
      std::max(region(eu, 1e9 / 8, 20e-3, 6), region(asia, 500e6 / 8, 80e-3, 7)) + average_seconds(e, 8, 2);

  const auto strategy = strategies::make_strategy(e);
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto rounds = phases(r.trace, 8, "iteration");
  ASSERT_EQ(rounds.size(), 2U);
  for (const auto& [start, end] : rounds) EXPECT_NEAR(end - start, round, round * 1e-9);
  EXPECT_NEAR(strategy->predict().iteration_seconds, round, round * 1e-9);
  EXPECT_EQ(phases(r.trace, 6, "edge-round").size(), 4U);  // 2 cloud rounds × 2 edge rounds
  const core::RunSummary s = core::summarize(r.trace, r.links, strategy->roles());
  EXPECT_NEAR(s.iteration_mean, round, round * 1e-9);
  // Each cloud round: two edge rounds of every client, each trained on its samples once.
  EXPECT_EQ(s.samples_per_iteration, 2 * (3 * 320 + 3 * 96));
  EXPECT_EQ(s.training_ranks, 6);
}

// Two of each region's three clients drawn per edge round (seeded), three edge rounds, real
// floats: each aggregator checks every client's update against the model it sent, the server checks
// each region's change against the one its clients' updates make, and the replay of the draws
// predicts every round.
TEST(SimHierarchicalFl, SeededSelectionsReplayExactlyAndEveryUpdateIsChecked) {
  const core::Experiment e = hierarchical(
      4, "clients_per_round: 2, edge_rounds: 3, local_epochs: 2, samples: {0-1: 320, 2-5: 160}, seed: 7",
      "  slowdown: {1: 3, 4: 2}\n  simulation: {payload: true}\n");
  const auto strategy = strategies::make_strategy(e);
  const sim::SimResult r = testing::simulate_strategy(e);
  const core::RunSummary s = core::summarize(r.trace, r.links, strategy->roles());
  ASSERT_EQ(s.iteration_seconds.size(), 4U);
  EXPECT_NEAR(s.iteration_mean, strategy->predict().iteration_seconds, s.iteration_mean * 1e-9);
  // Every edge round of every region reports its two clients to the aggregator.
  int reports = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "report") {
      EXPECT_TRUE(ev.rank == 6 || ev.rank == 7);
      const int client = ev.attributes.get(core::Attribute::client);
      EXPECT_EQ(client < 3, ev.rank == 6) << "client " << client << " reported to rank " << ev.rank;
      ++reports;
    }
  }
  EXPECT_EQ(reports, 4 * 2 * 3 * 2);
}

// Over-selection with a deadline and dropouts at each aggregator, on two regions of 60 phones with
// a seeded spread of link and compute speeds, eu's phones online 8 s of every 20: every edge round
// draws among its region's idle, online phones and closes at its 8th report or after 1.5 s, late
// updates are discarded (each checked against the model it was computed on, in payload mode) and
// their clients stay busy until they are in, a phone whose window closes mid-task goes offline;
// the replay of the same draws predicts every cloud round, and the server counts the samples each
// region reports it averaged.
TEST(SimHierarchicalFl, DeadlinesOverSelectionDropoutsAndWindowsAtTheAggregatorsReplayExactly) {
  constexpr std::string_view kPhones =
      "{topology: edge, server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}, seed: 5, "
      "regions: {"
      "eu: {wan: {bandwidth: 1Gbps, latency: 10ms}, aggregator: {link: {bandwidth: 10Gbps, latency: 1ms}, "
      "device: cpu}}, "
      "asia: {wan: {bandwidth: 1Gbps, latency: 80ms}, aggregator: {link: {bandwidth: 10Gbps, latency: 1ms}, "
      "device: cpu}}}, "
      "classes: {"
      "eu: {count: 60, link: {down: 20Mbps, up: 5Mbps, latency: 40ms}, device: phone, region: eu, "
      "spread: {compute: 0.4, bandwidth: 0.5}, availability: {period: 20s, online: 8s}}, "
      "asia: {count: 60, link: {down: 40Mbps, up: 10Mbps, latency: 30ms}, device: phone, region: asia, "
      "spread: {compute: 0.4, bandwidth: 0.5}}}}";
  const core::Experiment e =
      hierarchical(12,
                   "clients_per_round: 10, report_goal: 8, deadline: 1.5s, dropout: 0.1, edge_rounds: 2, "
                   "samples: {0-59: 64, 60-119: 128}",
                   "  simulation: {payload: true}\n", kPhones);
  const auto strategy = strategies::make_strategy(e);
  const sim::SimResult r = testing::simulate_strategy(e);
  const core::RunSummary s = core::summarize(r.trace, r.links, strategy->roles());
  ASSERT_EQ(s.iteration_seconds.size(), 12U);
  EXPECT_NEAR(s.iteration_mean, strategy->predict().iteration_seconds, s.iteration_mean * 1e-9);
  std::map<std::string, int> marks;
  double samples = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane != core::Lane::phase || ev.start != ev.end || (ev.rank != 120 && ev.rank != 121)) continue;
    const std::string name(r.trace.text(ev.name));
    ++marks[name];
    const int client = ev.attributes.get(core::Attribute::client);
    EXPECT_EQ(client < 60, ev.rank == 120) << name << " of client " << client << " at rank " << ev.rank;
    if (name == "report") samples += client < 60 ? 64 : 128;
  }
  EXPECT_GT(marks["report"], 0);
  EXPECT_GT(marks["late"], 0);
  EXPECT_GT(marks["dropped"], 0);
  EXPECT_GT(marks["offline"], 0);
  // No edge round averages more than its goal.
  EXPECT_LE(marks["report"], 12 * 2 * 2 * 8);
  EXPECT_EQ(s.samples_per_iteration, std::llround(samples / 12));
}

// The same population as one flat FedAvg on the same platform: the server is the last host, the
// aggregators' hosts stay idle, and every client's path to the server crosses its region's WAN.
TEST(SimHierarchicalFl, FlatFedAvgOnTheSamePlatformPutsTheServerOnItsOwnHost) {
  const core::Experiment e = testing::experiment_from_yaml(
      fmt::format("experiment:\n  platform: {}\n  model: {}\n  iterations: 2\n  strategy: "
                  "{{type: federated, clients_per_round: 6, samples: 64}}\n",
                  kPlatform, kModel));
  EXPECT_EQ(e.ranks, 7);
  EXPECT_EQ(e.placement, (std::vector<int>{0, 1, 2, 3, 4, 5, 8}));
  const auto strategy = strategies::make_strategy(e);
  const sim::SimResult r = testing::simulate_strategy(e);
  const core::RunSummary s = core::summarize(r.trace, r.links, strategy->roles());
  EXPECT_NEAR(s.iteration_mean, strategy->predict().iteration_seconds, s.iteration_mean * 1e-9);
}

// kPlatform written as a star with sites (what `dmlsim calibrate` writes for it): hosts 0-5 the
// clients (eu 0-2, asia 3-5), 6 and 7 the aggregators, 8 the server. Its paths are the edge
// platform's, and it simulates the same rounds.
TEST(SimHierarchicalFl, AStarWithSitesIsTheEdgePlatformItSpellsOut) {
  constexpr std::string_view kStar =
      "{topology: star, hosts: 9, link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu, host_links: {"
      "0-1: {down: 20Mbps, up: 5Mbps, latency: 30ms}, 2: {down: 100Mbps, up: 50Mbps, latency: 5ms}, "
      "3-5: {down: 40Mbps, up: 8Mbps, latency: 40ms}}, sites: {"
      "region eu: {uplink: {bandwidth: 1Gbps, latency: 20ms}, hosts: [0, 1, 2, 6], aggregator: 6}, "
      "region asia: {uplink: {bandwidth: 500Mbps, latency: 80ms}, hosts: [3, 4, 5, 7], aggregator: 7}}}";
  const std::string fields = "clients_per_round: 2, edge_rounds: 2, samples: 64, deadline: 3s, seed: 3";
  const core::Experiment edge = hierarchical(3, fields);
  const core::Experiment star = hierarchical(3, fields, "", kStar);
  EXPECT_EQ(star.ranks, edge.ranks);
  EXPECT_EQ(star.placement, edge.placement);
  EXPECT_EQ(star.platform.aggregator_hosts(), edge.platform.aggregator_hosts());
  for (int a = 0; a < 9; ++a) {
    for (int b = 0; b < 9; ++b) {
      if (a == b) continue;
      const core::PathParams x = edge.platform.path(a, b, 1, 1).value(),
                             y = star.platform.path(a, b, 1, 1).value();
      EXPECT_DOUBLE_EQ(x.latency, y.latency) << a << " → " << b;
      EXPECT_DOUBLE_EQ(x.bandwidth, y.bandwidth) << a << " → " << b;
    }
  }
  // One simulation per process: the star's, against the edge platform's seeded replay (which
  // equals its simulation: SeededSelectionsReplayExactlyAndEveryUpdateIsChecked).
  const double edge_round = strategies::make_strategy(edge)->predict().iteration_seconds;
  EXPECT_DOUBLE_EQ(strategies::make_strategy(star)->predict().iteration_seconds, edge_round);
  const auto strategy = strategies::make_strategy(star);
  const sim::SimResult r = testing::simulate_strategy(star);
  const core::RunSummary summary = core::summarize(r.trace, r.links, strategy->roles());
  EXPECT_NEAR(summary.iteration_mean, edge_round, edge_round * 1e-9);
  // The clients' updates the aggregators averaged in, by the end of the last cloud round.
  std::int64_t client_reports = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "report") {
      EXPECT_LT(ev.attributes.get(core::Attribute::client), 6);
      ++client_reports;
    }
  }
  ASSERT_EQ(summary.updates_aggregated.size(), 3u);
  EXPECT_EQ(summary.updates_aggregated.back(), client_reports);
  EXPECT_GT(client_reports, 0);
}

struct BadCase {
  const char* name;
  const char* strategy;
  const char* expected;
  const char* platform = nullptr;  // kPlatform when null
};
void PrintTo(const BadCase& c, std::ostream* out) {
  *out << c.name;
}

class HierarchicalBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(HierarchicalBadInput, IsOneErrorNamingTheField) {
  const BadCase& c = GetParam();
  try {
    const core::Experiment e = testing::experiment_from_yaml(
        fmt::format("experiment:\n  platform: {}\n  model: {}\n  strategy: {{type: federated, {}}}\n",
                    c.platform ? c.platform : kPlatform, kModel, c.strategy));
    strategies::make_strategy(e);
    FAIL() << "expected an error";
  } catch (const core::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find(c.expected), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("test-experiment.yaml:"), std::string::npos) << err.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HierarchicalBadInput,
    ::testing::Values(
        BadCase{"selection_larger_than_a_region", "mode: hierarchical, clients_per_round: 4, samples: 10",
                "'experiment.strategy.clients_per_round': 4 clients per region and edge round, but region eu "
                "has 3"},
        BadCase{"no_aggregators", "mode: hierarchical, clients_per_round: 1, samples: 10",
                "'experiment.strategy.mode': mode hierarchical needs regional aggregators",
                "{topology: edge, server: {link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu}, "
                "classes: {a: {count: 3, link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu}}}"},
        BadCase{"edge_rounds_in_fedavg", "clients_per_round: 1, samples: 10, edge_rounds: 2",
                "'experiment.strategy.edge_rounds': belongs to mode hierarchical"},
        BadCase{"buffer_in_hierarchical", "mode: hierarchical, clients_per_round: 1, samples: 10, buffer: 3",
                "'experiment.strategy.buffer': belongs to mode fedbuff (mode is hierarchical)"},
        BadCase{
            "dropout_without_deadline", "mode: hierarchical, clients_per_round: 1, samples: 10, dropout: 0.1",
            "'experiment.strategy.dropout': clients that drop out never report: give the round a 'deadline'"},
        BadCase{
            "regions_with_and_without_aggregators", "clients_per_round: 1, samples: 10",
            "'experiment.platform.regions.asia': region 'asia' has no aggregator and region 'eu' has one",
            "{topology: edge, server: {link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu}, "
            "regions: {eu: {wan: {bandwidth: 1Gbps, latency: 20ms}, aggregator: {link: {bandwidth: 1Gbps, "
            "latency: 1ms}, device: cpu}}, asia: 80ms}, "
            "classes: {a: {count: 3, link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu, region: eu}}}"},
        BadCase{
            "class_without_region", "clients_per_round: 1, samples: 10",
            "'experiment.platform.classes.a': the platform's regions have aggregators: give the class its "
            "'region'",
            "{topology: edge, server: {link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu}, "
            "regions: {eu: {wan: {bandwidth: 1Gbps, latency: 20ms}, aggregator: {link: {bandwidth: 1Gbps, "
            "latency: 1ms}, device: cpu}}}, "
            "classes: {a: {count: 3, link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu}}}"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace dmlsim
