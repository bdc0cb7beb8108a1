// The MLP arithmetic that payload mode trains with (strategies/training/mlp_numerics.hpp), without
// a backend: a two-stage pipeline run by hand, micro-batch by micro-batch, ends with the
// parameters of the same MLP trained on one rank (float rounding only), and the check it reports
// sees a tensor handed to the wrong micro-batch.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "strategies/training/mlp_numerics.hpp"

namespace dmlsim::strategies::numerics {
namespace {

const std::vector<std::int64_t> kWidths{12, 24, 24, 8};
constexpr std::int64_t kRows = 4;  // per micro-batch
constexpr int kMicroBatches = 3;
constexpr std::int64_t kGlobalBatch = kRows * kMicroBatches;
constexpr int kIterations = 3;

const TensorSum kNoSum = [](std::span<float>) { FAIL() << "no tensor-parallel sum with a degree of 1"; };

// Layer 0 on stage 0, layers 1 and 2 on stage 1; GPipe's order. `swap` hands stage 1 the
// activation of micro-batch 1 for micro-batch 0 and back (a wrong message).
double pipeline_error(bool swap) {
  const std::vector<ChunkLayers> first{{0, 1}}, second{{1, 3}};
  StageTrainer s0(kWidths, first, 1, 0, kGlobalBatch), s1(kWidths, second, 1, 0, kGlobalBatch);
  for (int it = 0; it < kIterations; ++it) {
    std::vector<std::vector<float>> activations;
    for (int mb = 0; mb < kMicroBatches; ++mb)
      activations.push_back(s0.forward(0, mb, it * kGlobalBatch + mb * kRows, kRows, {}, kNoSum));
    if (swap) std::swap(activations[0], activations[1]);
    for (int mb = 0; mb < kMicroBatches; ++mb)
      s1.forward(0, mb, it * kGlobalBatch + mb * kRows, kRows, activations[static_cast<std::size_t>(mb)],
                 kNoSum);
    for (int mb = kMicroBatches; mb-- > 0;) s0.backward(0, mb, s1.backward(0, mb, {}, kNoSum), kNoSum);
    for (StageTrainer* s : {&s0, &s1}) {
      const std::vector<float> g = s->gradients(0);
      s->step(0, g, 0, g.size());
    }
  }
  const std::vector<LayerState> reference = train_one_rank(kWidths, kGlobalBatch, kIterations);
  return std::max(s0.error_against(reference).relative, s1.error_against(reference).relative);
}

TEST(MlpNumerics, APipelineTrainsLikeOneRank) {
  // Sums over 4 micro-batch rows instead of 12 batch rows: float rounding, far below 1e-3 of what
  // training changed.
  EXPECT_LT(pipeline_error(false), 1e-4);
}

TEST(MlpNumerics, AWrongMessageIsSeen) {
  EXPECT_GT(pipeline_error(true), 1e-2);
}

// Training moves every tensor well beyond the tolerance: the comparison is not against values
// that stayed at their initialization.
TEST(MlpNumerics, TrainingChangesEveryTensor) {
  const std::vector<LayerState> trained = train_one_rank(kWidths, kGlobalBatch, kIterations);
  for (int l = 0; l < 3; ++l) {
    const LayerState initial = initial_layer(kWidths, l);
    double weight = 0, bias = 0;
    for (std::size_t i = 0; i < initial.weight.size(); ++i)
      weight = std::max(weight,
                        double(std::abs(trained[static_cast<std::size_t>(l)].weight[i] - initial.weight[i])));
    for (std::size_t i = 0; i < initial.bias.size(); ++i)
      bias = std::max(bias, double(std::abs(trained[static_cast<std::size_t>(l)].bias[i] - initial.bias[i])));
    EXPECT_GT(weight, 1e-3) << l;
    EXPECT_GT(bias, 1e-3) << l;
  }
}

// Megatron's shares: a column-parallel layer's weight rows and bias, a row-parallel layer's weight
// columns (its bias whole), are slices of the same initial values.
TEST(MlpNumerics, SharesAreSlicesOfTheWholeLayer) {
  for (int l = 0; l < 3; ++l) {
    const LayerState whole = initial_layer(kWidths, l);
    for (int t = 0; t < 2; ++t) {
      const LayerState share = initial_layer(kWidths, l, 2, t);
      EXPECT_EQ(parameter_error(share, whole, whole).relative, 0.0) << l << " " << t;
      EXPECT_EQ(share.weight.size() * 2, whole.weight.size());
      EXPECT_EQ(share.bias.size() * (share.split.row ? 1 : 2), whole.bias.size());
    }
  }
}

}  // namespace
}  // namespace dmlsim::strategies::numerics
