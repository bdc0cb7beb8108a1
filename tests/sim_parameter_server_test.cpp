// The parameter-server strategy in the simulator: correct data in payload mode (sync, sharded,
// colocated, async, ssp), the closed form on a star (incast at the server), scaling over k
// servers up to the NIC bound, staleness of asynchronous updates, and stragglers — sync waits,
// async runs ahead, ssp bounds the gap.
#include <gtest/gtest.h>

#include <algorithm>

#include <map>
#include <optional>
#include <sstream>

#include "cli_helpers.hpp"
#include "core/summary.hpp"
#include "sim_helpers.hpp"
#include "strategies/training/ps_server.hpp"

namespace dmlsim {
namespace {

// Compute that costs (almost) nothing: communication alone sets the pace.
const char* kFastDevice =
    "{name: fast, peak: {fp32: 1000PFLOPS}, memory_bandwidth: 1000000TBps, memory: 80GB}";
// 1 TFLOP/s, memory fast enough that the MLP's kernels are compute-bound.
const char* kRoundDevice = "{name: round, peak: {fp32: 1TFLOPS}, memory_bandwidth: 1000TBps, memory: 80GB}";

struct PsSetup {
  int hosts = 9;
  int ranks = 8;         // the workers; dedicated servers come after them
  std::string strategy;  // fields after `type: parameter-server`
  int iterations = 2;
  std::string simulation = "{trace: phases}";
  std::string extra;  // more experiment fields, each line indented by two spaces
  std::string device = kFastDevice;
  std::string model = "{type: mlp, widths: [1024, 1024, 1024, 1024], batch: 32, dtype: fp32}";
  std::string bandwidth = "10Gbps";
};

std::string ps_experiment(const PsSetup& c) {
  return fmt::format(R"(
experiment:
  platform: {{topology: star, hosts: {}, link: {{bandwidth: {}, latency: 1us}}, device: {}}}
  model: {}
  ranks: {}
  iterations: {}
  strategy: {{type: parameter-server, {}}}
  simulation: {}
{}
)",
                     c.hosts, c.bandwidth, c.device, c.model, c.ranks, c.iterations, c.strategy, c.simulation,
                     c.extra);
}

// (rank, iteration) → (start, end) of a phase.
using PhaseTimes = std::map<std::pair<int, int>, std::pair<double, double>>;
PhaseTimes phase_times(const core::Trace& trace, std::string_view name) {
  PhaseTimes out;
  for (const core::TraceEvent& e : trace.events()) {
    if (e.lane == core::Lane::phase && trace.text(e.name) == name)
      out[{e.rank, e.iteration}] = {e.start, e.end};
  }
  return out;
}

std::vector<int> staleness_marks(const core::Trace& trace) {
  std::vector<int> out;
  for (const core::TraceEvent& e : trace.events()) {
    if (e.lane != core::Lane::phase) continue;
    if (trace.text(e.name) == strategies::kUpdateMark)
      out.push_back(e.attributes.get(core::Attribute::staleness));
  }
  return out;
}

// Mean duration of the push-pull collectives of the workers (ranks below `workers`).
double exchange_seconds(const core::Trace& trace, int workers) {
  double total = 0;
  int count = 0;
  for (const core::TraceEvent& e : trace.events()) {
    if (e.lane == core::Lane::collective && e.rank < workers && trace.text(e.category) == "push-pull") {
      total += e.duration();
      ++count;
    }
  }
  return count > 0 ? total / count : 0;
}

TEST(SimRank, TestAnyReportsWhatHasArrivedWithoutWaiting) {
  // Ranks 1 and 2 send to rank 0 after 1 ms and 3 ms; at 2 ms rank 0 finds the first message
  // there and nothing else, without waiting; then waits for the second.
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(
      "experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}}}", testing::star_platform(3)));
  std::vector<std::optional<std::size_t>> seen;
  double waited_until = 0;
  sim::simulate(e, [&](core::Rank& rank) {
    std::vector<std::byte> data(1024);
    if (rank.rank() == 0) {
      std::vector<core::Request> r;
      r.push_back(rank.irecv(1, {1024, data.data()}, 0));
      r.push_back(rank.irecv(2, {1024, data.data()}, 0));
      rank.sleep(2e-3);
      seen.push_back(rank.test_any(r));
      seen.push_back(rank.test_any(r));
      seen.push_back(rank.wait_any(r));
      waited_until = rank.now();
    } else {
      rank.sleep(rank.rank() == 1 ? 1e-3 : 3e-3);
      core::Request s = rank.isend(0, {1024, data.data()}, 0);
      rank.wait(s);
    }
  });
  EXPECT_EQ(seen, (std::vector<std::optional<std::size_t>>{0, std::nullopt, 1}));
  EXPECT_GT(waited_until, 3e-3);
}

