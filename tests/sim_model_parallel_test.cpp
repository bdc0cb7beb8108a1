// Pipeline, tensor and hybrid parallelism in the simulator. Pipelines: iteration times against the
// schedules' closed forms (stage times from the device's roofline, communication made free),
// against the replay with the network's α + S/B, the data each message carries (payload mode),
// the trace's attributes and memory counter, and the roles. Tensor parallelism: Megatron's
// collectives per block, counted and timed; a dp × tp × pp hybrid moving checked data.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <map>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "parameter_error.hpp"
#include "sim_helpers.hpp"
#include "strategies/pipeline/pipeline_closed_forms.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim {
namespace {

using strategies::pipeline::ScheduleKind;

// A slow device (1 GFLOP/s, memory never the bound) makes a layer of the MLP below take tens of
// milliseconds, while a message of one sample's activation (16 KiB) takes 1e-13 s on a 10^18 bit/s
// link without latency: communication is free to far below the 1e-9 the test asks.
constexpr const char* kSlowDevice =
    "{name: slow, peak: {fp32: 1GFLOPS}, memory_bandwidth: 1000TBps, memory: 80GB}";

std::string mlp(int layers, int width = 4096, int batch = 1) {
  std::string widths;
  for (int i = 0; i <= layers; ++i) widths += fmt::format("{}{}", i ? ", " : "", width);
  return fmt::format("{{type: mlp, widths: [{}], batch: {}, dtype: fp32}}", widths, batch);
}

std::string pipeline_experiment(int stages, const std::string& schedule, int micro_batches, int chunks,
                                const std::string& network = "{bandwidth: 1000000Tbps, latency: 0s}",
                                int replicas = 1, bool payload = false) {
  const int layers = stages * chunks;  // one layer per chunk: the balanced cut is exact
  // Payload mode trains the MLP for real: narrow layers, three steps.
  return fmt::format(R"(
experiment:
  platform: {{topology: star, hosts: {}, link: {}, device: {}}}
  model: {}
  parallelism: {{pp: {}, dp: {}}}
  iterations: {}
  strategy: {{type: pipeline, schedule: {}, micro_batches: {}, chunks: {}}}
  simulation: {{trace: messages, payload: {}}}
)",
                     stages * replicas, network, kSlowDevice, payload ? mlp(layers, 64) : mlp(layers), stages,
                     replicas, payload ? 3 : 2, schedule, micro_batches, chunks, payload);
}

// F, B and W of one stage (every stage alike) and the optimizer step, from the model's kernels.
struct StageCosts {
  strategies::pipeline::StageTimes times;
  double optimizer = 0;
};
StageCosts stage_costs(const core::Experiment& e, int chunks, std::int64_t micro_batch_size = 0) {
  core::ModelShape shape;
  shape.micro_batch = micro_batch_size;
  const core::Model model = e.require_model().rebuilt(shape);
  const core::DeviceProfile& device = e.platform.device_of(0);
  const core::Layer& layer = model.layers.front();
  StageCosts c;
  for (const core::Kernel& k : layer.forward) c.times.forward += device.kernel_seconds(k) * chunks;
  for (const core::Kernel& k : layer.backward) {
    (k.pass == core::Pass::weight_gradient ? c.times.weight_gradient : c.times.backward) +=
        device.kernel_seconds(k) * chunks;
  }
  c.optimizer =
      device.kernel_seconds(core::optimizer_step("o", layer.parameters * chunks, core::DType::fp32));
  return c;
}

struct Case {
  ScheduleKind kind;
  int p, m, v;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << strategies::pipeline::to_string(c.kind) << " p=" << c.p << " m=" << c.m << " v=" << c.v;
}

std::vector<Case> closed_form_cases() {
  std::vector<Case> cases;
  for (const int p : {2, 3, 4, 8}) {
    for (const int m : {1, p, 2 * p + 1}) {
      for (const ScheduleKind k : {ScheduleKind::gpipe, ScheduleKind::one_f_one_b, ScheduleKind::zb_h1})
        cases.push_back({k, p, m, 1});
    }
    for (const int m : {p, 2 * p}) cases.push_back({ScheduleKind::interleaved, p, m, 2});
  }
  return cases;
}

