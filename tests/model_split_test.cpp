// A model re-cut for one rank: micro-batch, tensor and sequence parallelism, recomputation; the
// kernels' split roles and the tensor-parallel collectives they imply, against Megatron-LM and
// Korthikanti et al. 2022.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/model.hpp"

namespace dmlsim::core {
namespace {

// GPT-3 175B's block shapes (Brown et al. 2020, table 2.1), two layers to keep the test fast.
TransformerConfig gpt3(std::int64_t layers = 2) {
  TransformerConfig c;
  c.name = "gpt3";
  c.layers = layers;
  c.hidden = 12288;
  c.heads = 96;
  c.sequence = 2048;
  c.vocabulary = 50257;
  c.micro_batch = 1;
  return c;
}

double flops_of(const std::vector<Kernel>& kernels, Split split) {
  double total = 0;
  for (const Kernel& k : kernels) total += k.split == split ? k.flops() : 0;
  return total;
}

// Korthikanti et al. 2022, table 2, per layer: s·b·h·(34 + 5as/h) without parallelism; with
// tensor parallelism t, s·b·h·(10 + 24/t + 5as/(ht)); with sequence parallelism too,
// s·b·h/t·(34 + 5as/h); selective recomputation drops the 5as/h terms; full keeps 2·s·b·h.
TEST(ModelSplit, SavedActivationsFollowKorthikantiTable2) {
  const double s = 2048, h = 12288, a = 96;
  for (const std::int64_t t : {1, 2, 8}) {
    for (const std::int64_t b : {1, 4}) {
      const double sbh = s * static_cast<double>(b) * h, td = static_cast<double>(t);
      auto saved = [&](bool sequence_parallel, Recompute recompute) {
        const Model m = make_transformer(gpt3(), {b, t, sequence_parallel, recompute});
        return static_cast<double>(m.layers[1].saved_bytes);
      };
      EXPECT_EQ(saved(false, Recompute::none), sbh * (10 + 24 / td + 5 * a * s / (h * td))) << t << " " << b;
      EXPECT_EQ(saved(true, Recompute::none), sbh / td * (34 + 5 * a * s / h)) << t << " " << b;
      EXPECT_EQ(saved(false, Recompute::selective), sbh * (10 + 24 / td)) << t << " " << b;
      EXPECT_EQ(saved(true, Recompute::selective), sbh * 34 / td) << t << " " << b;
      EXPECT_EQ(saved(false, Recompute::full), sbh * 2) << t << " " << b;
      // Megatron keeps the sequence-split input of each block under sequence parallelism.
      EXPECT_EQ(saved(true, Recompute::full), sbh * 2 / td) << t << " " << b;
    }
  }
}

TEST(ModelSplit, TensorParallelSharesAddUpToTheWholeBlock) {
  const Model whole = make_transformer(gpt3());
  const Layer& w = whole.layers[1];
  for (const std::int64_t t : {2, 4, 8}) {
    const Model part = make_transformer(gpt3(), {0, t});
    const Layer& p = part.layers[1];
    ASSERT_EQ(p.forward.size(), w.forward.size());
    for (const Split split : {Split::column, Split::row, Split::head}) {
      EXPECT_DOUBLE_EQ(flops_of(p.forward, split) * static_cast<double>(t), flops_of(w.forward, split));
      EXPECT_DOUBLE_EQ(flops_of(p.backward, split) * static_cast<double>(t), flops_of(w.backward, split));
    }
    // Without sequence parallelism norms and residuals are done whole on every rank.
    EXPECT_DOUBLE_EQ(flops_of(p.forward, Split::sequence), flops_of(w.forward, Split::sequence));
    const Model sp = make_transformer(gpt3(), {0, t, true});
    EXPECT_DOUBLE_EQ(flops_of(sp.layers[1].forward, Split::sequence) * static_cast<double>(t),
                     flops_of(w.forward, Split::sequence));
    // Parameters: everything but the row-parallel GEMMs' biases (h each) and the two LayerNorms
    // (4h) is divided by t.
    const std::int64_t h = 12288, whole_on_every_rank = 2 * h + 4 * h;
    EXPECT_EQ((p.parameters - whole_on_every_rank) * t + whole_on_every_rank, w.parameters);
    // What a next pipeline stage receives stays the whole b·s·h tensor (split by t only under
    // sequence parallelism).
    EXPECT_EQ(p.activation_bytes, w.activation_bytes);
    EXPECT_EQ(sp.layers[1].activation_bytes * static_cast<std::uint64_t>(t), w.activation_bytes);
  }
}

TEST(ModelSplit, VocabularyIsSplitAndPaddedLikeMegatron) {
  // 50257 tokens over 8 ranks: 6283 per rank (50264 padded).
  const Model m = make_transformer(gpt3(), {0, 8});
  const std::int64_t h = 12288, s = 2048;
  EXPECT_EQ(m.layers.front().parameters, 6283 * h + s * h);  // token rows, positions whole
  const auto& logits = std::get<Gemm>(m.layers.back().forward[1].shape);
  EXPECT_EQ(logits.n, 6283);
  EXPECT_EQ(m.layers.back().forward[1].split, Split::column);
}

TEST(ModelSplit, BackwardIsSplitIntoInputAndWeightGradients) {
  const Model m = make_transformer(gpt3());
  for (const Layer& l : m.layers) {
    double forward_gemms = 0, weight_gradients = 0, input_gradient_gemms = 0;
    for (const Kernel& k : l.forward) {
      EXPECT_EQ(k.pass, Pass::forward) << k.name;
      if (std::holds_alternative<Gemm>(k.shape)) forward_gemms += k.flops();
    }
    for (const Kernel& k : l.backward) {
      if (k.pass == Pass::weight_gradient) weight_gradients += k.flops();
      if (k.pass == Pass::input_gradient && std::holds_alternative<Gemm>(k.shape))
        input_gradient_gemms += k.flops();
      EXPECT_NE(k.pass, Pass::forward) << k.name;
    }
    EXPECT_DOUBLE_EQ(weight_gradients, forward_gemms) << l.name;
    EXPECT_DOUBLE_EQ(input_gradient_gemms, forward_gemms) << l.name;
  }
}

TEST(ModelSplit, RecomputationRedoesTheAttentionCoreOrTheWholeBlock) {
  const Layer none = make_transformer(gpt3(), {0, 4}).layers[1];
  const Layer selective = make_transformer(gpt3(), {0, 4, false, Recompute::selective}).layers[1];
  const Layer full = make_transformer(gpt3(), {0, 4, false, Recompute::full}).layers[1];
  const auto backward = [](const Layer& l) {
    double total = 0;
    for (const Kernel& k : l.backward) total += k.flops();
    return total;
  };
  EXPECT_DOUBLE_EQ(backward(selective) - backward(none), flops_of(none.forward, Split::head));
  double forward = 0;
  for (const Kernel& k : none.forward) forward += k.flops();
  EXPECT_DOUBLE_EQ(backward(full) - backward(none), forward);
  ASSERT_EQ(selective.backward.front().name, "block0.scores.recompute");
  EXPECT_EQ(selective.backward.front().pass, Pass::recompute);
}

std::vector<std::string> describe(const std::vector<TensorParallelCollective>& list) {
  std::vector<std::string> out;
  for (const auto& c : list) {
    out.push_back(std::string(c.backward ? "bw " : "fw ") + std::string(to_string(c.collective)) +
                  (c.before ? " before " : " after ") + c.kernel + " " + std::to_string(c.bytes));
  }
  return out;
}

// Megatron-LM (Shoeybi et al. 2019, fig. 3): two all-reduces of b·s·h in forward (g after the
// attention's projection and after the MLP) and two in backward (f's gradient at each input).
TEST(ModelSplit, TensorParallelBlockAllReducesTwiceEachWay) {
  const Layer block = make_transformer(gpt3(), {2, 8}).layers[1];
  const std::string bsh = std::to_string(2 * 2048 * 12288 * 2);
  EXPECT_EQ(
      describe(tensor_parallel_collectives(block, false)),
      (std::vector<std::string>{
          "fw all-reduce after block0.proj " + bsh, "fw all-reduce after block0.fc2 " + bsh,
          "bw all-reduce after block0.fc1.dgrad " + bsh, "bw all-reduce after block0.qkv.dgrad " + bsh}));
  // Full recomputation redoes the forward's all-reduces before the backward.
  const Layer full = make_transformer(gpt3(), {2, 8, false, Recompute::full}).layers[1];
  EXPECT_EQ(describe(tensor_parallel_collectives(full, false)).size(), 6u);
}

// Korthikanti et al. 2022, fig. 5: under sequence parallelism each all-reduce becomes a
// reduce-scatter and an all-gather; the input all-gathered in forward is gathered again in
// backward for the weight gradient.
TEST(ModelSplit, SequenceParallelBlockGathersAndScatters) {
  const TransformerConfig c = gpt3();
  const Model m = make_transformer(c, {2, 8, true});
  const std::string bsh = std::to_string(2 * 2048 * 12288 * 2);
  EXPECT_EQ(
      describe(tensor_parallel_collectives(m.layers[1], true)),
      (std::vector<std::string>{
          "fw all-gather before block0.qkv " + bsh, "fw reduce-scatter after block0.proj " + bsh,
          "fw all-gather before block0.fc1 " + bsh, "fw reduce-scatter after block0.fc2 " + bsh,
          "bw all-gather before block0.fc2.dgrad " + bsh, "bw all-gather before block0.fc1.dgrad " + bsh,
          "bw reduce-scatter after block0.fc1.dgrad " + bsh, "bw all-gather before block0.proj.dgrad " + bsh,
          "bw all-gather before block0.qkv.dgrad " + bsh,
          "bw reduce-scatter after block0.qkv.dgrad " + bsh}));
  // The vocabulary-parallel embedding sums its partial lookups; the LM head gathers its input.
  const auto embedding = describe(tensor_parallel_collectives(m.layers.front(), true));
  ASSERT_FALSE(embedding.empty());
  EXPECT_EQ(embedding.front(), "fw reduce-scatter after embedding.lookup " + bsh);
  EXPECT_EQ(describe(tensor_parallel_collectives(m.layers.back(), true)).front(),
            "fw all-gather before lm_head.logits " + bsh);
}

// Megatron-LM's vocabulary-parallel cross entropy: each rank's logits cover its share of the
// vocabulary, so the group all-reduces one fp32 per token three times in forward (the maximum, the
// target's logit, the sum of exponentials), with or without sequence parallelism; the head's input
// gradient is a partial sum as after any column-parallel GEMM. Without tp there is nothing to reduce.
TEST(ModelSplit, VocabularyParallelCrossEntropyAllReducesThreeFloatsPerToken) {
  const std::string bs = std::to_string(2 * 2048 * 4), bsh = std::to_string(2 * 2048 * 12288 * 2);
  for (const bool sequence_parallel : {false, true}) {
    const Layer head = make_transformer(gpt3(), {2, 8, sequence_parallel}).layers.back();
    std::vector<std::string> cross_entropy;
    for (const std::string& c : describe(tensor_parallel_collectives(head, sequence_parallel))) {
      if (c.find("softmax_xent") != std::string::npos) cross_entropy.push_back(c);
    }
    EXPECT_EQ(cross_entropy, std::vector<std::string>(3, "fw all-reduce after lm_head.softmax_xent " + bs))
        << "sequence parallel: " << sequence_parallel;
  }
  EXPECT_EQ(
      describe(tensor_parallel_collectives(make_transformer(gpt3(), {2, 8}).layers.back(), false)).back(),
      "bw all-reduce after lm_head.logits.dgrad " + bsh);
}

TEST(ModelSplit, MlpPairsColumnAndRowLayers) {
  const MlpConfig c{{512, 2048, 512}, 16, DType::fp32, "mlp"};
  const Model m = make_mlp(c, {0, 4});
  EXPECT_EQ(m.layers[0].parameters, 512 * 512 + 512);  // a quarter of the columns and their bias
  EXPECT_EQ(m.layers[1].parameters, 512 * 512 + 512);  // a quarter of the rows, the whole bias
  EXPECT_EQ(m.layers[0].forward[0].split, Split::column);
  EXPECT_EQ(m.layers[1].forward[0].split, Split::row);
  EXPECT_EQ(describe(tensor_parallel_collectives(m.layers[1], false)),
            std::vector<std::string>{"fw all-reduce after linear1.gemm " + std::to_string(16 * 512 * 4)});
  EXPECT_EQ(
      describe(tensor_parallel_collectives(m.layers[0], false)),
      std::vector<std::string>{"bw all-reduce after linear0.gemm.dgrad " + std::to_string(16 * 512 * 4)});
}

TEST(ModelSplit, ARebuiltModelEqualsOneMadeThatWay) {
  const Model base = build_model(gpt3());
  const Model four = base.rebuilt({4, 2, true, Recompute::selective});
  TransformerConfig c = gpt3();
  c.micro_batch = 4;
  const Model direct = make_transformer(c, {0, 2, true, Recompute::selective});
  EXPECT_EQ(four.micro_batch, 4);
  EXPECT_EQ(four.shape.tensor_parallel, 2);
  EXPECT_EQ(four.parameters(), direct.parameters());
  EXPECT_DOUBLE_EQ(four.forward_flops(), direct.forward_flops());
  EXPECT_DOUBLE_EQ(four.backward_flops(), direct.backward_flops());
  EXPECT_EQ(four.layers[1].saved_bytes, direct.layers[1].saved_bytes);
  // The default cut is the spec's own.
  EXPECT_DOUBLE_EQ(base.rebuilt({}).forward_flops(), base.forward_flops());
}

std::string error_of(const ModelSpec& spec, const ModelShape& shape) {
  try {
    build_model(spec, shape);
  } catch (const ValueError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ModelSplit, ImpossibleCutsAreRefusedWithTheReason) {
  EXPECT_EQ(error_of(gpt3(), {0, 5}), "heads (96) must be a multiple of the tensor-parallel degree 5");
  TransformerConfig odd = gpt3();
  odd.sequence = 2047;
  EXPECT_EQ(error_of(odd, {0, 2, true}),
            "sequence (2047) must be a multiple of the tensor-parallel degree 2");
  EXPECT_EQ(error_of(ResNetConfig{}, {0, 2}),
            "a ResNet is not split by tensor or sequence parallelism (only transformers and MLPs are)");
  EXPECT_EQ(error_of(MlpConfig{{8, 6, 8}, 1, DType::fp32, "m"}, {0, 4}),
            "width 1 of the MLP (6) must be a multiple of the tensor-parallel degree 4");
  LayerList list;
  list.name = "mine";
  list.layers.push_back(Layer{"l0", 10, {}, {elementwise("k", 10, DType::fp32)}, {}, 40, 40});
  EXPECT_EQ(
      error_of(list, {2}),
      "model 'mine' lists its layers one by one: it can only be used as written (micro-batch 1, no tensor "
      "parallelism, no recomputation); describe it with a generator (type: mlp, transformer, resnet) to "
      "re-cut it");
  EXPECT_EQ(error_of(list, {}), "no error");
}

}  // namespace
}  // namespace dmlsim::core