struct PayloadCase {
  std::string name;
  int ranks;
  std::string strategy;
  std::string extra;
};

void PrintTo(const PayloadCase& c, std::ostream* os) {
  *os << c.name;
}

class PsPayload : public ::testing::TestWithParam<PayloadCase> {};

TEST_P(PsPayload, EveryWorkerPullsWhatItMust) {
  // Real floats through the simulator. The strategy checks after every iteration: sync — every
  // worker holds exactly the sum of all workers' gradients (so k servers give the same result as
  // one); async/ssp — what a worker pulls holds its own updates (and, ssp, every worker's up to
  // the bound); each asynchronous server checks at the end that it applied every update once.
  // Odd sizes, 4 KiB buckets and 1000-byte chunks: many buckets, rounds and uneven pieces.
  const PayloadCase& c = GetParam();
  PsSetup setup;
  setup.ranks = c.ranks;
  setup.strategy = c.strategy + ", bucket_size: 4KiB, chunk_size: 1000B";
  setup.iterations = 3;
  setup.simulation = "{payload: true, trace: phases}";
  setup.extra = c.extra;
  setup.device = kRoundDevice;
  setup.model = "{type: mlp, widths: [37, 29, 23, 11], batch: 3, dtype: fp32}";
  const core::Experiment e = testing::experiment_from_yaml(ps_experiment(setup));
  ASSERT_TRUE(e.payload);
  ASSERT_EQ(e.iterations, 3);
  EXPECT_NO_THROW(testing::simulate_strategy(e));
}

INSTANTIATE_TEST_SUITE_P(
    Sim, PsPayload,
    ::testing::Values(
        PayloadCase{"sync_one_server", 5, "mode: sync, servers: 1", ""},
        PayloadCase{"sync_three_servers", 5, "mode: sync, servers: 3", ""},
        PayloadCase{"sync_without_overlap", 5, "mode: sync, servers: 3, overlap: false", ""},
        PayloadCase{"sync_two_colocated", 5, "mode: sync, servers: 2, server_placement: colocated", ""},
        PayloadCase{"sync_all_colocated", 5, "mode: sync, servers: 5, server_placement: colocated", ""},
        PayloadCase{"async_straggler", 5, "mode: async, servers: 2", "  slowdown: {1: 3}\n"},
        PayloadCase{"ssp1_straggler", 5, "mode: ssp, staleness: 1, servers: 2", "  slowdown: {1: 3}\n"},
        PayloadCase{"ssp0", 4, "mode: ssp, staleness: 0, servers: 3", ""}),
    [](const auto& param_info) { return param_info.param.name; });