class SimPipelineClosedForm : public ::testing::TestWithParam<Case> {};

// Every iteration takes the schedule's closed form plus the optimizer step (the last stage to
// finish steps last), to 1e-9.
TEST_P(SimPipelineClosedForm, IterationTimeIsTheScheduleClosedForm) {
  const Case c = GetParam();
  const core::Experiment e = testing::experiment_from_yaml(
      pipeline_experiment(c.p, std::string(strategies::pipeline::to_string(c.kind)), c.m, c.v));
  const StageCosts costs = stage_costs(e, c.v);
  const double expected =
      strategies::pipeline::pipeline_seconds(c.kind, c.p, c.m, c.v, costs.times) + costs.optimizer;
  const core::RunSummary s = core::summarize(testing::simulate_strategy(e).trace, {});
  ASSERT_EQ(s.iteration_seconds.size(), 2u);
  for (const double t : s.iteration_seconds) EXPECT_NEAR(t / expected, 1.0, 1e-9);
  EXPECT_NEAR(strategies::make_strategy(e)->predict().iteration_seconds / expected, 1.0, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Sim, SimPipelineClosedForm, ::testing::ValuesIn(closed_form_cases()),
                         [](const auto& param_info) {
                           const Case& c = param_info.param;
                           std::string kind(strategies::pipeline::to_string(c.kind));
                           std::replace(kind.begin(), kind.end(), '-', '_');
                           return fmt::format("{}_p{}_m{}_v{}", kind, c.p, c.m, c.v);
                         });

// `micro_batch_size` re-cuts the model for b samples per micro-batch (the model's own is 1 here):
// every pass costs the b-sample kernels, the iteration is the schedule's closed form of those, and
// an iteration trains b·m samples. A size of 0 is refused at its field.
TEST(SimPipeline, MicroBatchSizeRecutsTheModel) {
  std::string yaml = pipeline_experiment(4, "1f1b", 8, 1);
  const std::string schedule = "schedule: 1f1b, micro_batches: 8";
  yaml.replace(yaml.find(schedule), schedule.size(), schedule + ", micro_batch_size: 4");
  const core::Experiment e = testing::experiment_from_yaml(yaml);
  const StageCosts costs = stage_costs(e, 1, 4);
  const StageCosts one = stage_costs(e, 1);
  ASSERT_GT(costs.times.forward, 3 * one.times.forward) << "four samples a pass, not one";
  const double expected =
      strategies::pipeline::pipeline_seconds(ScheduleKind::one_f_one_b, 4, 8, 1, costs.times) +
      costs.optimizer;
  const core::RunSummary s = core::summarize(testing::simulate_strategy(e).trace, {});
  for (const double t : s.iteration_seconds) EXPECT_NEAR(t / expected, 1.0, 1e-9);
  const auto strategy = strategies::make_strategy(e);
  EXPECT_NEAR(strategy->predict().iteration_seconds / expected, 1.0, 1e-9);
  EXPECT_EQ(strategy->roles().samples_per_iteration, 4 * 8);

  yaml.replace(yaml.find("micro_batch_size: 4"), 19, "micro_batch_size: 0");
  const core::Experiment bad = testing::experiment_from_yaml(yaml);
  try {
    strategies::make_strategy(bad);
    ADD_FAILURE() << "micro_batch_size 0 accepted";
  } catch (const core::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("field 'experiment.strategy.micro_batch_size'"), std::string::npos)
        << err.what();
  }
}

// With a real network, two stages: activations go 0 → 1 and gradients 1 → 0 on links of their
// own, so every message takes α + S/B alone and the simulation equals the replay `explain` shows.
TEST(SimPipeline, TwoStagesOverARealNetworkTakeTheReplaysTime) {
  const core::Experiment e = testing::experiment_from_yaml(
      pipeline_experiment(2, "1f1b", 6, 1, "{bandwidth: 100Mbps, latency: 50us}"));
  const core::RunSummary s = core::summarize(testing::simulate_strategy(e).trace, {});
  const double predicted = strategies::make_strategy(e)->predict().iteration_seconds;
  const StageCosts costs = stage_costs(e, 1);
  const double free = strategies::pipeline::pipeline_seconds(ScheduleKind::one_f_one_b, 2, 6, 1, costs.times);
  EXPECT_GT(predicted - costs.optimizer - free, 2 * (100e-6 + 16384 * 8 / 100e6)) << "at least a round trip";
  for (const double t : s.iteration_seconds) EXPECT_NEAR(t / predicted, 1.0, 1e-9);
}

