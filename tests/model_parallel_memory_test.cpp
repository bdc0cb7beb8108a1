// Memory per GPU of model parallelism against hand computations for GPT-3 175B (h = 12288, a = 96,
// s = 2048, b = 1) at tp 8: the training state as ZeRO partitions it (Rajbhandari et al. 2020,
// fig. 1: 2Ψ + 2Ψ + 12Ψ bytes for bf16 weights, gradients and mixed-precision Adam, the optimizer
// state over N_d under ZeRO 1, the gradients too under 2, everything under 3) and the activations
// a 1F1B stage keeps (Korthikanti et al. 2022, table 2: s·b·h·(10 + 24/t + 5as/(ht)) bytes per
// block with tensor parallelism t, without the 5as/(ht) term under selective recomputation),
// times the p − s micro-batches in flight on stage s.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/config_node.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim {
namespace {

constexpr double h = 12288, a = 96, s = 2048, b = 1, t = 8;

core::Experiment gpt3(const std::string& parallelism, const std::string& options) {
  const std::string yaml = fmt::format(R"(experiment:
  platform: {0}/platforms/dgx-h100-16k.yaml
  model: {0}/models/gpt3-175b.yaml
  parallelism: {1}
  strategy: {{type: hybrid, check_memory: false{2}}}
)",
                                       DMLSIM_SOURCE_DIR, parallelism, options);
  return core::parse_experiment(core::ConfigNode::load_string(yaml, "gpt3.yaml").at("experiment"));
}

// A transformer block's parameters on one of t tensor-parallel ranks (Megatron-LM): QKV 3h²/t + 3h/t,
// the projection h²/t + h (its bias whole), fc1 4h²/t + 4h/t, fc2 4h²/t + h, two LayerNorms 4h.
constexpr double kBlockParameters = 12 * h * h / t + 7 * h / t + 6 * h;

strategies::Prediction::MemoryUse stage_memory(const core::Experiment& e, int stage) {
  const strategies::Prediction p = strategies::make_strategy(e)->predict();
  return p.memory.at(static_cast<std::size_t>(stage));
}

// Stage 1 of pp 8 holds 12 blocks (the embedding and the head sit on the first and last stages).
constexpr const char* kTwelvePerStage =
    ", layers_per_chunk: [13, 12, 12, 12, 12, 12, 12, 13], micro_batches: 16";

TEST(ModelParallelMemory, Gpt3OnTp8Pp8WithAndWithoutSelectiveRecompute) {
  const double psi = 12 * kBlockParameters;
  ASSERT_EQ(static_cast<std::int64_t>(kBlockParameters), [] {
    const core::Model m = gpt3("{tp: 8, pp: 8}", "").require_model().rebuilt({0, 8});
    return m.layers[1].parameters;
  }()) << "the block's tensor-parallel share";
  for (const bool selective : {false, true}) {
    const core::Experiment e =
        gpt3("{tp: 8, pp: 8}", std::string(kTwelvePerStage) + (selective ? ", recompute: selective" : ""));
    const auto use = stage_memory(e, 1);
    EXPECT_EQ(use.ranks, "stage 1");
    EXPECT_EQ(use.weights, static_cast<std::uint64_t>(2 * psi));
    EXPECT_EQ(use.gradients, static_cast<std::uint64_t>(2 * psi));
    EXPECT_EQ(use.optimizer, static_cast<std::uint64_t>(12 * psi));
    const double per_block = s * b * h * (10 + 24 / t + (selective ? 0 : 5 * a * s / (h * t)));
    EXPECT_EQ(use.activations, static_cast<std::uint64_t>(7 * 12 * per_block)) << "p − s = 7 in flight";
    EXPECT_EQ(use.capacity, 80ull * 1000 * 1000 * 1000);
  }
  // Without recomputation stage 1 needs 43.5 GB of state and 48.6 GB of activations: more than an
  // H100's 80 GB; selective recomputation brings it to 75.1 GB (Korthikanti et al.: it fits).
  EXPECT_GT(stage_memory(gpt3("{tp: 8, pp: 8}", kTwelvePerStage), 1).total(), 80e9);
  EXPECT_LT(stage_memory(gpt3("{tp: 8, pp: 8}", std::string(kTwelvePerStage) + ", recompute: selective"), 1)
                .total(),
            80e9);
}

