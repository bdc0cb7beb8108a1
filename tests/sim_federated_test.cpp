// Federated learning (strategies/federated/): rounds against the closed form on a star of
// heterogeneous clients, over-selection's order statistic, deadlines and dropouts with real
// updates checked, FedBuff's aggregations and staleness traced by hand, and bad input.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "core/errors.hpp"
#include "core/summary.hpp"
#include "sim_helpers.hpp"
#include "strategies/federated/federated_plan.hpp"

namespace dmlsim {
namespace {

constexpr std::string_view kModel =
    "{type: mlp, name: fl-mlp, widths: [256, 512, 10], batch: 32, dtype: fp32}";

core::Experiment federated(const std::string& platform, int clients, int rounds, const std::string& strategy,
                           const std::string& extra = "") {
  return testing::experiment_from_yaml(
      fmt::format("experiment:\n  platform: {}\n  model: {}\n  ranks: {}\n  iterations: {}\n  strategy: "
                  "{{type: federated, {}}}\n{}",
                  platform, kModel, clients, rounds, strategy, extra));
}

double aggregation_seconds(const core::Experiment& e, int updates) {
  const core::Model& m = e.require_model();
  return e.platform.device_of(e.placement.back())
      .kernel_seconds(core::elementwise("aggregate", m.parameters() * updates, m.dtype, 2, 2));
}

// The server's rounds (its "iteration" phases), start and end.
std::vector<std::pair<double, double>> rounds_of(const core::Trace& trace, int server) {
  std::vector<std::pair<double, double>> out;
  for (const core::TraceEvent& e : trace.events()) {
    if (e.lane == core::Lane::phase && e.rank == server && trace.text(e.name) == "iteration")
      out.emplace_back(e.start, e.end);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// (round, client) of the server's zero-length phases named `name` ("report", "late", ...).
std::vector<std::pair<int, int>> marks(const core::Trace& trace, std::string_view name) {
  std::vector<std::pair<int, int>> out;
  for (const core::TraceEvent& e : trace.events()) {
    if (e.lane == core::Lane::phase && trace.text(e.name) == name)
      out.emplace_back(e.iteration, e.attributes.get(core::Attribute::client));
  }
  return out;
}

// Four clients of three link classes, two device classes and a straggler, all selected, behind a
// server on a fast link: a round is max over clients of (model down + local training + update up)
// plus the server's average — each transfer α + bytes / its bottleneck (the client's own link: the
// server's 10 Gbps, shared by four downloads, is never one).
TEST(SimFederated, ARoundIsTheSlowestClientsTaskPlusTheAggregation) {
  const std::string platform =
      "{topology: star, hosts: 5, link: {down: 20Mbps, up: 5Mbps, latency: 10ms}, device: cpu, "
      "host_links: {1: {down: 50Mbps, up: 10Mbps, latency: 30ms}, 2: {bandwidth: 100Mbps, latency: 2ms}, "
      "4: {bandwidth: 10Gbps, latency: 1ms}}, host_devices: {2: a100}}";
  const core::Experiment e =
      federated(platform, 4, 2, "clients_per_round: 4, local_epochs: 2, samples: {0-1: 640, 2-3: 160}",
                "  slowdown: {3: 3}\n");
  const core::Model& m = e.require_model();
  const double bytes = static_cast<double>(m.gradient_bytes());
  struct Client {
    double down, up, latency, slowdown;
    std::int64_t samples;
    const char* device;
  };
  const Client clients[] = {{20e6 / 8, 5e6 / 8, 10e-3, 1, 640, "cpu"},
                            {50e6 / 8, 10e6 / 8, 30e-3, 1, 640, "cpu"},
                            {100e6 / 8, 100e6 / 8, 2e-3, 1, 160, "a100"},
                            {20e6 / 8, 5e6 / 8, 10e-3, 3, 160, "cpu"}};
  double slowest = 0;
  for (int c = 0; c < 4; ++c) {
    const Client& k = clients[c];
    const double alpha = k.latency + 1e-3;  // the client's link and the server's
    const double steps = 2.0 * std::ceil(static_cast<double>(k.samples) / 32);
    const double task = (alpha + bytes / k.down) +
                        steps * testing::federated_step_seconds(m, e.platform.device_of(c)) * k.slowdown +
                        (alpha + bytes / k.up);
    slowest = std::max(slowest, task);
  }
  const double round = slowest + aggregation_seconds(e, 4);

  const auto strategy = strategies::make_strategy(e);
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto rounds = rounds_of(r.trace, 4);
  ASSERT_EQ(rounds.size(), 2U);
  for (const auto& [start, end] : rounds) EXPECT_NEAR(end - start, round, round * 1e-9);
  EXPECT_NEAR(strategy->predict().iteration_seconds, round, round * 1e-9);
  // The summary takes its iterations from the server, the one rank that marks them.
  const core::RunSummary s = core::summarize(r.trace, r.links, strategy->roles());
  EXPECT_NEAR(s.iteration_mean, round, round * 1e-9);
  EXPECT_EQ(s.samples_per_iteration, 2 * (640 + 640 + 160 + 160));
  EXPECT_EQ(marks(r.trace, "report").size(), 8U);
}

// A population read from a client trace (four clients, each its own down and up rate, latency and
// speed as a factor of the class's device): a round is the slowest task, each task costed with
// that client's own figures.
TEST(SimFederated, ATracedPopulationTrainsAtEachClientsOwnFigures) {
  testing::ScratchDir dir("federated-traced");
  testing::write_file(dir / "clients.csv",
                      "down,up,latency,compute\n"
                      "20Mbps,5Mbps,10ms,1\n"
                      "50Mbps,10Mbps,30ms,0.5\n"
                      "100Mbps,100Mbps,2ms,2\n"
                      "8Mbps,2Mbps,10ms,1.5\n");
  testing::write_file(dir / "edge.yaml", R"(platform:
  topology: edge
  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
  classes:
    traced: {trace: clients.csv, link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu}
)");
  const core::Experiment e =
      federated((dir / "edge.yaml").string(), 4, 2, "clients_per_round: 4, local_epochs: 2, samples: 320");
  const core::Model& m = e.require_model();
  const double bytes = static_cast<double>(m.gradient_bytes());
  const double cpu_step =
      testing::federated_step_seconds(m, e.platform.device_of(4));  // the server's: the class's device
  struct Client {
    double down, up, latency, speed;
  };
  const Client clients[] = {{20e6 / 8, 5e6 / 8, 10e-3, 1},
                            {50e6 / 8, 10e6 / 8, 30e-3, 0.5},
                            {100e6 / 8, 100e6 / 8, 2e-3, 2},
                            {8e6 / 8, 2e6 / 8, 10e-3, 1.5}};
  double slowest = 0;
  for (const Client& k : clients) {
    const double alpha = k.latency + 1e-3;  // the client's link and the server's
    const double task = (alpha + bytes / k.down) + 2 * 10 * cpu_step / k.speed + (alpha + bytes / k.up);
    slowest = std::max(slowest, task);
  }
  const double round = slowest + aggregation_seconds(e, 4);
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto rounds = rounds_of(r.trace, 4);
  ASSERT_EQ(rounds.size(), 2U);
  for (const auto& [start, end] : rounds) EXPECT_NEAR(end - start, round, round * 1e-9);
  EXPECT_NEAR(strategies::make_strategy(e)->predict().iteration_seconds, round, round * 1e-9);
}

// Eight clients; 0–3 come and go (six windows of 2.5 tasks every 3 tasks, each client's shifted),
// 4–7 are always online. Returns the platform file.
std::string traced_windows_platform(const testing::ScratchDir& dir, double task, const std::string& classes) {
  std::string windows = "client,from,to\n";
  for (int c = 0; c < 4; ++c) {
    for (int w = 0; w < 6; ++w) {
      const double from = (3 * w + 0.7 * c) * task;
      windows += fmt::format("{},{:.12f},{:.12f}\n", c, from, from + 2.5 * task);
    }
  }
  testing::write_file(dir / "online.csv", windows);
  testing::write_file(dir / "edge.yaml", fmt::format(R"(platform:
  topology: edge
  server: {{link: {{bandwidth: 100Gbps, latency: 1us}}, device: cpu}}
  classes:
    {}
)",
                                                     classes));
  return (dir / "edge.yaml").string();
}

constexpr const char* kComing =
    "coming: {count: 4, link: {bandwidth: 1Gbps, latency: 1us}, device: cpu, availability: online.csv}";

// The time of one client's task on the class's cpu: 10 steps.
double cpu_task_seconds() {
  const core::Experiment probe = federated(testing::star_platform(2, "10Gbps", "1us", "cpu"), 1, 1,
                                           "clients_per_round: 1, samples: 320");
  return 10 * testing::federated_step_seconds(probe.require_model(), probe.platform.device_of(0));
}

// Windows from an availability trace decide who is drawn: a client trains only inside its windows
// and one whose window closes mid-task goes offline; the replay predicts the simulation.
TEST(SimFederated, TracedWindowsDecideWhoIsDrawn) {
  testing::ScratchDir dir("federated-windows");
  const double task = cpu_task_seconds();
  const core::Experiment e =
      federated(traced_windows_platform(
                    dir, task,
                    std::string(kComing) +
                        "\n    staying: {count: 4, link: {bandwidth: 1Gbps, latency: 1us}, device: cpu}"),
                8, 12, fmt::format("clients_per_round: 3, deadline: {:.12f}s, samples: 320", 3 * task),
                "  simulation: {payload: true}\n");
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto online = [&](int client, double t) { return e.platform.online_until(e.placement[client], t); };
  int offline = 0, uploads_of_traced = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.rank >= 8) continue;
    const std::string_view name = r.trace.text(ev.name);
    if (ev.lane == core::Lane::phase && name == "upload") {
      EXPECT_TRUE(online(ev.rank, ev.start))
          << "client " << ev.rank << " trained past its window at " << ev.start;
      if (ev.rank < 4) ++uploads_of_traced;
    }
    if (ev.lane == core::Lane::mark && name == "offline") {
      ++offline;
      EXPECT_FALSE(online(ev.rank, ev.start)) << "client " << ev.rank << " at " << ev.start;
    }
  }
  EXPECT_GT(uploads_of_traced, 0);
  EXPECT_GT(offline, 0) << "windows close on some tasks";
  const auto strategy = strategies::make_strategy(e);
  const double simulated = core::summarize(r.trace, r.links, strategy->roles()).iteration_mean;
  EXPECT_NEAR(strategy->predict().iteration_seconds, simulated, simulated * 1e-9);
}

// FedBuff on clients that come and go (the four traced clients of traced_windows_platform): only
// online clients are drawn, a slot freed by a client that went offline goes to another, and slots
// left free while too few clients are online wait for the next window: at the start only client 0
// is online, and clients 1 and 2 get their first tasks as their windows open (0.7 and 1.4 tasks in).
// No more than `clients_per_round` train at once, and every aggregation has its buffer. Tasks of
// 100 steps here, so that the model's transfers are short beside the training.
TEST(SimFederated, FedBuffDrawsOnlineClientsAndFillsSlotsAsWindowsOpen) {
  testing::ScratchDir dir("federated-fedbuff-windows");
  const double task = 10 * cpu_task_seconds();
  const core::Experiment e = federated(traced_windows_platform(dir, task, kComing), 4, 6,
                                       "mode: fedbuff, clients_per_round: 3, buffer: 2, max_staleness: 100, "
                                       "samples: 3200",
                                       "  simulation: {payload: true}\n");
  const double transfer = static_cast<double>(e.require_model().gradient_bytes()) * 8 / 1e9;
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto online = [&](int client, double t) { return e.platform.online_until(e.placement[client], t); };
  std::map<int, double> first_training;
  std::vector<std::pair<double, int>> edges;  // +1 at a training's start, −1 at its end
  int offline = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.rank >= 4) continue;
    const std::string_view name = r.trace.text(ev.name);
    if (ev.lane == core::Lane::phase && name == "local-training") {
      if (!first_training.contains(ev.rank)) first_training[ev.rank] = ev.start;
      edges.emplace_back(ev.start, 1);
      edges.emplace_back(ev.end, -1);
    }
    if (ev.lane == core::Lane::phase && name == "upload") {
      EXPECT_TRUE(online(ev.rank, ev.start))
          << "client " << ev.rank << " trained past its window at " << ev.start;
    }
    if (ev.lane == core::Lane::mark && name == "offline") {
      ++offline;
      EXPECT_FALSE(online(ev.rank, ev.start)) << "client " << ev.rank << " at " << ev.start;
    }
  }
  EXPECT_GT(offline, 0) << "windows close on some tasks";
  std::sort(edges.begin(), edges.end());  // ends (−1) before starts at the same time
  int training = 0, most = 0;
  for (const auto& [t, delta] : edges) most = std::max(most, training += delta);
  EXPECT_EQ(most, 3) << "clients_per_round train at once, never more";
  ASSERT_TRUE(first_training.contains(1) && first_training.contains(2));
  EXPECT_GE(first_training[1], 0.7 * task);
  EXPECT_LE(first_training[1], 0.7 * task + 2 * transfer) << "a free slot waits for client 1's window";
  EXPECT_GE(first_training[2], 1.4 * task);
  EXPECT_LE(first_training[2], 1.4 * task + 2 * transfer);
  EXPECT_EQ(marks(r.trace, "update").size() + marks(r.trace, "stale").size(), 6U * 2)
      << "every aggregation takes its buffer (max_staleness high: none stale)";
}