// The same where messages outlast compute (an H100 behind 10 Mbit/s): each stage's messages to
// its peer queue one after another, in the simulation as in the replay.
TEST(SimPipeline, TwoStagesWhoseMessagesQueueTakeTheReplaysTime) {
  std::string yaml = pipeline_experiment(2, "zb-h1", 6, 1, "{bandwidth: 10Mbps, latency: 50us}");
  yaml.replace(yaml.find(kSlowDevice), std::string_view(kSlowDevice).size(), "h100");
  const core::Experiment e = testing::experiment_from_yaml(yaml);
  const core::RunSummary s = core::summarize(testing::simulate_strategy(e).trace, {});
  const strategies::Prediction p = strategies::make_strategy(e)->predict();
  EXPECT_GT(p.bubble_fraction, 0.5) << "communication-bound";
  for (const double t : s.iteration_seconds) EXPECT_NEAR(t / p.iteration_seconds, 1.0, 1e-9);
}

using testing::kTrainsLikeOneRank;
using testing::worst_parameter_error;

// Payload mode trains the MLP for real: every schedule, with data-parallel replicas (their
// gradients all-reduced), ends three steps with the parameters of the same MLP trained on one
// rank (every activation and gradient went to the right stage, micro-batch and chunk).
class SimPipelinePayload : public ::testing::TestWithParam<std::string> {};

TEST_P(SimPipelinePayload, EveryMessageArrivesWhereTheScheduleSendsIt) {
  const std::string kind = GetParam();
  const core::Experiment e = testing::experiment_from_yaml(pipeline_experiment(
      4, kind, 8, kind == "interleaved" ? 2 : 1, "{bandwidth: 10Gbps, latency: 1us}", 2, true));
  const sim::SimResult r = testing::simulate_strategy(e);
  int messages = 0;
  for (const core::TraceEvent& ev : r.trace.events())
    messages += ev.lane == core::Lane::recv && r.trace.text(ev.comm) == "pp";
  const int v = kind == "interleaved" ? 2 : 1;
  // Per replica and iteration, each of the 4·v − 1 boundaries carries 8 activations and 8 gradients.
  EXPECT_EQ(messages, 2 * 3 * (4 * v - 1) * 8 * 2);
  EXPECT_LT(worst_parameter_error(r.trace, 8), kTrainsLikeOneRank);
}