TEST(ModelParallelMemory, ZeroStagesPartitionTheTrainingState) {
  const double psi = 12 * kBlockParameters;
  const double n = 2;
  auto share = [&](double x) { return static_cast<std::uint64_t>(std::ceil(x / n)); };
  // ZeRO 1 with a pipeline (Megatron-LM's distributed optimizer): the optimizer state over N_d.
  const auto one = stage_memory(gpt3("{tp: 8, dp: 2, pp: 8}", std::string(kTwelvePerStage) + ", zero: 1"), 1);
  EXPECT_EQ(one.weights, static_cast<std::uint64_t>(2 * psi));
  EXPECT_EQ(one.gradients, static_cast<std::uint64_t>(2 * psi));
  EXPECT_EQ(one.optimizer, 12 * share(psi));
  // ZeRO 2 and 3 partition what a pipeline accumulates: without one, on the whole model.
  const double whole = [] {
    const core::Model m = gpt3("{tp: 8, dp: 2}", "").require_model().rebuilt({0, 8});
    return static_cast<double>(m.parameters());
  }();
  const auto two = stage_memory(gpt3("{tp: 8, dp: 2}", ", zero: 2"), 0);
  EXPECT_EQ(two.ranks, "every rank");
  EXPECT_EQ(two.weights, static_cast<std::uint64_t>(2 * whole));
  EXPECT_EQ(two.gradients, 2 * share(whole));
  EXPECT_EQ(two.optimizer, 12 * share(whole));
  const auto three = stage_memory(gpt3("{tp: 8, dp: 2}", ", zero: 3"), 0);
  EXPECT_EQ(three.weights, 2 * share(whole));
  EXPECT_EQ(three.gradients, 2 * share(whole));
  EXPECT_EQ(three.optimizer, 12 * share(whole));
  try {
    (void)strategies::make_strategy(gpt3("{tp: 8, dp: 2, pp: 8}", ", zero: 2"));
    ADD_FAILURE() << "ZeRO 2 with a pipeline was accepted";
  } catch (const core::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("field 'experiment.strategy.zero': ZeRO stages 2 and 3"),
              std::string::npos)
        << err.what();
  }
}

// The shipped GPT-3 example (tp 8 × pp 16 × dp 8 on A100 80 GB, selective recomputation): every
// stage fits; the first, with the embedding and 16 micro-batches in flight, holds the most.
TEST(ModelParallelMemory, ShippedGpt3ExampleFitsEveryStage) {
  const core::Experiment e =
      strategies::load_experiment(std::string(DMLSIM_SOURCE_DIR) + "/experiments/gpt3-175b-1024-a100.yaml");
  const strategies::Prediction p = strategies::make_strategy(e)->predict();
  ASSERT_EQ(p.memory.size(), 16u);
  for (const auto& m : p.memory) EXPECT_LE(m.total(), m.capacity) << m.ranks;
  EXPECT_EQ(p.memory_per_device, p.memory.front().total());
}

// The shipped Llama 2 70B example (tp 8 × pp 4 × dp 2 on H100 80 GB, selective recomputation,
// ZeRO 1): every stage fits, the first (embedding and 4 micro-batches in flight) holding the most;
// its weights are 20 blocks and the embedding cut by tp 8, in bf16.
TEST(ModelParallelMemory, ShippedLlama2ExampleFitsEveryStage) {
  const core::Experiment e =
      strategies::load_experiment(std::string(DMLSIM_SOURCE_DIR) + "/experiments/llama2-70b-64-h100.yaml");
  const strategies::Prediction p = strategies::make_strategy(e)->predict();
  ASSERT_EQ(p.memory.size(), 4u);
  for (const auto& m : p.memory) EXPECT_LE(m.total(), m.capacity) << m.ranks;
  EXPECT_EQ(p.memory_per_device, p.memory.front().total());
  // A Llama 2 block: attention q and o h×h, k and v h×(h·8/64) (grouped-query), SwiGLU 3·h·f, two
  // RMSNorms of h; the embedding vocabulary × h. tp 8 cuts the matrices, not the norms.
  const double hidden = 8192, ffn = 28672;
  const double matrices = 2 * hidden * hidden + 2 * hidden * (hidden / 8) + 3 * hidden * ffn;
  const double stage0 = 20 * (matrices / 8 + 2 * hidden) + 32000 * hidden / 8;
  EXPECT_NEAR(static_cast<double>(p.memory.front().weights) / (2 * stage0), 1.0, 1e-3);
}

}  // namespace
}  // namespace dmlsim