// Past every client's last window no round can start: one error naming the platform file, from the
// simulation and from the replay (before, the server would have waited for ever).
TEST(SimFederated, RunningPastTheTracedWindowsIsOneError) {
  testing::ScratchDir dir("federated-past-windows");
  const double task = cpu_task_seconds();
  const core::Experiment past =
      federated(traced_windows_platform(dir, task, kComing), 4, 200,
                fmt::format("clients_per_round: 3, deadline: {:.12f}s, samples: 320", 3 * task));
  const std::string expected = (dir / "edge.yaml").string() + ": no client is online after";
  try {
    strategies::make_strategy(past)->predict();
    ADD_FAILURE() << "the replay ran past the traces";
  } catch (const core::ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).find(expected), 0U) << error.what();
  }
  try {
    testing::simulate_strategy(past);
    ADD_FAILURE() << "the simulation ran past the traces";
  } catch (const std::exception& error) {
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
  }
}

// Five equal clients but for their speed (slowdown 5, 1, 4, 2, 3), all selected, the round closing
// at the third report: it ends with the third-fastest task. Clients 0 and 2 are then late: the next
// round selects only the three idle ones and takes their late updates without averaging them. The
// downloads of a round start together and share the server's link.
TEST(SimFederated, OverSelectionClosesTheRoundAtTheKthReport) {
  const core::Experiment e =
      federated(testing::star_platform(6, "10Gbps", "1us", "cpu"), 5, 2,
                "clients_per_round: 5, report_goal: 3, samples: 320",
                "  slowdown: {0: 5, 1: 1, 2: 4, 3: 2, 4: 3}\n  simulation: {payload: true}\n");
  const double transfer = static_cast<double>(e.require_model().gradient_bytes()) * 8 / 10e9;
  const double training = 10 * testing::federated_step_seconds(e.require_model(), e.platform.device_of(0));
  // α = 2 × 1 µs each way; `selected` downloads share the server's 10 Gbps.
  const auto task = [&](double slowdown, int selected) {
    return 2e-6 + selected * transfer + slowdown * training + 2e-6 + transfer;
  };
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto rounds = rounds_of(r.trace, 5);
  ASSERT_EQ(rounds.size(), 2U);
  // Round 0 ends with client 4 (slowdown 3); round 1 selects clients 1, 3, 4 and waits for all three.
  const double round0 = task(3, 5) + aggregation_seconds(e, 3),
               round1 = task(3, 3) + aggregation_seconds(e, 3);
  EXPECT_NEAR(rounds[0].second - rounds[0].first, round0, round0 * 1e-9);
  EXPECT_NEAR(rounds[1].second - rounds[1].first, round1, round1 * 1e-9);
  EXPECT_EQ(marks(r.trace, "report"),
            (std::vector<std::pair<int, int>>{{0, 1}, {0, 3}, {0, 4}, {1, 1}, {1, 3}, {1, 4}}));
  EXPECT_EQ(marks(r.trace, "late"), (std::vector<std::pair<int, int>>{{1, 2}, {1, 0}}));
  // The time to reach each round, and the updates averaged in by then (late ones are not).
  const core::RunSummary s = core::summarize(r.trace, r.links, strategies::make_strategy(e)->roles());
  EXPECT_EQ(s.iteration_ends, (std::vector<double>{rounds[0].second, rounds[1].second}));
  EXPECT_NEAR(s.iteration_ends[1], round0 + round1, (round0 + round1) * 1e-9);
  EXPECT_EQ(s.updates_aggregated, (std::vector<std::int64_t>{3, 6}));
  const double mean = (round0 + round1) / 2;
  EXPECT_NEAR(strategies::make_strategy(e)->predict().iteration_seconds, mean, mean * 1e-9);
}