INSTANTIATE_TEST_SUITE_P(Sim, SimPipelinePayload, ::testing::Values("gpipe", "1f1b", "interleaved", "zb-h1"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Phases carry micro-batch, stage and chunk; ranks are stages; samples count every replica's
// micro-batches; the memory counter peaks at the weights, gradients and Adam state plus the saved
// activations of the schedule's in-flight micro-batches (1F1B: p − s on stage s).
TEST(SimPipeline, TraceRolesAndMemoryFollowTheSchedule) {
  const core::Experiment e = testing::experiment_from_yaml(
      pipeline_experiment(4, "1f1b", 8, 1, "{bandwidth: 10Gbps, latency: 1us}", 2));
  const auto strategy = strategies::make_strategy(e);
  const sim::SimResult r = testing::simulate_strategy(e);
  const core::Roles roles = strategy->roles();
  ASSERT_EQ(roles.ranks.size(), 8u);
  for (int rank = 0; rank < 8; ++rank) {
    EXPECT_EQ(roles.of(rank).kind, core::RoleKind::stage);
    EXPECT_EQ(roles.of(rank).index, rank / 2) << "dp varies fastest by default (order tp-cp-ep-dp-pp)";
  }
  EXPECT_EQ(roles.samples_per_iteration, 1 * 8 * 2);

  std::map<int, std::vector<int>> forward_micro_batches;  // rank → in order, iteration 0
  std::map<int, double> peak;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "forward" && ev.iteration == 0) {
      forward_micro_batches[ev.rank].push_back(ev.attributes.get(core::Attribute::micro_batch));
      EXPECT_EQ(ev.attributes.get(core::Attribute::stage), e.mesh.coordinate(ev.rank, "pp"));
      EXPECT_EQ(ev.attributes.get(core::Attribute::chunk), 0);
    }
    if (ev.lane == core::Lane::counter) peak[ev.rank] = std::max(peak[ev.rank], ev.value);
  }
  EXPECT_EQ(forward_micro_batches[0], (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  const core::Layer& layer = e.require_model().layers.front();
  const double resident =
      static_cast<double>(layer.parameters) * (4 + 4 + 8);  // fp32 weights, gradients, Adam
  for (int rank = 0; rank < 8; ++rank) {
    const int stage = e.mesh.coordinate(rank, "pp");
    EXPECT_DOUBLE_EQ(peak[rank], resident + (4 - stage) * static_cast<double>(layer.saved_bytes)) << rank;
  }
  EXPECT_EQ(strategy->predict().memory_per_device,
            static_cast<std::uint64_t>(resident) + 4 * layer.saved_bytes);
}

// The small fp32 transformer (2 blocks; b = 4, s = 128, h = 256: b·s·h = 131072 floats, 512 KiB).
std::string tensor_parallel_experiment(const std::string& parallelism, const std::string& type,
                                       const std::string& options = "", bool payload = false) {
  return fmt::format(R"(
experiment:
  platform: {{topology: star, hosts: 8, link: {{bandwidth: 10Gbps, latency: 1us}}, device: h100}}
  model: {}/models/tiny-transformer.yaml
  parallelism: {}
  iterations: 1
  strategy: {{type: {}, micro_batches: 2{}}}
  simulation: {{trace: kernels, payload: {}}}
)",
                     DMLSIM_SOURCE_DIR, parallelism, type, options, payload);
}

// Per rank: collective → (count, bytes of each), over the run.
std::map<std::string, std::map<std::uint64_t, int>> collectives_of(const core::Trace& trace, int rank) {
  std::map<std::string, std::map<std::uint64_t, int>> out;
  for (const core::TraceEvent& ev : trace.events()) {
    if (ev.rank == rank && ev.lane == core::Lane::collective && !core::is_collective_part(ev))
      ++out[std::string(trace.text(ev.category))][ev.bytes];
  }
  return out;
}

constexpr std::uint64_t kBsh = 4 * 128 * 256 * 4;  // bytes of b·s·h fp32 values
constexpr std::uint64_t kBs = 4 * 128 * 4;         // one fp32 per token: the cross entropy's all-reduces

class SimTensorParallel : public ::testing::TestWithParam<int> {};

// Megatron-LM (Shoeybi et al. 2019, §3): per block and micro-batch, two all-reduces of b·s·h in
// forward and two in backward; the vocabulary-parallel embedding adds one in forward and the LM
// head one in backward: m·(4L + 2) in all; and the vocabulary-parallel cross entropy three of one
// fp32 per token (maximum, target logit, sum of exponentials) per micro-batch. Each is on the
// critical path (the iteration is every kernel plus every all-reduce's ring closed form, as
// explain predicts).
TEST_P(SimTensorParallel, EveryBlockAllReducesTwiceEachWay) {
  const int t = GetParam();
  const core::Experiment e = testing::experiment_from_yaml(
      tensor_parallel_experiment(fmt::format("{{tp: {}}}", t), "tensor-parallel"));
  const sim::SimResult r = testing::simulate_strategy(e);
  const int m = 2, blocks = 2;
  for (int rank = 0; rank < t; ++rank) {
    const auto c = collectives_of(r.trace, rank);
    ASSERT_EQ(c.size(), 1u) << "all-reduces only";
    EXPECT_EQ(c.at("all-reduce"), (std::map<std::uint64_t, int>{{kBs, 3 * m}, {kBsh, m * (4 * blocks + 2)}}));
  }
  const core::RunSummary s = core::summarize(r.trace, {});
  EXPECT_NEAR(s.iteration_seconds.at(0) / strategies::make_strategy(e)->predict().iteration_seconds, 1.0,
              1e-9);
}

INSTANTIATE_TEST_SUITE_P(Sim, SimTensorParallel, ::testing::Values(2, 4));

// tp = 1 (a pipeline of the same model): no tensor-parallel collective at all.
TEST(SimTensorParallel, DegreeOneRunsNoCollective) {
  const core::Experiment e =
      testing::experiment_from_yaml(tensor_parallel_experiment("{tp: 1, pp: 2}", "hybrid"));
  const sim::SimResult r = testing::simulate_strategy(e);
  EXPECT_TRUE(collectives_of(r.trace, 0).empty());
  EXPECT_TRUE(collectives_of(r.trace, 1).empty());
}

// Sequence parallelism (Korthikanti et al. 2022, §4.2.2): each all-reduce becomes a reduce-scatter,
// and the sequence-split input is all-gathered before the column-parallel GEMMs (forward), and
// again in backward. In forward the bytes moved are those of tensor parallelism: a ring
// reduce-scatter plus all-gather moves what a ring all-reduce moves.
TEST(SimTensorParallel, SequenceParallelScattersAndGathers) {
  const core::Experiment e = testing::experiment_from_yaml(
      tensor_parallel_experiment("{tp: 2}", "tensor-parallel", ", sequence_parallel: true"));
  const sim::SimResult r = testing::simulate_strategy(e);
  const int m = 2, blocks = 2;
  const auto c = collectives_of(r.trace, 0);
  EXPECT_EQ(c.at("all-reduce"), (std::map<std::uint64_t, int>{{kBs, 3 * m}})) << "the cross entropy's";
  EXPECT_EQ(c.at("reduce-scatter"), (std::map<std::uint64_t, int>{{kBsh, m * (4 * blocks + 2)}}));
  // Per block 2 in forward, 4 in backward; the LM head gathers its input in forward and again in
  // backward, and the embedding's backward gathers the gradient of its forward reduce-scatter.
  EXPECT_EQ(c.at("all-gather"), (std::map<std::uint64_t, int>{{kBsh, m * (6 * blocks + 3)}}));
  const core::RunSummary s = core::summarize(r.trace, {});
  EXPECT_NEAR(s.iteration_seconds.at(0) / strategies::make_strategy(e)->predict().iteration_seconds, 1.0,
              1e-9);
}

// dp 2 × tp 2 × pp 2 in payload mode: every tensor-parallel collective's result is checked on
// every member, every activation and gradient where it arrives.
TEST(SimHybrid, EveryDimensionMovesCheckedData) {
  const core::Experiment e = testing::experiment_from_yaml(
      tensor_parallel_experiment("{tp: 2, dp: 2, pp: 2}", "hybrid", ", schedule: 1f1b", true));
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto roles = strategies::make_strategy(e)->roles();
  for (int rank = 0; rank < 8; ++rank) {
    EXPECT_EQ(roles.of(rank).index, e.mesh.coordinate(rank, "pp"));
    EXPECT_FALSE(collectives_of(r.trace, rank).at("all-reduce").empty());
  }
  EXPECT_EQ(e.mesh.coordinate(1, "tp"), 1) << "tp varies fastest";
}

// Tensor parallelism and hybrids of an MLP (Megatron's column- and row-parallel pairs, their
// all-reduces carrying the real partial sums) train like one rank in payload mode, three steps,
// with ZeRO's reduce-scatter and all-gather on the real gradients and weights.
class SimTrainsLikeOneRank : public ::testing::TestWithParam<std::tuple<std::string, std::string, int>> {};

TEST_P(SimTrainsLikeOneRank, SameParametersAfterThreeSteps) {
  const auto& [parallelism, strategy, ranks] = GetParam();
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(R"(
experiment:
  platform: {{topology: star, hosts: 8, link: {{bandwidth: 10Gbps, latency: 1us}}, device: cpu}}
  model: {{type: mlp, widths: [32, 64, 64, 64, 64, 16], batch: 4, dtype: fp32}}
  parallelism: {}
  iterations: 3
  strategy: {}
  simulation: {{trace: messages, payload: true}}
)",
                                                                       parallelism, strategy));
  const sim::SimResult r = testing::simulate_strategy(e);
  EXPECT_LT(worst_parameter_error(r.trace, ranks), kTrainsLikeOneRank);
}