// n = 8 workers push 12.01 MiB (3 148 800 fp32 gradients, one bucket) to one server on a star of
// 10 Gbit/s links (α = 2 µs between hosts), in C = 13 rounds of c = M/C: every round the server's
// link carries n pieces each way (incast), so the exchange takes (C + 1)·(α + n·c/B).
TEST(SimParameterServer, SyncOnAStarMatchesItsClosedForm) {
  const core::Experiment e = testing::experiment_from_yaml(ps_experiment([&] {
    PsSetup s;
    s.strategy = "mode: sync, servers: 1, bucket_size: 64MiB, chunk_size: 1MiB";
    return s;
  }()));
  const sim::SimResult r = testing::simulate_strategy(e);
  const double n = 8, alpha = 2e-6, bandwidth = 10e9 / 8, m = 3'148'800.0 * 4, rounds = 13;
  const double closed_form = (rounds + 1) * (alpha + n * (m / rounds) / bandwidth);
  const double simulated = exchange_seconds(r.trace, 8);
  EXPECT_NEAR(simulated / closed_form, 1.0, 0.005)
      << simulated << " s simulated, " << closed_form << " s closed form";
  // The prediction (the same closed form, with compute) holds the whole iteration to it as well.
  // The strategy names the dedicated server, the last rank, and the samples of the 8 workers.
  const core::Roles roles = strategies::make_strategy(e)->roles();
  ASSERT_EQ(roles.ranks.size(), 9u);
  EXPECT_EQ(roles.of(7).label(), "worker");
  EXPECT_EQ(roles.of(8).label(), "server 0");
  EXPECT_EQ(roles.samples_per_iteration, 8 * e.require_model().micro_batch);
  const core::RunSummary s = core::summarize(r.trace, r.links, roles);
  EXPECT_EQ(s.training_ranks, 8);
  EXPECT_NEAR(s.iteration_mean / strategies::make_strategy(e)->predict().iteration_seconds, 1.0, 0.005);
  // Incast: the server's link is the busiest, carrying n·M each way per iteration; the exchange
  // is n·M/B plus one round of pipeline fill: the PS reference max(M/B, nM/B) times (C + 1)/C.
  ASSERT_FALSE(s.links.empty());
  EXPECT_EQ(s.links[0].name.substr(0, 6), "host8_");
  EXPECT_EQ(s.links[0].bytes, static_cast<std::uint64_t>(2 * n * m));
  EXPECT_NEAR(simulated / (n * m / bandwidth), (rounds + 1) / rounds, 0.005);
}

// n = 8 workers, k dedicated servers, 16 MiB of gradients in 64 KiB chunks on a star: each round
// moves k pieces through a worker's link and n through a server's, so the exchange takes
// (C + 1)·(α + max(n, k)·c/B) → max(M/B, nM/(kB)): it shrinks as 1/k until k = n, then stays at
// the worker NIC bound M/B.
class SimPsScaling : public ::testing::TestWithParam<int> {};

TEST_P(SimPsScaling, ShardedServersScaleAsNmOverKbUntilTheNicBound) {
  const int k = GetParam();
  PsSetup setup;
  setup.hosts = 24;
  setup.ranks = 8;
  setup.strategy = fmt::format("mode: sync, servers: {}, bucket_size: 64MiB, chunk_size: 64KiB", k);
  setup.model = "{type: mlp, widths: [2048, 2048], batch: 8, dtype: fp32}";
  const core::Experiment e = testing::experiment_from_yaml(ps_experiment(setup));
  const double simulated = exchange_seconds(testing::simulate_strategy(e).trace, 8);
  const double n = 8, alpha = 2e-6, bandwidth = 10e9 / 8, m = (2048.0 * 2048 + 2048) * 4;
  const double rounds = std::ceil(m / (k * 65536.0));
  const double closed_form = (rounds + 1) * (alpha + std::max(n, double(k)) * (m / (rounds * k)) / bandwidth);
  EXPECT_NEAR(simulated / closed_form, 1.0, 0.005);
  const double reference = std::max(m / bandwidth, n * m / (k * bandwidth));  // BytePS' non-colocated PS
  EXPECT_GE(simulated / reference, 1.0);
  EXPECT_LE(simulated / reference, (rounds + 1) / rounds + 0.01);
}