// A deadline shorter than the slowest task closes every round at the deadline, whatever dropped out;
// every dropout the server counts is one a client performed, and real updates — late ones included,
// against the model version they were computed on — check out.
TEST(SimFederated, ADeadlineClosesTheRoundAndDropoutsAreNeverAwaited) {
  const std::string platform = testing::star_platform(9, "10Gbps", "1us", "cpu");
  const auto make = [&](const std::string& deadline) {
    return federated(
        platform, 8, 6,
        fmt::format("clients_per_round: 5, deadline: {}, dropout: 0.3, seed: 7, samples: 320", deadline),
        "  slowdown: {0: 3, 1: 1, 2: 2, 3: 3, 4: 1, 5: 2, 6: 3, 7: 1}\n  simulation: {payload: true}\n");
  };
  const core::Experiment probe = make("1s");
  const double training =
      10 * testing::federated_step_seconds(probe.require_model(), probe.platform.device_of(0));
  const double deadline = 2 * training;  // clients of slowdown 1 make it, those of 3 never do
  const core::Experiment e = make(fmt::format("{:.12f}s", deadline));
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto rounds = rounds_of(r.trace, 8);
  ASSERT_EQ(rounds.size(), 6U);
  for (const auto& [start, end] : rounds) {
    const double agg = end - start - deadline;  // the average of what came in
    EXPECT_GT(agg, -1e-12);
    EXPECT_LE(agg, aggregation_seconds(e, 5) + 1e-12);
  }
  std::size_t client_dropouts = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::mark && ev.rank < 8 && r.trace.text(ev.name) == "dropped") ++client_dropouts;
  }
  EXPECT_GT(client_dropouts, 0U);
  EXPECT_EQ(marks(r.trace, "dropped").size(), client_dropouts);
  EXPECT_FALSE(marks(r.trace, "late").empty());
}