std::string trains_like_one_rank_name(const ::testing::TestParamInfo<SimTrainsLikeOneRank::ParamType>& info) {
  constexpr std::array<const char*, 9> kCases{"tp2",
                                              "tp4",
                                              "hybrid_1f1b",
                                              "hybrid_zb_h1_zero1",
                                              "tp2_dp3_zero2",
                                              "hybrid_interleaved_overlapped_sync",
                                              "hybrid_micro_batches_of_2",
                                              "hybrid_interleaved_overlapped_buckets",
                                              "pipeline_zb_h1_overlapped_buckets"};
  return kCases.at(info.index);
}

INSTANTIATE_TEST_SUITE_P(
    Sim, SimTrainsLikeOneRank,
    ::testing::Values(
        std::tuple{"{tp: 2}", "{type: tensor-parallel, micro_batches: 3}", 2},
        std::tuple{"{tp: 4}", "{type: tensor-parallel, micro_batches: 3}", 4},
        std::tuple{"{tp: 2, dp: 2, pp: 2}", "{type: hybrid, schedule: 1f1b, micro_batches: 4}", 8},
        std::tuple{"{tp: 2, dp: 2, pp: 2}", "{type: hybrid, schedule: zb-h1, micro_batches: 3, zero: 1}", 8},
        std::tuple{"{tp: 2, dp: 3}", "{type: tensor-parallel, micro_batches: 2, zero: 2}", 6},
        std::tuple{
            "{tp: 2, dp: 2, pp: 2}",
            "{type: hybrid, schedule: interleaved, chunks: 2, micro_batches: 4, overlap_grad_reduce: true}",
            8},
        std::tuple{"{tp: 2, dp: 2, pp: 2}",
                   "{type: hybrid, schedule: 1f1b, micro_batches: 2, micro_batch_size: 2}", 8},
        std::tuple{
            "{tp: 2, dp: 2, pp: 2}",
            "{type: hybrid, schedule: interleaved, chunks: 2, micro_batches: 4, overlap_grad_reduce: true, "
            "bucket_size: 4KiB}",
            8},
        std::tuple{"{dp: 2, pp: 2}",
                   "{type: pipeline, schedule: zb-h1, micro_batches: 3, overlap_grad_reduce: true, "
                   "bucket_size: 8KiB}",
                   4}),
    trains_like_one_rank_name);

