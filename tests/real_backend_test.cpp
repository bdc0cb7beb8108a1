// The real backend (Open MPI processes on this machine): every algorithm moves real bytes and
// leaves the exact result on every rank; data-parallel training keeps every replica's weights
// identical; and it writes the same kind of trace as the simulator.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include "cli_helpers.hpp"
#include "core/trace_csv_reader.hpp"
#include "parameter_error.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

std::string collective_experiment(const std::string& algorithm, int n) {
  // 1000 + n floats: not a multiple of n nor of the tree's pipeline chunk (256 B).
  return fmt::format(R"(experiment:
  platform: {{topology: star, hosts: {n}, link: {{bandwidth: 1Gbps, latency: 10us}}, device: cpu}}
  iterations: 2
  strategy: {{type: collective, algorithm: {a}, size: {bytes}B, tree_chunk: 256B, local_size: {local}}}
  simulation: {{payload: true, trace: messages}}
)",
                     fmt::arg("n", n), fmt::arg("a", algorithm), fmt::arg("bytes", (1000 + n) * 4),
                     fmt::arg("local", n % 2 == 0 ? 2 : 1));
}

class RealCollective : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(RealCollective, EveryRankHoldsTheExactSum) {
  // The strategy checks every rank's result after every iteration; a wrong value fails the rank
  // and so the run.
  const auto& [algorithm, n] = GetParam();
  ScratchDir scratch("real-collective");
  write_file(scratch / "e.yaml", collective_experiment(algorithm, n));
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto summary = testing::read_json(scratch / "out" / "summary.json");
  EXPECT_EQ(summary["backend"], "real");
  EXPECT_EQ(summary["ranks"], n);
  // Every message of the schedule, as the simulator runs the same schedule: same peers, bytes and
  // iterations, on every rank.
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", n, scratch);
}