// FedBuff with every client always training (so the draws cannot choose): tasks of 1, 2.6 and 4.2
// units, two updates per aggregation, staleness at most 1. By hand: c0 at 1 and 2 (staleness 0, 0)
// → aggregation 1 at 2; c1 at 2.6 (1) and c0 at 3 (1) → aggregation 2 at 3; c0 at 4 (1), c2 at 4.2
// (2: discarded), c0 at 5 (0) → aggregation 3 at 5.
TEST(SimFederated, FedBuffAggregatesEveryBufferAndDiscardsStaleUpdates) {
  const core::Experiment e =
      federated(testing::star_platform(4, "1000Gbps", "1ns", "cpu"), 3, 3,
                "mode: fedbuff, clients_per_round: 3, buffer: 2, max_staleness: 1, staleness_exponent: 0.5, "
                "samples: 3200",
                "  slowdown: {0: 1, 1: 2.6, 2: 4.2}\n  simulation: {payload: true}\n");
  // Transfers at 1 Tbps take 4 µs, a unit (100 steps) 42 ms.
  const double unit = 100 * testing::federated_step_seconds(e.require_model(), e.platform.device_of(0));
  const sim::SimResult r = testing::simulate_strategy(e);
  std::vector<std::tuple<int, int, int>> seen;  // (aggregation, client, staleness)
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane != core::Lane::phase) continue;
    const std::string_view name = r.trace.text(ev.name);
    if (name != "update" && name != "stale") continue;
    seen.emplace_back(ev.iteration, ev.attributes.get(core::Attribute::client),
                      name == "stale" ? -ev.attributes.get(core::Attribute::staleness)
                                      : ev.attributes.get(core::Attribute::staleness));
  }
  EXPECT_EQ(seen, (std::vector<std::tuple<int, int, int>>{
                      {0, 0, 0}, {0, 0, 0}, {1, 1, 1}, {1, 0, 1}, {2, 0, 1}, {2, 2, -2}, {2, 0, 0}}));
  const auto rounds = rounds_of(r.trace, 3);
  ASSERT_EQ(rounds.size(), 3U);
  const double ends[] = {2, 3, 5};
  // Off by the transfers (4 µs each) and the server's averaging (0.16 ms each on its CPU).
  for (std::size_t a = 0; a < 3; ++a)
    EXPECT_NEAR(rounds[a].second / unit, ends[a], 0.01) << "aggregation " << a;
  // Two updates aggregated per aggregation; the stale one is not.
  const core::RunSummary s = core::summarize(r.trace, r.links, strategies::make_strategy(e)->roles());
  EXPECT_EQ(s.iteration_ends, (std::vector<double>{rounds[0].second, rounds[1].second, rounds[2].second}));
  EXPECT_EQ(s.updates_aggregated, (std::vector<std::int64_t>{2, 4, 6}));
}