// ZeRO over dp 2 (tp 2, so tp's all-reduces are apart): stages 1 and 2 reduce-scatter the
// gradients and all-gather the weights once per iteration (one chunk); stage 3 gathers each of the
// 4 layers' weights before its forward and its backward and reduce-scatters its gradients after,
// per micro-batch, here without prefetching (on this star, a prefetched gather would share host
// links with tp's all-reduces: SimZeroPrefetch). Payload mode checks every result; the time is
// explain's (1e-9).
class SimZero : public ::testing::TestWithParam<int> {};

TEST_P(SimZero, CollectivesPerStageAndTheirTime) {
  const int zero = GetParam();
  const core::Experiment e = testing::experiment_from_yaml(tensor_parallel_experiment(
      "{tp: 2, dp: 2}", "tensor-parallel",
      fmt::format(", zero: {}{}", zero, zero == 3 ? ", zero_prefetch: false" : ""), true));
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto c = collectives_of(r.trace, 0);
  auto count = [&](const std::string& collective) {
    int n = 0;
    if (c.count(collective)) {
      // Not tp's: its b·s·h collectives, and the cross entropy's all-reduces of one float per token
      // (the head's LayerNorm is 2048 bytes too, and ZeRO-3 gathers it).
      for (const auto& [bytes, k] : c.at(collective))
        n += bytes == kBsh || (collective == "all-reduce" && bytes == kBs) ? 0 : k;
    }
    return n;
  };
  const int m = 2, layers = 4;
  EXPECT_EQ(count("all-reduce"), 0) << "no gradient all-reduce";
  EXPECT_EQ(count("reduce-scatter"), zero == 3 ? m * layers : 1);
  EXPECT_EQ(count("all-gather"), zero == 3 ? 2 * m * layers : 1);
  const core::RunSummary s = core::summarize(r.trace, {});
  EXPECT_NEAR(s.iteration_seconds.at(0) / strategies::make_strategy(e)->predict().iteration_seconds, 1.0,
              1e-9);
}