INSTANTIATE_TEST_SUITE_P(Sim, SimPsScaling, ::testing::Values(1, 2, 4, 8, 16));

// k servers colocated with n workers (server s is worker s): each server's link carries its own
// worker's pushes and pulls to the other servers and the other n − 1 workers' pieces for its own
// shard, both ways. ResNet-50 on a 100 Gbit/s star: the closed form holds the simulated iteration
// to 0.5 %, and under this incast the push/pull can never beat a ring all-reduce's 2(n−1)M/(nB).
class SimColocatedPs : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(SimColocatedPs, ClosedFormMatchesTheSimulation) {
  const auto [n, k] = GetParam();
  PsSetup setup;
  setup.hosts = n;
  setup.ranks = n;
  setup.bandwidth = "100Gbps";
  setup.device = "a100";
  setup.iterations = 3;
  setup.model = (testing::source_dir() / "models" / "resnet50.yaml").string();
  setup.strategy = fmt::format("mode: sync, servers: {}, server_placement: colocated", k);
  const core::Experiment e = testing::experiment_from_yaml(ps_experiment(setup));
  const auto strategy = strategies::make_strategy(e);
  const strategies::Prediction p = strategy->predict();
  const double simulated =
      core::summarize(testing::simulate_strategy(e).trace, {}, strategy->roles()).iteration_mean;
  EXPECT_NEAR(p.iteration_seconds / simulated, 1.0, 0.005)
      << p.iteration_seconds << " s predicted, " << simulated;
  double push_pull = 0, all_reduce = 0;
  for (const auto& t : p.terms) {
    if (t.name.starts_with("push/pull")) push_pull = t.seconds;
  }
  for (const auto& r : p.references) {
    if (r.name.starts_with("all-reduce")) all_reduce = r.seconds;
  }
  ASSERT_GT(all_reduce, 0);
  EXPECT_GE(push_pull, all_reduce) << "colocated servers under incast cannot beat the ring";
}

INSTANTIATE_TEST_SUITE_P(Sim, SimColocatedPs,
                         ::testing::Values(std::pair{8, 1}, std::pair{8, 2}, std::pair{8, 4},
                                           std::pair{32, 4}, std::pair{32, 8}),
                         [](const auto& param_info) {
                           return fmt::format("n{}_k{}", param_info.param.first, param_info.param.second);
                         });

TEST(SimParameterServer, AsyncStalenessOfEqualWorkersStaysBelowTheirNumber) {
  // 6 equal workers, 2 servers. A worker's update is stale by the updates the server applied since
  // the worker pulled: at most the other n − 1 workers' (and it is n − 1 once they run in step).
  const int n = 6;
  const core::Experiment e = testing::experiment_from_yaml(ps_experiment([&] {
    PsSetup s;
    s.hosts = 8;
    s.ranks = n;
    s.strategy = "mode: async, servers: 2, bucket_size: 1MiB, chunk_size: 256KiB";
    s.iterations = 5;
    return s;
  }()));
  ASSERT_EQ(e.iterations, 5);
  const sim::SimResult r = testing::simulate_strategy(e);
  const std::vector<int> marks = staleness_marks(r.trace);
  // One mark per update: 5 iterations × 6 workers × 54 pieces — 3 buckets (each 4 MiB layer
  // fills a 1 MiB bucket on its own), each cut into ceil(1 049 600 / (2 · 65 536)) = 9 rounds of a
  // piece per server.
  const std::size_t pieces = 3 * 9 * 2;
  EXPECT_EQ(marks.size(), 5u * n * pieces);
  ASSERT_FALSE(marks.empty());
  EXPECT_LE(*std::max_element(marks.begin(), marks.end()), n - 1);
  EXPECT_EQ(*std::max_element(marks.begin(), marks.end()), n - 1);
}