INSTANTIATE_TEST_SUITE_P(Real, RealCollective,
                         ::testing::Combine(::testing::Values("ring", "halving-doubling", "tree",
                                                              "double-binary-tree", "hierarchical",
                                                              "rail-rings"),
                                            ::testing::Values(2, 3, 4, 8)),
                         [](const auto& param_info) {
                           std::string s = fmt::format("{}_n{}", std::get<0>(param_info.param),
                                                       std::get<1>(param_info.param));
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

// Two communicators over the same four processes (as two data-parallel jobs would have), each
// with its own all-reduce on its own stream thread at once, different data in each: every sum is
// exact (the strategy checks each stream and fails the run otherwise), the messages are those the
// simulator sends, each in its own communicator, and on every rank the two collectives overlap in
// time: the streams progress concurrently.
TEST(RealCommunicators, TwoStreamsOnTheSameRanksExchangeConcurrently) {
  ScratchDir scratch("real-streams");
  write_file(scratch / "e.yaml", R"(experiment:
  platform: {topology: star, hosts: 4, link: {bandwidth: 1Gbps, latency: 10us}, device: cpu}
  iterations: 2
  strategy: {type: collective, algorithm: ring, size: 8MiB, streams: 2}
  simulation: {payload: true, trace: messages}
)");
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", 4, scratch);
  // Per rank and iteration, the [start, end] of each stream's all-reduce, from trace.csv.
  std::map<std::pair<int, int>, std::vector<std::pair<double, double>>> spans;
  std::set<std::string> comms;
  std::istringstream in(testing::read_file(scratch / "out" / "trace.csv"));
  std::string line;
  std::getline(in, line);
  const std::size_t columns = testing::split_row(line).size();
  while (std::getline(in, line)) {
    const std::vector<std::string> f = testing::split_row(line);
    ASSERT_EQ(f.size(), columns) << line;
    if (f[1] == "send") comms.insert(f[14]);
    if (f[1] == "collective")
      spans[{std::stoi(f[0]), std::stoi(f[10])}].emplace_back(std::stod(f[4]), std::stod(f[5]));
  }
  EXPECT_EQ(comms, (std::set<std::string>{"collective", "collective.1"}));
  ASSERT_EQ(spans.size(), 8u) << "4 ranks x 2 iterations";
  for (const auto& [key, s] : spans) {
    ASSERT_EQ(s.size(), 2u);
    EXPECT_LT(std::max(s[0].first, s[1].first), std::min(s[0].second, s[1].second))
        << "rank " << key.first << " iteration " << key.second << ": the two streams did not overlap";
  }
}

std::string dp_experiment(const std::string& algorithm) {
  return fmt::format(R"(experiment:
  name: dp-real
  platform: {{topology: star, hosts: 4, link: {{bandwidth: 1Gbps, latency: 10us}}, device: cpu}}
  model: {{type: mlp, widths: [64, 256, 256, 10], batch: 16, dtype: fp32}}
  iterations: 3
  strategy: {{type: data-parallel, allreduce: {}, bucket_size: 64KiB}}
  simulation: {{payload: true}}
)",
                     algorithm);
}

class RealDataParallel : public ::testing::TestWithParam<std::string> {};

TEST_P(RealDataParallel, ReplicasKeepIdenticalWeightsAfterEveryStep) {
  // After every step each rank hashes its weights and compares all ranks' hashes; tolerance 0:
  // every algorithm gives every rank the same reduced bits. A mismatch fails the run.
  ScratchDir scratch("real-dp");
  write_file(scratch / "e.yaml", dp_experiment(GetParam()));
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  // The comparison ran: one all-gather of the 4 ranks' 8-byte hashes per rank and step.
  int hash_gathers = 0;
  for (const auto& [event, count] : testing::events_of(scratch / "out" / "trace.csv")) {
    if (event.find(",collective,all-gather ring 32 B,") != std::string::npos) hash_gathers += count;
  }
  EXPECT_EQ(hash_gathers, 4 * 3);
}

INSTANTIATE_TEST_SUITE_P(Real, RealDataParallel,
                         ::testing::Values("ring", "halving-doubling", "tree", "double-binary-tree",
                                           "hierarchical"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

using testing::kTrainsLikeOneRank;

// The worst "parameter error vs one rank" of a run's trace.csv (parameter_error.hpp).
double worst_parameter_error(const std::filesystem::path& csv, int ranks) {
  return testing::worst_parameter_error(core::read_csv_trace(csv), ranks);
}

// Pipelines over real processes: 4 stages × 2 replicas, every schedule. Payload mode trains the
// MLP for real: after three steps every rank holds the parameters of the same MLP trained on one
// rank (a wrong message fails the run); the messages and events (phases with their micro-batch,
// sends and receives with their peers and bytes) are those the simulator has.
class RealPipeline : public ::testing::TestWithParam<std::string> {};

TEST_P(RealPipeline, EveryMessageArrivesWhereTheScheduleSendsIt) {
  const std::string schedule = GetParam();
  ScratchDir scratch("real-pipeline");
  write_file(scratch / "e.yaml", fmt::format(R"(experiment:
  name: pipeline-real
  platform: {{topology: star, hosts: 8, link: {{bandwidth: 1Gbps, latency: 10us}}, device: cpu}}
  model: {{type: mlp, widths: [64, 128, 128, 128, 128, 128, 128, 128, 10], batch: 4, dtype: fp32}}
  parallelism: {{pp: 4, dp: 2}}
  iterations: 3
  strategy: {{type: pipeline, schedule: {}, micro_batches: 4}}
  simulation: {{payload: true, trace: messages}}
)",
                                             schedule));
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto summary = testing::read_json(scratch / "out" / "summary.json");
  EXPECT_EQ(summary["per_rank"][7]["role"], "stage 3");
  EXPECT_LT(worst_parameter_error(scratch / "out" / "trace.csv", 8), kTrainsLikeOneRank);
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", 8, scratch);
}

INSTANTIATE_TEST_SUITE_P(Real, RealPipeline, ::testing::Values("gpipe", "1f1b", "interleaved", "zb-h1"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

// The small transformer over real processes in payload mode, `ranks` of them on a star of as many
// hosts: every collective's result is checked on every member, every activation and gradient where
// it arrives, and the run has the simulator's messages and events.
void expect_transformer_moves_checked_data(const std::string& name, const std::string& parallelism,
                                           const std::string& strategy, int ranks) {
  ScratchDir scratch(name);
  write_file(scratch / "e.yaml", fmt::format(R"(experiment:
  name: {}
  platform: {{topology: star, hosts: {}, link: {{bandwidth: 1Gbps, latency: 10us}}, device: cpu}}
  model: {}/models/tiny-transformer.yaml
  parallelism: {}
  iterations: 2
  strategy: {}
  simulation: {{payload: true, trace: messages}}
)",
                                             name, ranks, DMLSIM_SOURCE_DIR, parallelism, strategy));
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "180", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", ranks, scratch);
}

// dp 2 × tp 2 × pp 2: every dimension's collectives and messages.
TEST(RealHybrid, EveryDimensionMovesCheckedData) {
  expect_transformer_moves_checked_data("hybrid-real", "{tp: 2, dp: 2, pp: 2}",
                                        "{type: hybrid, schedule: 1f1b, micro_batches: 2}", 8);
}

// ZeRO-3 with its prefetch (tp 2 × dp 2): the layers' gathers and gradient reduce-scatters started
// on the dp communicator's stream while the rank computes.
TEST(RealZero3, PrefetchedGathersMoveCheckedData) {
  expect_transformer_moves_checked_data("zero3-real", "{tp: 2, dp: 2}",
                                        "{type: tensor-parallel, micro_batches: 2, zero: 3}", 4);
}

// Tensor parallelism (tp 2 and 4: Megatron's column- and row-parallel GEMM pairs, their partial
// sums all-reduced over MPI) and a dp 2 × tp 2 × pp 2 hybrid of an MLP over real processes train
// like one rank: same parameters after three steps.
class RealTrainsLikeOneRank : public ::testing::TestWithParam<std::tuple<std::string, std::string, int>> {};

TEST_P(RealTrainsLikeOneRank, SameParametersAfterThreeSteps) {
  const auto& [parallelism, strategy, ranks] = GetParam();
  ScratchDir scratch("real-trains");
  write_file(scratch / "e.yaml", fmt::format(R"(experiment:
  name: trains-like-one-rank
  platform: {{topology: star, hosts: {}, link: {{bandwidth: 1Gbps, latency: 10us}}, device: cpu}}
  model: {{type: mlp, widths: [64, 128, 128, 128, 128, 16], batch: 4, dtype: fp32}}
  parallelism: {}
  iterations: 3
  strategy: {}
  simulation: {{payload: true, trace: messages}}
)",
                                             ranks, parallelism, strategy));
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_LT(worst_parameter_error(scratch / "out" / "trace.csv", ranks), kTrainsLikeOneRank);
}

std::string real_trains_like_one_rank_name(
    const ::testing::TestParamInfo<RealTrainsLikeOneRank::ParamType>& info) {
  constexpr std::array<const char*, 5> kCases{"tp2", "tp4", "hybrid_2x2x2",
                                              "hybrid_interleaved_overlapped_sync",
                                              "hybrid_interleaved_overlapped_buckets"};
  return kCases.at(info.index);
}

INSTANTIATE_TEST_SUITE_P(
    Real, RealTrainsLikeOneRank,
    ::testing::Values(std::tuple{"{tp: 2}", "{type: tensor-parallel, micro_batches: 3}", 2},
                      std::tuple{"{tp: 4}", "{type: tensor-parallel, micro_batches: 3}", 4},
                      std::tuple{"{tp: 2, dp: 2, pp: 2}", "{type: hybrid, schedule: 1f1b, micro_batches: 4}",
                                 8},
                      std::tuple{"{tp: 2, dp: 2, pp: 2}",
                                 "{type: hybrid, schedule: interleaved, chunks: 2, micro_batches: 4, "
                                 "overlap_grad_reduce: true}",
                                 8},
                      std::tuple{"{tp: 2, dp: 2, pp: 2}",
                                 "{type: hybrid, schedule: interleaved, chunks: 2, micro_batches: 4, "
                                 "overlap_grad_reduce: true, bucket_size: 4KiB}",
                                 8}),
    real_trains_like_one_rank_name);

// (lane, name) pairs of a trace.csv.
std::set<std::pair<std::string, std::string>> lanes_and_names(const std::filesystem::path& csv) {
  std::set<std::pair<std::string, std::string>> out;
  std::istringstream in(testing::read_file(csv));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string rank, lane, name;
    std::getline(fields, rank, ',');
    std::getline(fields, lane, ',');
    std::getline(fields, name, ',');
    out.insert({lane, name});
  }
  return out;
}

// An exception in one rank while its communication stream still exchanges gradient buckets:
// the run fails at once (not at the timeout), naming the rank and the error, and writes nothing.
TEST(RealBackend, ARankErrorEndsTheRunAtOnceNamingTheRank) {
  ScratchDir scratch("real-error");
  write_file(scratch / "e.yaml", dp_experiment("ring"));
  setenv("DMLSIM_FAULT", "rank=1,kind=error,iteration=1", 1);
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  unsetenv("DMLSIM_FAULT");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("rank 1"), std::string::npos) << r.err;
  EXPECT_LT(took, 60) << "ended by the timeout, not by the error";
  EXPECT_FALSE(std::filesystem::exists(scratch / "out"));
  EXPECT_NE(r.err.find("dmlsim-rank 1: error: injected error in iteration 1"), std::string::npos) << r.err;
  EXPECT_FALSE(testing::remove_kept_work_dir(r.err).empty()) << "no mpirun log named in: " << r.err;
}