INSTANTIATE_TEST_SUITE_P(Sim, SimZero, ::testing::Values(1, 2, 3));

// ZeRO-3 with DeepSpeed's prefetch, one layer ahead on the dp stream, over dp 4: the same
// collectives (payload mode checks each), each layer waiting only for its own gather while the
// next is on its way, gradient reduce-scatters queued behind. The iteration is explain's
// recurrence (1e-9), shorter than without prefetching, and gathers overlap compute in the trace.
TEST(SimZeroPrefetch, GathersOneLayerAheadOverlapCompute) {
  const std::string yaml = tensor_parallel_experiment("{dp: 4}", "tensor-parallel", ", zero: 3", true);
  const core::Experiment e = testing::experiment_from_yaml(yaml);
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto c = collectives_of(r.trace, 0);
  const int m = 2, layers = 4;
  auto count = [&](const std::string& collective) {
    int n = 0;
    for (const auto& [bytes, k] : c.at(collective)) n += k;
    return n;
  };
  EXPECT_EQ(count("reduce-scatter"), m * layers);
  EXPECT_EQ(count("all-gather"), 2 * m * layers);
  const core::RunSummary s = core::summarize(r.trace, {});
  const double predicted = strategies::make_strategy(e)->predict().iteration_seconds;
  EXPECT_NEAR(s.iteration_seconds.at(0) / predicted, 1.0, 1e-9);
  const core::Experiment unprefetched = testing::experiment_from_yaml(
      tensor_parallel_experiment("{dp: 4}", "tensor-parallel", ", zero: 3, zero_prefetch: false", true));
  EXPECT_LT(predicted, strategies::make_strategy(unprefetched)->predict().iteration_seconds);
  int overlapping = 0;
  for (const core::TraceEvent& g : r.trace.events()) {
    if (g.rank != 0 || g.lane != core::Lane::collective || r.trace.text(g.category) != "all-gather") continue;
    for (const core::TraceEvent& k : r.trace.events()) {
      if (k.rank == 0 && k.lane == core::Lane::compute && k.start < g.end && g.start < k.end) {
        ++overlapping;
        break;
      }
    }
  }
  // Every forward gather but the first runs beside the layer before it (in backward a gather may
  // wait behind a reduce-scatter until that layer is done).
  EXPECT_GE(overlapping, m * (layers - 1));
}

// Megatron-LM's overlap_grad_reduce, by chunk: with two chunks per stage (interleaved 1F1B), a
// chunk's dp all-reduce starts on the dp stream once its gradients are complete, while the other
// chunk still computes. dp inside a node (NVLink) and pp across nodes (NIC), so that the
// overlapped all-reduces share no link with the pipeline's messages: the simulation is explain's
// replay of the stream (1e-9), shorter than syncing after the pipeline. Payload mode checks the sums.
// The small transformer as dp 2 (inside a node, NVLink) × pp 2 (across, NIC) on `device`, one
// iteration in payload mode, with the pipeline's `strategy` fields.
core::Experiment overlap_experiment(const std::string& device, const std::string& strategy) {
  return testing::experiment_from_yaml(fmt::format(R"(
experiment:
  platform: {{topology: gpu-nodes, nodes: 2, gpus_per_node: 2, nvlink: {{bandwidth: 100Gbps, latency: 1us}},
             nic: {{bandwidth: 10Gbps, latency: 2us}}, device: {}}}
  model: {}/models/tiny-transformer.yaml
  parallelism: {{dp: 2, pp: 2, order: dp-pp}}
  iterations: 1
  strategy: {{type: pipeline, micro_batches: 4, {}}}
  simulation: {{trace: kernels, payload: true}}
)",
                                                   device, DMLSIM_SOURCE_DIR, strategy));
}

