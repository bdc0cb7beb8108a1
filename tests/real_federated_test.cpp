// Federated learning on the real backend (Open MPI processes): the same strategy source moves real
// models and updates — every update checked by the server against the model version it sent — and
// a deadline is a real timeout that leaves the slowest client's update out of every average.
#include <gtest/gtest.h>

#include <set>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

std::string experiment(const std::string& strategy, const std::string& extra = "") {
  return fmt::format(R"(experiment:
  platform: {{topology: star, hosts: 5, link: {{bandwidth: 1Gbps, latency: 50us}}, device: cpu}}
  model: {{type: mlp, widths: [64, 128, 10], batch: 8, dtype: fp32}}
  ranks: 4
  iterations: 3
  strategy: {{type: federated, {}}}
  simulation: {{payload: true, trace: phases}}
{})",
                     strategy, extra);
}

// (rank, name, iteration, client) of every phase in a run's trace.csv.
std::multiset<std::tuple<int, std::string, int, int>> phases_of(const std::filesystem::path& csv) {
  std::multiset<std::tuple<int, std::string, int, int>> out;
  std::istringstream in(testing::read_file(csv));
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = testing::split_row(line);
  const auto column = [&](const char* name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const std::size_t rank = column("rank"), lane = column("lane"), name = column("name"),
                    iteration = column("iteration"), client = column("client");
  while (std::getline(in, line)) {
    const std::vector<std::string> f = testing::split_row(line);
    if (f.size() != header.size() || f[lane] != "phase") continue;
    out.emplace(std::stoi(f[rank]), f[name], std::stoi(f[iteration]), std::stoi(f[client]));
  }
  return out;
}

// Runs scratch/e.yaml on the real backend, its ranks on this machine, into scratch/out.
void run_locally(const ScratchDir& scratch) {
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
}

// Every client in every round: the same events as the simulator's (which updates came in when is
// decided by the selection alone), and the server checked every update's floats.
TEST(RealFederated, FedAvgMovesTheSameUpdatesAsSimulated) {
  ScratchDir scratch("real-fl");
  write_file(scratch / "e.yaml", experiment("clients_per_round: 4, samples: 64"));
  ASSERT_NO_FATAL_FAILURE(run_locally(scratch));
  EXPECT_EQ(testing::read_json(scratch / "out" / "summary.json")["iterations_s"].size(), 3u);
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", 5, scratch);
}

// Two regions of two clients, an aggregator each: north's clients on fast asymmetric links behind a
// 100 Mbit/s WAN path, south's on slow ones behind 50 Mbit/s.
std::string hierarchical_experiment(const std::string& strategy, int iterations,
                                    const std::string& extra = "") {
  return fmt::format(R"(experiment:
  platform:
    topology: edge
    server: {{link: {{bandwidth: 1Gbps, latency: 50us}}, device: cpu}}
    regions:
      north: {{wan: {{bandwidth: 100Mbps, latency: 2ms}}, aggregator: {{link: {{bandwidth: 1Gbps, latency: 50us}}, device: cpu}}}}
      south: {{wan: {{bandwidth: 50Mbps, latency: 5ms}}, aggregator: {{link: {{bandwidth: 1Gbps, latency: 50us}}, device: cpu}}}}
    classes:
      fast: {{count: 2, link: {{down: 400Mbps, up: 200Mbps, latency: 50us}}, device: cpu, region: north}}
      slow: {{count: 2, link: {{down: 100Mbps, up: 20Mbps, latency: 1ms}}, device: cpu, region: south}}
  model: {{type: mlp, widths: [64, 128, 10], batch: 8, dtype: fp32}}
  iterations: {}
  strategy: {{type: federated, mode: hierarchical, {}}}
  simulation: {{payload: true, trace: phases}}
{})",
                     iterations, strategy, extra);
}

// Hierarchical FL: the aggregators' edge rounds and the server's cloud rounds move the updates the
// simulator moves, each checked against the version it trained on.
TEST(RealFederated, HierarchicalRoundsMoveTheSameUpdatesAsSimulated) {
  ScratchDir scratch("real-hfl");
  write_file(scratch / "e.yaml",
             hierarchical_experiment("clients_per_round: 1, edge_rounds: 2, samples: 64, seed: 1", 3));
  ASSERT_NO_FATAL_FAILURE(run_locally(scratch));
  EXPECT_EQ(testing::read_json(scratch / "out" / "summary.json")["iterations_s"].size(), 3u);
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", 7, scratch);
}

// Hierarchical FL with a deadline at the aggregators: south's client 3 (50 times the samples, 300
// times slower: at least 0.6 s) misses the 0.3 s deadline of its region's first edge round; its
// update arrives late at the south aggregator (rank 5), checked against the version it trained on
// and never averaged, also not in the next cloud round.
TEST(RealFederated, AnAggregatorsDeadlineLeavesTheSlowClientsUpdateOut) {
  ScratchDir scratch("real-hfl-deadline");
  write_file(scratch / "e.yaml",
             hierarchical_experiment("clients_per_round: 2, edge_rounds: 2, deadline: 300ms, "
                                     "samples: {0-2: 64, 3: 3200}",
                                     2, "  slowdown: {3: 300}\n"));
  ASSERT_NO_FATAL_FAILURE(run_locally(scratch));
  int south_reports = 0, late = 0;
  for (const auto& [rank, name, iteration, client] : phases_of(scratch / "out" / "trace.csv")) {
    if (rank != 5) continue;
    if (name == "report") {
      ++south_reports;
      EXPECT_NE(client, 3) << "cloud round " << iteration << " averaged the slow client's update";
    }
    if (name == "late" && client == 3) ++late;
  }
  EXPECT_GE(south_reports, 3);  // client 2 in every edge round
  EXPECT_EQ(late, 1);           // its one task: a busy client is not drawn again
}

// Client 3 holds 50 times the samples of the others and computes 300 times slower (at least
// 400 steps × 5 µs × 300 = 0.6 s) and misses the 0.3 s deadline: round 0, which selected every
// client, lasts to the deadline; its update arrives late — taken, checked against the older model
// version it trained on, and never averaged: no round counts a report from it.
TEST(RealFederated, ADeadlineLeavesTheSlowestClientsUpdateOutOfEveryAverage) {
  ScratchDir scratch("real-fl-deadline");
  write_file(scratch / "e.yaml",
             experiment("clients_per_round: 4, deadline: 300ms, samples: {0-2: 64, 3: 3200}",
                        "  slowdown: {3: 300}"));
  ASSERT_NO_FATAL_FAILURE(run_locally(scratch));
  const auto phases = phases_of(scratch / "out" / "trace.csv");
  int reports = 0, late = 0;
  for (const auto& [rank, name, iteration, client] : phases) {
    if (rank != 4) continue;
    if (name == "report") {
      ++reports;
      EXPECT_NE(client, 3) << "round " << iteration << " averaged the slow client's update";
    }
    if (name == "late" && client == 3) ++late;
  }
  EXPECT_GE(reports, 9);  // clients 0, 1, 2 in every round
  EXPECT_EQ(late, 1);     // its one task: busy clients are not selected again
  const auto summary = testing::read_json(scratch / "out" / "summary.json");
  EXPECT_GE(summary["iterations_s"][0].get<double>(), 0.3);  // round 0 selected client 3 and waited
}

}  // namespace
}  // namespace dmlsim