// A compute-bound MLP (1 TFLOP/s device) on 4 workers and one server, worker 0 computing 2x slower.
// 1 Tbit/s links: the exchange is ~2 % of the compute.
std::string straggler_experiment(const std::string& mode, int iterations) {
  PsSetup setup;
  setup.hosts = 5;
  setup.ranks = 4;
  setup.strategy = mode + ", servers: 1, bucket_size: 64MiB";
  setup.iterations = iterations;
  setup.extra = "  slowdown: {0: 2}";
  setup.device = kRoundDevice;
  setup.model = "{type: mlp, widths: [1024, 1024, 1024], batch: 1024, dtype: fp32}";
  setup.bandwidth = "1000Gbps";
  return ps_experiment(setup);
}

TEST(SimParameterServer, SyncWorkersWaitForTheStraggler) {
  const core::Experiment e = testing::experiment_from_yaml((straggler_experiment("mode: sync", 4)));
  const PhaseTimes it = phase_times(testing::simulate_strategy(e).trace, "iteration");
  // Every worker's iteration 3 takes as long as the straggler's (within 1 %).
  const double slow = it.at({0, 3}).second - it.at({0, 3}).first;
  for (int w = 1; w < 4; ++w) {
    const double fast = it.at({w, 3}).second - it.at({w, 3}).first;
    EXPECT_NEAR(fast / slow, 1.0, 0.01) << "worker " << w;
  }
}

TEST(SimParameterServer, AsyncFastWorkersMakeProportionallyMoreUpdates) {
  // Each worker runs on its own clock: an iteration takes its own compute (2x for worker 0) plus
  // the exchange, which the fast network keeps small. By the time the fast workers finish their 12
  // iterations the straggler has made T / t_slow of its own.
  const core::Experiment e = testing::experiment_from_yaml((straggler_experiment("mode: async", 12)));
  const sim::SimResult r = testing::simulate_strategy(e);
  const PhaseTimes it = phase_times(r.trace, "iteration");
  const core::Model& model = e.require_model();
  double compute = 0;
  for (const core::Layer& l : model.layers) {
    for (const auto* ks : {&l.forward, &l.backward}) {
      for (const core::Kernel& k : *ks) compute += e.platform.device.kernel_seconds(k);
    }
  }
  compute += e.platform.device.kernel_seconds(core::optimizer_step(
      "optimizer.step", model.parameters(), model.dtype, core::OptimizerStep::Kind::adam));
  // The exchange alone: 4 workers into one server, (C + 1)·(α + 4·c/B), as in the star test.
  const double exchange = exchange_seconds(r.trace, 4);
  ASSERT_GT(exchange, 0);
  EXPECT_LT(exchange, 0.1 * compute);  // compute-bound, as intended
  const double t_fast = compute + exchange, t_slow = 2 * compute + exchange;
  double horizon = 0;
  for (int w = 1; w < 4; ++w) horizon = std::max(horizon, it.at({w, 11}).second);
  auto done_by = [&](int w, double t) {
    int count = 0;
    for (const auto& [key, times] : it) count += key.first == w && times.second <= t ? 1 : 0;
    return count;
  };
  // Expected counts at the horizon: 12 for each fast worker, T / t_slow for the straggler (± 1 for
  // where the horizon falls in its iteration).
  EXPECT_NEAR(horizon / t_fast, 12.0, 0.5);
  EXPECT_NEAR(done_by(0, horizon), horizon / t_slow, 1.0);
  for (int w = 1; w < 4; ++w) {
    EXPECT_EQ(done_by(w, horizon), 12);
    EXPECT_NEAR(static_cast<double>(done_by(w, horizon)) / done_by(0, horizon), t_slow / t_fast, 0.15);
  }
}