TEST(SimOverlapGradReduce, EachChunksSyncStartsWhenItsGradientsAreComplete) {
  const auto experiment = [](bool overlap) {
    return overlap_experiment(
        "h100", fmt::format("schedule: interleaved, chunks: 2, overlap_grad_reduce: {}", overlap));
  };
  const core::Experiment e = experiment(true);
  const sim::SimResult r = testing::simulate_strategy(e);
  const core::RunSummary s = core::summarize(r.trace, {});
  const double predicted = strategies::make_strategy(e)->predict().iteration_seconds;
  EXPECT_NEAR(s.iteration_seconds.at(0) / predicted, 1.0, 1e-9);
  const double after_the_pipeline = strategies::make_strategy(experiment(false))->predict().iteration_seconds;
  EXPECT_LT(predicted, after_the_pipeline);
  // On rank 0, chunk 1's all-reduce starts before the stage's last backward (of chunk 0) ends.
  double first_sync = 1e9, last_backward = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.rank != 0) continue;
    if (ev.lane == core::Lane::collective && !core::is_collective_part(ev))
      first_sync = std::min(first_sync, ev.start);
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "backward")
      last_backward = std::max(last_backward, ev.end);
  }
  EXPECT_LT(first_sync, last_backward);
}

// overlap_grad_reduce with buckets smaller than a chunk (Megatron-LM's and DDP's buckets): each
// bucket's all-reduce starts as soon as the chunk's last backward has done its layers, while the
// backward goes on; explain's replay of the stream (each bucket ready where its layers end in the
// pass) is the simulation (1e-9), and the exposed sync is shorter than with a bucket per chunk
// (on CPUs, where a backward is long beside the NVLink-class all-reduces it can hide).
TEST(SimOverlapGradReduce, BucketsStartAsTheirLayersAreDoneInTheLastBackward) {
  const auto experiment = [](const std::string& buckets) {
    return overlap_experiment("cpu", "overlap_grad_reduce: true" + buckets);
  };
  const core::Experiment e = experiment(", bucket_size: 1MiB");
  const sim::SimResult r = testing::simulate_strategy(e);
  const core::RunSummary s = core::summarize(r.trace, {});
  const double predicted = strategies::make_strategy(e)->predict().iteration_seconds;
  EXPECT_NEAR(s.iteration_seconds.at(0) / predicted, 1.0, 1e-9);
  EXPECT_LT(predicted, strategies::make_strategy(experiment(""))->predict().iteration_seconds);
  // On rank 0 (stage 0), several all-reduces, the first before its last backward ends.
  double first_sync = 1e9, last_backward = 0;
  int syncs = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.rank != 0) continue;
    if (ev.lane == core::Lane::collective && !core::is_collective_part(ev)) {
      first_sync = std::min(first_sync, ev.start);
      ++syncs;
    }
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "backward")
      last_backward = std::max(last_backward, ev.end);
  }
  EXPECT_GT(syncs, 1);
  EXPECT_LT(first_sync, last_backward);
}

// The shipped Llama 2 70B example on 64 H100s (flows): the simulation takes what `explain`'s
// closed form says — the schedule replayed with each stage's kernels and tp collectives, then the
// ZeRO 1 reduce-scatter, optimizer and all-gather.
TEST(SimShippedExamples, Llama2On64H100TakesItsClosedForm) {
  const core::Experiment e =
      strategies::load_experiment(std::string(DMLSIM_SOURCE_DIR) + "/experiments/llama2-70b-64-h100.yaml");
  const double predicted = strategies::make_strategy(e)->predict().iteration_seconds;
  const sim::SimResult r = testing::simulate_strategy(e);
  EXPECT_NEAR(r.simulated_seconds / predicted, 1.0, 1e-3)
      << "simulated " << r.simulated_seconds << " s, closed form " << predicted << " s";
}

}  // namespace
}  // namespace dmlsim