// 200 clients of an edge platform (two classes in two regions, every client its own speed),
// over-selection with a deadline and dropouts: the closed form replays the server's draws and
// predicts the mean round; the summary counts each round's reports, late updates and dropouts and
// the samples the averaged updates trained on.
TEST(SimFederated, OnAnEdgePopulationTheReplayPredictsTheRoundsAndTheSummaryCountsThem) {
  const std::string platform =
      "{topology: edge, server: {link: {bandwidth: 1Gbps, latency: 1ms}, device: cpu}, "
      "regions: {eu: 10ms, asia: 80ms}, seed: 3, classes: {"
      "lte: {count: 120, link: {down: 20Mbps, up: 5Mbps, latency: 40ms}, device: phone, region: asia, "
      "spread: {compute: 0.4, bandwidth: 0.5}}, "
      "wifi: {count: 80, link: {down: 100Mbps, up: 20Mbps, latency: 10ms}, device: phone, region: eu, "
      "spread: {compute: 0.4, bandwidth: 0.5}}}}";
  const core::Experiment e = federated(platform, 200, 8,
                                       "clients_per_round: 30, report_goal: 25, deadline: 2s, dropout: 0.1, "
                                       "samples: {0-99: 320, 100-199: 640}");
  const auto strategy = strategies::make_strategy(e);
  const sim::SimResult r = testing::simulate_strategy(e);
  const core::RunSummary s = core::summarize(r.trace, r.links, strategy->roles());
  ASSERT_EQ(s.iteration_seconds.size(), 8U);
  EXPECT_NEAR(s.iteration_mean, strategy->predict().iteration_seconds, s.iteration_mean * 1e-9);

  ASSERT_EQ(s.iteration_marks.size(), 8U);
  std::map<std::string, int> counted;
  for (const auto& round : s.iteration_marks) {
    for (const auto& [name, n] : round) counted[name] += n;
  }
  EXPECT_EQ(counted["report"], static_cast<int>(marks(r.trace, "report").size()));
  EXPECT_EQ(counted["dropped"], static_cast<int>(marks(r.trace, "dropped").size()));
  EXPECT_GT(counted["dropped"], 0);
  double samples = 0;
  for (const auto& [round, client] : marks(r.trace, "report")) samples += client < 100 ? 320 : 640;
  EXPECT_EQ(s.samples_per_iteration, std::llround(samples / 8));
}