// Stale-synchronous with bound s and a 2x straggler: at the start of any worker's iteration i,
// every worker has finished the backward pass (its gradients) of iteration i − s − 1, i.e. no
// worker is more than s iterations ahead of the slowest. The bound is reached (the fast workers
// do wait), which a wrong gate would miss or exceed.
class SimSsp : public ::testing::TestWithParam<int> {};

TEST_P(SimSsp, NoWorkerIsEverMoreThanSIterationsAhead) {
  const int s = GetParam();
  const core::Experiment e =
      testing::experiment_from_yaml((straggler_experiment(fmt::format("mode: ssp, staleness: {}", s), 10)));
  const sim::SimResult r = testing::simulate_strategy(e);
  const PhaseTimes iteration = phase_times(r.trace, "iteration"), backward = phase_times(r.trace, "backward");
  ASSERT_EQ(iteration.size(), 4u * 10) << "4 workers × 10 iterations";
  ASSERT_EQ(backward.size(), 4u * 10);
  int largest_lead = 0;
  for (const auto& [key, times] : iteration) {
    const auto [w, i] = key;
    int slowest_done = i;  // fewest iterations any worker has produced gradients for
    for (int u = 0; u < 4; ++u) {
      int done = 0;
      while (backward.count({u, done}) && backward.at({u, done}).second <= times.first) ++done;
      slowest_done = std::min(slowest_done, done);
    }
    EXPECT_LE(i - slowest_done, s) << "worker " << w << " starts iteration " << i
                                   << " while the slowest has done " << slowest_done;
    largest_lead = std::max(largest_lead, i - slowest_done);
  }
  EXPECT_EQ(largest_lead, s);
}

INSTANTIATE_TEST_SUITE_P(Sim, SimSsp, ::testing::Values(0, 1, 2));

TEST(SimParameterServer, WithoutABoundAsyncRunsFurtherAhead) {
  const core::Experiment e = testing::experiment_from_yaml((straggler_experiment("mode: async", 10)));
  const PhaseTimes iteration = phase_times(testing::simulate_strategy(e).trace, "iteration");
  // The fast workers finish 10 iterations of c + x·c (compute c, exchange x·c with x < 0.1, see
  // above) while the straggler's take 2c + x·c: it has done 10(1 + x)/(2 + x) ∈ [5, 5.24) of
  // them, 5 behind — more than any SSP bound tested above allows.
  const double fast_end = iteration.at({1, 9}).second;
  int slow_done = 0;
  while (iteration.count({0, slow_done}) && iteration.at({0, slow_done}).second <= fast_end) ++slow_done;
  EXPECT_EQ(slow_done, 5);
}