TEST(RealBackend, WritesTheSameKindOfTraceAsTheSimulator) {
  ScratchDir scratch("real-parity");
  write_file(scratch / "e.yaml", dp_experiment("ring"));
  for (const char* backend : {"sim", "real"}) {
    std::vector<std::string> args{"run",   (scratch / "e.yaml").string(), "--backend", backend,
                                  "--out", (scratch / backend).string()};
    if (std::string(backend) == "real") args.insert(args.end(), {"--local", "--timeout", "120"});
    const auto r = run_dmlsim(args, scratch);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const auto kinds = lanes_and_names(scratch / "real" / "trace.csv");
  // 16 kernels (5 per layer, the optimizer step), 5 phases, 3 collectives (2 buckets, the hashes),
  // the memory counter.
  EXPECT_EQ(kinds.size(), 25u);
  EXPECT_EQ(kinds, lanes_and_names(scratch / "sim" / "trace.csv"));
  // And as many of each, on the same ranks.
  EXPECT_EQ(testing::events_of(scratch / "real" / "trace.csv"),
            testing::events_of(scratch / "sim" / "trace.csv"));
  const auto real = testing::read_json(scratch / "real" / "summary.json");
  EXPECT_EQ(real["iterations_s"].size(), 3u);
  EXPECT_GT(real["compute_s"].get<double>(), 0);
  // One finish_run: summary.json has the same keys from both backends; what one backend cannot
  // say is null (a measured run's fidelity, a simulation's machine).
  const auto sim = testing::read_json(scratch / "sim" / "summary.json");
  std::set<std::string> sim_keys, real_keys;
  for (const auto& [key, value] : sim.items()) sim_keys.insert(key);
  for (const auto& [key, value] : real.items()) real_keys.insert(key);
  EXPECT_EQ(sim_keys, real_keys);
  EXPECT_EQ(sim["fidelity"], "auto");
  EXPECT_TRUE(real["fidelity"].is_null());
  EXPECT_TRUE(sim["machine"].is_null());
  EXPECT_GT(real["machine"]["cores"].get<int>(), 0);
  EXPECT_EQ(sim["predicted_iteration_s"], real["predicted_iteration_s"]);
}

}  // namespace
}  // namespace dmlsim