// Clients online 4 T of every 10 T (T: one task's training, 320 samples; half the clients have
// 640), each from its own offset: a round draws only among online clients, and a client whose
// window closes before it has trained goes offline — it never reports, and it is free to be drawn
// again once its window reopens. Every offline mark is at a moment its client's window is closed,
// every reported task was trained inside a window, and the replay predicts the mean round (the
// clients' 1 Gbit/s links are the bottleneck, the server's 100 Gbit/s never is).
TEST(SimFederated, OnlyOnlineClientsAreDrawnAndAClosingWindowEndsTheTask) {
  const core::Experiment probe = federated(testing::star_platform(2, "10Gbps", "1us", "cpu"), 1, 1,
                                           "clients_per_round: 1, samples: 320");
  const double task =
      10 * testing::federated_step_seconds(probe.require_model(), probe.platform.device_of(0));
  const double transfer = static_cast<double>(probe.require_model().gradient_bytes()) * 8 / 1e9;
  const std::string platform = fmt::format(
      "{{topology: edge, server: {{link: {{bandwidth: 100Gbps, latency: 1us}}, device: cpu}}, seed: 5, "
      "classes: "
      "{{phone: {{count: 40, link: {{bandwidth: 1Gbps, latency: 1us}}, device: cpu, availability: "
      "{{period: {:.12f}s, online: {:.12f}s}}}}}}}}",
      10 * task, 4 * task);
  const core::Experiment e =
      federated(platform, 40, 40,
                fmt::format("clients_per_round: 6, deadline: {:.12f}s, samples: {{0-19: 320, 20-39: 640}}",
                            2 * transfer + 1.5 * task),
                "  simulation: {payload: true}\n");
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto online = [&](int client, double t) { return e.platform.online_until(e.placement[client], t); };
  int offline = 0, trained = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.rank >= 40) continue;
    const std::string_view name = r.trace.text(ev.name);
    if (ev.lane == core::Lane::mark && name == "offline") {
      ++offline;
      EXPECT_FALSE(online(ev.rank, ev.start)) << "client " << ev.rank << " at " << ev.start;
    }
    if (ev.lane == core::Lane::phase && name == "upload") {
      ++trained;  // its training ended inside the window it started in
      EXPECT_TRUE(online(ev.rank, ev.start)) << "client " << ev.rank << " at " << ev.start;
    }
  }
  EXPECT_GT(offline, 0);
  EXPECT_GT(trained, 40);
  EXPECT_EQ(static_cast<int>(marks(r.trace, "offline").size()), offline) << "the server freed every one";
  const auto strategy = strategies::make_strategy(e);
  const double simulated = core::summarize(r.trace, r.links, strategy->roles()).iteration_mean;
  EXPECT_NEAR(strategy->predict().iteration_seconds, simulated, simulated * 1e-9);
}