TEST(SimParameterServer, SspWithZeroStalenessTakesTheTimeOfSync) {
  // Same experiment twice (each simulation in its own process): bulk-synchronous either way, and
  // the asynchronous server holding every answer until all have pushed sends the same messages at
  // the same times as the synchronous schedule.
  testing::ScratchDir scratch("ps-ssp0");
  PsSetup setup;
  setup.hosts = 8;
  setup.ranks = 6;
  setup.strategy = "mode: sync, servers: 2, bucket_size: 2MiB, chunk_size: 256KiB";
  setup.iterations = 3;
  setup.device = kRoundDevice;
  setup.model = "{type: mlp, widths: [1024, 1024, 1024], batch: 64, dtype: fp32}";
  testing::write_file(scratch / "e.yaml", ps_experiment(setup));
  double iteration[2] = {0, 0};
  std::map<std::string, int> marks[2];  // "staleness k" → count of "update" phases, from trace.csv
  const char* modes[2][2] = {{"strategy.mode=sync", "strategy.overlap=true"},
                             {"strategy.mode=ssp", "strategy.staleness=0"}};
  for (int i = 0; i < 2; ++i) {
    const auto out = scratch / fmt::format("o{}", i);
    const auto r = testing::run_dmlsim({"run", (scratch / "e.yaml").string(), "--quiet", "--out",
                                        out.string(), "--set", modes[i][0], "--set", modes[i][1]},
                                       scratch);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    iteration[i] = testing::read_json(out / "summary.json")["iteration_s"].get<double>();
    std::istringstream csv(testing::read_file(out / "trace.csv"));
    std::string line;
    std::getline(csv, line);
    const std::vector<std::string> header = testing::split_row(line);
    const auto column =
        static_cast<std::size_t>(std::find(header.begin(), header.end(), "staleness") - header.begin());
    ASSERT_LT(column, header.size()) << line;
    while (std::getline(csv, line)) {
      const std::vector<std::string> f = testing::split_row(line);
      if (f[1] == "phase" && f[2] == "update") ++marks[i]["staleness " + f.at(column)];
    }
  }
  // The --set took: sync marks no staleness. ssp(0) is bulk-synchronous: a piece's 6 updates of an
  // iteration are all applied before any worker pulls it, the k-th stale by k, so staleness 0 … 5
  // each once per piece and iteration: 3 iterations × 2 buckets (each 4 MiB layer fills a 2 MiB
  // bucket on its own) × ceil(1 049 600 / (2 · 65 536)) = 9 rounds × 2 servers = 108. (Equal
  // workers in async mode take the same time as sync, but with other marks.)
  EXPECT_TRUE(marks[0].empty());
  std::map<std::string, int> bulk_synchronous;
  for (int k = 0; k < 6; ++k) bulk_synchronous[fmt::format("staleness {}", k)] = 108;
  EXPECT_EQ(marks[1], bulk_synchronous);
  EXPECT_NEAR(iteration[1] / iteration[0], 1.0, 1e-9)
      << "sync " << iteration[0] << " s, ssp(0) " << iteration[1] << " s";
}

TEST(SimParameterServer, AWorkerBehindASlowLinkSlowsSyncAsItsClosedFormSays) {
  // Worker 2's link is 10x slower: each round its pieces take 10·c/B while the server's n pieces
  // take 4·c/B, so its link sets the pace; the prediction takes each member's slowest path.
  const std::string yaml = R"(
experiment:
  platform:
    topology: star
    hosts: 5
    link: {bandwidth: 10Gbps, latency: 1us}
    host_links: {2: {bandwidth: 1Gbps, latency: 1us}}
    device: {name: fast, peak: {fp32: 1000PFLOPS}, memory_bandwidth: 1000000TBps, memory: 80GB}
  model: {type: mlp, widths: [1024, 1024, 1024], batch: 32, dtype: fp32}
  iterations: 2
  strategy: {type: parameter-server, servers: 1, bucket_size: 64MiB, chunk_size: 256KiB}
  simulation: {trace: phases}
)";
  const core::Experiment e = testing::experiment_from_yaml(yaml);
  const sim::SimResult r = testing::simulate_strategy(e);
  const double simulated = core::summarize(r.trace, r.links).iteration_mean;
  const double predicted = strategies::make_strategy(e)->predict().iteration_seconds;
  EXPECT_NEAR(simulated / predicted, 1.0, 0.01);
  // By hand: one 64 MiB bucket of M bytes in C = ceil(M / 256 KiB) = 33 rounds of c = M/C; each
  // round worker 2 pushes one piece and pulls one over its 1 Gbit/s link (α = 10 + 1 µs), so the
  // exchange takes (C + 1)·(α + c/B₂); compute costs nothing on this device.
  const double m = (1024.0 * 1024 + 1024) * 2 * 4, rounds = 33, alpha = 11e-6;
  EXPECT_NEAR(simulated / ((rounds + 1) * (alpha + m / rounds / (1e9 / 8))), 1.0, 0.01);
  // Without the slow link the server's incast (4 pieces per round at 10 Gbit/s) would set it: 2.5x faster.
  EXPECT_GT(simulated, 2.4 * 4 * m / (10e9 / 8));
}

}  // namespace
}  // namespace dmlsim
