// Model generators against published totals.
#include <gtest/gtest.h>

#include "core/model.hpp"

namespace dmlsim::core {
namespace {

TransformerConfig gpt2_xl() {
  // GPT-2 XL (Radford et al. 2019): 48 layers, d_model 1600, 25 heads, context 1024, vocab 50257.
  TransformerConfig c;
  c.layers = 48;
  c.hidden = 1600;
  c.heads = 25;
  c.sequence = 1024;
  c.vocabulary = 50257;
  c.micro_batch = 1;
  return c;
}

TEST(Transformer, Gpt2XlHasAboutOnePointFiveBillionParameters) {
  const Model m = make_transformer(gpt2_xl());
  // Published: 1558M parameters (with tied embeddings); the released checkpoint has 1 557 611 200:
  // 48 blocks of 12h² + 13h, token and position embeddings (V + s)·h, the final layer norm 2h.
  const std::int64_t h = 1600;
  EXPECT_EQ(m.parameters(), 48 * (12 * h * h + 13 * h) + (50257 + 1024) * h + 2 * h);
  EXPECT_EQ(m.parameters(), 1'557'611'200);
}

TEST(Transformer, BlockFlopsFollowNarayananFormula) {
  TransformerConfig c = gpt2_xl();
  c.micro_batch = 4;
  const Model m = make_transformer(c);
  const double b = 4, s = 1024, h = 1600, v = 50257;
  double gemm_flops = 0;
  for (const Layer& l : m.layers) {
    for (const Kernel& k : l.forward) {
      if (std::holds_alternative<Gemm>(k.shape)) gemm_flops += k.flops();
    }
  }
  // 24·b·s·h² + 4·b·s²·h per block, plus 2·b·s·h·V for the LM head.
  const double expected = 48 * (24 * b * s * h * h + 4 * b * s * s * h) + 2 * b * s * h * v;
  EXPECT_DOUBLE_EQ(gemm_flops, expected);
}

TEST(Transformer, TrainingFlopsAreAboutSixTimesParametersTimesTokens) {
  const Model m = make_transformer(gpt2_xl());
  const double tokens = 1024;
  const double training = m.forward_flops() + m.backward_flops();
  const double approx = 6 * static_cast<double>(m.parameters()) * tokens;
  // 6·P·T ignores attention scores and elementwise work: above it, within 25 %.
  EXPECT_GT(training / approx, 1.0);
  EXPECT_LT(training / approx, 1.25);
  // Accounted for: plus the attention scores (forward 4·s²·h per block, backward twice that),
  // minus the weights without GEMMs (position embeddings s·h, biases and norms 13h per block, the
  // final norm 2h); what is left is elementwise work, 0.2 %.
  const double s = 1024, h = 1600;
  const double attention = 3 * 48 * 4 * s * s * h;
  const double no_gemm = 6 * tokens * (s * h + 48 * 13 * h + 2 * h);
  EXPECT_NEAR(training / (approx + attention - no_gemm), 1.0, 0.005);
}

TEST(Transformer, BackwardGemmsDoubleTheForwardGemms) {
  // Each GEMM has two backward GEMMs (input and weight gradient) of the same size.
  const Model m = make_transformer(gpt2_xl());
  double forward = 0, backward = 0;
  for (const Layer& l : m.layers) {
    for (const Kernel& k : l.forward) forward += std::holds_alternative<Gemm>(k.shape) ? k.flops() : 0;
    for (const Kernel& k : l.backward) backward += std::holds_alternative<Gemm>(k.shape) ? k.flops() : 0;
  }
  EXPECT_DOUBLE_EQ(backward, 2 * forward);
}

TEST(Mlp, ParametersAndFlops) {
  const Model m = make_mlp({{784, 1024, 10}, 32, DType::fp32});
  EXPECT_EQ(m.parameters(), 784 * 1024 + 1024 + 1024 * 10 + 10);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_DOUBLE_EQ(m.layers[0].forward[0].flops(), 2.0 * 32 * 1024 * 784);
  EXPECT_EQ(m.layers[1].activation_bytes, 32u * 10 * 4);
}

}  // namespace
}  // namespace dmlsim::core