// Clients that go offline never report: FedAvg with availability needs a round deadline, and says
// so at the strategy; FedBuff needs none (a client that leaves says so, and its slot goes to
// another). Windows as long as the period are no windows.
TEST(SimFederated, AvailabilityNeedsADeadlineInFedAvg) {
  const auto platform = [](const char* online) {
    return fmt::format(
        "{{topology: edge, server: {{link: {{bandwidth: 1Gbps, latency: 1ms}}, device: cpu}}, classes: "
        "{{phone: "
        "{{count: 4, link: {{bandwidth: 100Mbps, latency: 1ms}}, device: phone, availability: {{period: 24h, "
        "online: {}}}}}}}}}",
        online);
  };
  const auto error_of = [&](const char* online, const std::string& strategy) -> std::string {
    try {
      strategies::make_strategy(federated(platform(online), 4, 1, strategy));
    } catch (const core::ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of("8h", "clients_per_round: 2, samples: 10").find("give the round a 'deadline'"),
            std::string::npos);
  EXPECT_EQ(error_of("8h", "mode: fedbuff, clients_per_round: 2, buffer: 2, samples: 10"), "");
  EXPECT_EQ(error_of("24h", "clients_per_round: 2, samples: 10"), "");
}

TEST(FederatedPlan, DrawsAreDistinctMembersAndReproducible) {
  const std::vector<int> pool = {3, 5, 8, 13, 21, 34, 55, 89};
  const std::vector<int> a = strategies::sample_clients(42, 7, pool, 5);
  EXPECT_EQ(a, strategies::sample_clients(42, 7, pool, 5));
  EXPECT_NE(a, strategies::sample_clients(42, 8, pool, 5));
  EXPECT_EQ(std::set<int>(a.begin(), a.end()).size(), 5U);
  for (const int c : a) EXPECT_NE(std::find(pool.begin(), pool.end(), c), pool.end());
  EXPECT_EQ(strategies::sample_clients(1, 0, pool, 20).size(), pool.size());
  // Uniform: over many draws every member is picked about count / size of the time.
  std::map<int, int> picked;
  for (std::uint64_t d = 0; d < 8000; ++d) {
    for (const int c : strategies::sample_clients(9, d, pool, 2)) ++picked[c];
  }
  for (const int c : pool) EXPECT_NEAR(picked[c], 2000, 150) << c;
}

// The server's average of weighted updates does not depend on the order they arrived in (an
// aggregator's is checked bit for bit against its server's recomputation), and averaging regions'
// averages by their samples is the flat average of every client (hierarchical FL with one edge round
// and every client selected is FedAvg), to float rounding.
TEST(FederatedPlan, WeightedAveragesIgnoreArrivalOrderAndNestLikeTheFlatOne) {
  const std::vector<std::vector<float>> u = {
      {0.5F, -1.25F, 3.0F}, {0.1F, 0.2F, 0.3F}, {-2.0F, 7.5F, 0.125F}, {1e-3F, 4.0F, -0.75F}};
  const std::vector<double> n = {320, 96, 640, 17};
  std::vector<strategies::WeightedUpdate> all;
  for (int c = 0; c < 4; ++c) all.push_back({c, n[c], u[static_cast<std::size_t>(c)]});
  std::vector<float> flat = {1, 1, 1}, reversed = {1, 1, 1};
  strategies::add_weighted_average(flat, all);
  strategies::add_weighted_average(reversed, {all.rbegin(), all.rend()});
  EXPECT_EQ(flat, reversed);  // bit for bit
  for (std::size_t k = 0; k < 3; ++k) {
    double expected = 0;
    for (std::size_t c = 0; c < 4; ++c) expected += n[c] * u[c][k];
    EXPECT_NEAR(flat[k], 1 + expected / (320 + 96 + 640 + 17), 1e-6);
  }
  // Two regions, {0, 2} and {1, 3}: each averages its clients, the server their changes by samples.
  std::vector<float> a(3, 0.0F), b(3, 0.0F), nested = {1, 1, 1};
  strategies::add_weighted_average(a, {all[0], all[2]});
  strategies::add_weighted_average(b, {all[1], all[3]});
  strategies::add_weighted_average(nested, {{0, n[0] + n[2], a}, {1, n[1] + n[3], b}});
  for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(nested[k], flat[k], 1e-6) << k;
  // FedBuff divides the staleness-weighted sum by the buffer's size, not by the weights' sum.
  std::vector<float> buffered = {0, 0, 0};
  strategies::add_weighted_average(buffered, {{0, 1.0, u[0]}, {1, 0.5, u[1]}}, 2);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(buffered[k], (u[0][k] + 0.5 * u[1][k]) / 2, 1e-7) << k;
  // No weight: nothing added.
  std::vector<float> untouched = {1, 1, 1};
  strategies::add_weighted_average(untouched, {{0, 0, u[0]}});
  EXPECT_EQ(untouched, (std::vector<float>{1, 1, 1}));
}

// FedBuff's polynomial staleness scaling (Nguyen et al. 2022): (1 + τ)^−a, equal weights by default.
TEST(FederatedPlan, StalenessWeightsArePolynomialInTheAge) {
  strategies::FederatedPlan p;
  EXPECT_EQ(p.staleness_weight(0), 1);
  EXPECT_EQ(p.staleness_weight(7), 1);
  p.staleness_exponent = 0.5;
  EXPECT_DOUBLE_EQ(p.staleness_weight(0), 1);
  EXPECT_DOUBLE_EQ(p.staleness_weight(3), 0.5);
  EXPECT_DOUBLE_EQ(p.staleness_weight(8), 1.0 / 3);
}

TEST(FederatedPlan, CompressionChangesTheUploadedBytes) {
  strategies::FederatedPlan p;
  EXPECT_EQ(p.upload_bytes(1000, 4), 4000U);
  p.compression.quantize_bits = 8;
  EXPECT_EQ(p.upload_bytes(1000, 4), 1000U);
  p.compression = {0, 0.01};
  EXPECT_EQ(p.upload_bytes(1000, 4), 10U * (4 + 4));  // values and 32-bit indices
  p.compression = {8, 0.01};
  EXPECT_EQ(p.upload_bytes(1000, 4), 10U * (1 + 4));
}

struct BadCase {
  const char* name;
  const char* strategy;
  const char* expected;
};
void PrintTo(const BadCase& c, std::ostream* out) {
  *out << c.name;
}

class FederatedBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(FederatedBadInput, IsOneErrorNamingTheField) {
  try {
    const core::Experiment e = federated(testing::star_platform(5), 4, 1, GetParam().strategy);
    strategies::make_strategy(e);
    FAIL() << "expected an error";
  } catch (const core::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find(GetParam().expected), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("test-experiment.yaml:"), std::string::npos) << err.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FederatedBadInput,
    ::testing::Values(
        BadCase{
            "selection_larger_than_population", "clients_per_round: 7, samples: 10",
            "'experiment.strategy.clients_per_round': 7 clients per round, but the population is 4 clients"},
        BadCase{"deadline_not_a_duration", "clients_per_round: 2, samples: 10, deadline: soon",
                "'experiment.strategy.deadline'"},
        BadCase{
            "dropout_without_deadline", "clients_per_round: 2, samples: 10, dropout: 0.1",
            "'experiment.strategy.dropout': clients that drop out never report: give the round a 'deadline'"},
        BadCase{"no_samples", "clients_per_round: 2", "needs 'samples'"},
        BadCase{"client_without_samples", "clients_per_round: 2, samples: {0-2: 10}",
                "client 3 has no samples"},
        BadCase{"buffer_in_fedavg", "clients_per_round: 2, samples: 10, buffer: 3",
                "'experiment.strategy.buffer': belongs to mode fedbuff"},
        BadCase{"fedbuff_without_buffer", "mode: fedbuff, clients_per_round: 2, samples: 10",
                "mode fedbuff needs 'buffer'"},
        BadCase{"report_goal_above_selection", "clients_per_round: 2, report_goal: 3, samples: 10",
                "'experiment.strategy.report_goal'"},
        BadCase{"staleness_exponent_in_fedavg", "clients_per_round: 2, samples: 10, staleness_exponent: 0.5",
                "'experiment.strategy.staleness_exponent': belongs to mode fedbuff"},
        BadCase{"negative_staleness_exponent",
                "mode: fedbuff, clients_per_round: 2, buffer: 2, samples: 10, staleness_exponent: -1",
                "'experiment.strategy.staleness_exponent': an exponent from 0"},
        BadCase{"unknown_compression", "clients_per_round: 2, samples: 10, compression: {zip: 1}",
                "'experiment.strategy.compression.zip'"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace dmlsim
