// The shipped model zoo (models/*.yaml) against published figures: parameter counts, ResNet-50's
// multiply-accumulates per image, and the transformers' GEMM flops against the per-token weight
// count (the "6 × parameters × tokens" of training) plus attention.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/errors.hpp"
#include "core/model.hpp"

namespace dmlsim::core {
namespace {

std::filesystem::path zoo() {
  return std::filesystem::path(DMLSIM_SOURCE_DIR) / "models";
}

Model load(const std::string& name) {
  return parse_model(ConfigNode::load_file(zoo() / (name + ".yaml")).at("model"));
}

double gemm_flops(const std::vector<Kernel>& kernels) {
  double total = 0;
  for (const Kernel& k : kernels) total += std::holds_alternative<Gemm>(k.shape) ? k.flops() : 0;
  return total;
}

double forward_gemm_flops(const Model& m) {
  double total = 0;
  for (const Layer& l : m.layers) total += gemm_flops(l.forward);
  return total;
}

TEST(ModelZoo, EveryModelFileLoads) {
  int models = 0;
  for (const auto& entry : std::filesystem::directory_iterator(zoo())) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    const Model m = parse_model(ConfigNode::load_file(entry.path()).at("model"));
    EXPECT_GT(m.parameters(), 0);
    EXPECT_GT(m.forward_flops(), 0);
    for (const Layer& l : m.layers) EXPECT_GT(l.activation_bytes, 0u) << l.name;
    ++models;
  }
  EXPECT_GE(models, 8);
}

TEST(ModelZoo, EveryPublishedModelCitesItsSource) {
  for (const char* name : {"resnet50", "bert-large", "gpt2-xl", "gpt3-175b", "llama2-7b", "llama2-70b"}) {
    SCOPED_TRACE(name);
    std::ifstream in(zoo() / (std::string(name) + ".yaml"));
    std::stringstream text;
    text << in.rdbuf();
    // A comment naming where the configuration comes from: a paper or release, with its year.
    EXPECT_TRUE(std::regex_search(text.str(), std::regex("^#.*et al\\..*(19|20)[0-9][0-9]")))
        << "no cited source";
  }
}

// Published parameter counts. Exact where the released checkpoints give them (torchvision
// ResNet-50; Meta's Llama 2 7B and 70B; GPT-2 XL as released), the papers' rounded figure
// otherwise (BERT-large "340M", Devlin et al. 2019; GPT-3 "175.0B", Brown et al. 2020, table 2.1).
TEST(ModelZoo, ParameterCountsMatchThePublishedOnes) {
  EXPECT_EQ(load("resnet50").parameters(), 25'557'032);
  EXPECT_EQ(load("llama2-7b").parameters(), 6'738'415'616);
  EXPECT_EQ(load("llama2-70b").parameters(), 68'976'648'192);
  EXPECT_EQ(load("gpt2-xl").parameters(), 1'557'611'200);
  EXPECT_EQ(load("mlp-small").parameters(), 784 * 2048 + 2048 + 2048 * 2048 + 2048 + 2048 * 10 + 10);
  EXPECT_NEAR(static_cast<double>(load("bert-large").parameters()) / 340e6, 1.0, 0.015);
  EXPECT_NEAR(static_cast<double>(load("gpt3-175b").parameters()) / 175.0e9, 1.0, 0.005);
}

// Convolutions and the classifier as GEMMs: 2 flops per multiply-accumulate. He et al. (CVPR
// 2016, table 1) give ResNet-50 3.8·10⁹ "FLOPs" — multiply-adds — for v1 (stride in the first
// 1×1); v1.5 (stride in the 3×3, torchvision) is 4.1·10⁹ multiply-accumulates per 224×224 image.
// The test counts multiply-accumulates: GEMM flops / 2 per image.
TEST(ModelZoo, ResNet50MultiplyAccumulatesPerImage) {
  const Model v15 = load("resnet50");
  EXPECT_NEAR(forward_gemm_flops(v15) / 2 / static_cast<double>(v15.micro_batch) / 4.1e9, 1.0, 0.01);
  ResNetConfig c;
  c.stride_on_3x3 = false;
  c.batch = 8;
  const Model v1 = make_resnet(c);
  EXPECT_NEAR(forward_gemm_flops(v1) / 2 / 8 / 3.8e9, 1.0, 0.02);
  EXPECT_EQ(v1.parameters(), v15.parameters());  // the stride moves, the weights do not
}

struct TransformerCase {
  std::string file;
  // GEMM weights a token passes through: per block, and once (the LM head and BERT's MLM transform).
  double block_weights;
  double head_weights;
  double per_sample_weights;  // BERT's pooler and next-sentence classifier, once per sample
};

class ZooTransformer : public ::testing::TestWithParam<TransformerCase> {};

TEST_P(ZooTransformer, GemmFlopsAreTwicePerTokenWeightsPlusAttention) {
  const TransformerCase& c = GetParam();
  const ConfigNode node = ConfigNode::load_file(zoo() / (c.file + ".yaml")).at("model");
  const Model m = parse_model(node);
  const double b = static_cast<double>(node.integer("micro_batch")),
               s = static_cast<double>(node.integer("sequence")),
               h = static_cast<double>(node.integer("hidden")),
               layers = static_cast<double>(node.integer("layers"));
  // Forward: 2 flops per weight per token, plus Q·Kᵀ and softmax·V: 4·b·s²·h per block
  // (Narayanan et al., SC'21). Backward doubles every GEMM.
  const double forward = 2 * b * s * (layers * c.block_weights + c.head_weights) +
                         2 * b * c.per_sample_weights + layers * 4 * b * s * s * h;
  EXPECT_NEAR(forward_gemm_flops(m) / forward, 1.0, 1e-12);
  double backward = 0;
  for (const Layer& l : m.layers) backward += gemm_flops(l.backward);
  EXPECT_NEAR(backward / (2 * forward), 1.0, 1e-12);
  // Training ≈ 6 × parameters × tokens (Kaplan et al. 2020): the attention term and the
  // embeddings (parameters without GEMMs) keep it within 20 % for these shapes.
  const double training = m.forward_flops() + m.backward_flops();
  EXPECT_NEAR(training / (6 * static_cast<double>(m.parameters()) * b * s), 1.0, 0.2);
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, ZooTransformer,
    ::testing::Values(
        // GPT: QKV 3h², projection h², MLP 8h² per block; LM head V·h.
        TransformerCase{"gpt2-xl", 12.0 * 1600 * 1600, 50257.0 * 1600, 0},
        TransformerCase{"gpt3-175b", 12.0 * 12288 * 12288, 50257.0 * 12288, 0},
        // BERT: as GPT; MLM transform h² and output V·h; pooler h² and NSP 2h per sample.
        TransformerCase{"bert-large", 12.0 * 1024 * 1024, 1024.0 * 1024 + 30522.0 * 1024,
                        1024.0 * 1024 + 2 * 1024},
        // Llama: Q and O h², K and V h·(kv_heads·128) each, SwiGLU 3·h·f; LM head V·h.
        TransformerCase{"llama2-7b", 2.0 * 4096 * 4096 + 2.0 * 4096 * 4096 + 3.0 * 4096 * 11008,
                        32000.0 * 4096, 0},
        TransformerCase{"llama2-70b", 2.0 * 8192 * 8192 + 2.0 * 8192 * 1024 + 3.0 * 8192 * 28672,
                        32000.0 * 8192, 0}),
    [](const auto& param_info) {
      std::string name = param_info.param.file;
      for (char& ch : name) {
        if (ch == '-' || ch == '.') ch = '_';
      }
      return name;
    });

TEST(ModelZoo, GroupedQueryAttentionNeedsKvHeadsThatDivideHeads) {
  const auto error = [](const std::string& yaml) {
    try {
      parse_model(ConfigNode::load_string(yaml, "m.yaml").at("model"));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("model: {type: transformer, family: llama, layers: 2, hidden: 512, heads: 8, kv_heads: 3, "
                  "sequence: 16, vocabulary: 100, micro_batch: 1}"),
            "m.yaml:1: field 'model.kv_heads': must divide heads (8)");
  EXPECT_EQ(error("model: {type: transformer, family: t5, layers: 2, hidden: 512, heads: 8, sequence: 16, "
                  "vocabulary: 100, micro_batch: 1}"),
            "m.yaml:1: field 'model.family': unknown family 't5' (known: gpt, bert, llama)");
  EXPECT_EQ(error("model: {type: resnet, depth: 34, batch: 1}"),
            "m.yaml:1: field 'model.depth': known depths: 50, 101, 152");
}

}  // namespace
}  // namespace dmlsim::core

namespace dmlsim::core {
namespace {

// Korthikanti et al. 2022, eq. 1: a transformer layer keeps s·b·h·(34 + 5·a·s/h) bytes for its
// backward (16-bit activations, 1-byte dropout masks, no parallelism, no recompute). GPT-3 175B
// shapes, from the zoo's own file, at micro-batches 1 and 4.
TEST(ModelZoo, TransformerSavedActivationsFollowKorthikanti) {
  for (const std::int64_t b : {1, 4}) {
    ConfigNode node = ConfigNode::load_file(zoo() / "gpt3-175b.yaml");
    node.set("model.micro_batch", std::to_string(b));
    node.set("model.layers", "2");  // per layer is what is checked; two keep the test fast
    const Model m = parse_model(node.at("model"));
    const double s = 2048, h = 12288, a = 96;
    const double expected = s * static_cast<double>(b) * h * (34 + 5 * a * s / h);
    ASSERT_EQ(m.layers.size(), 4u);  // embedding, 2 blocks, head
    for (std::size_t i = 1; i <= 2; ++i) {
      EXPECT_EQ(static_cast<double>(m.layers[i].saved_bytes), expected) << m.layers[i].name << " b=" << b;
      // What goes to the next stage is only the block's output, s·b·h 16-bit values.
      EXPECT_EQ(m.layers[i].activation_bytes, static_cast<std::uint64_t>(s * b * h * 2));
    }
  }
}

// Llama's blocks (no dropout, SwiGLU, grouped-query attention) counted tensor by tensor: Llama 2
// 70B, h 8192, 64 heads, 8 key/value heads of 128, f 28 672, s 4096, b 1, bf16.
TEST(ModelZoo, LlamaSavedActivationsCountItsOwnTensors) {
  ConfigNode node = ConfigNode::load_file(zoo() / "llama2-70b.yaml");
  node.set("model.layers", "1");
  const Model m = parse_model(node.at("model"));
  const std::uint64_t s = 4096, h = 8192, kv = 8 * 128, f = 28672, a = 64;
  // h wide: the two RMSNorms' inputs, their outputs (QKV input, gate/up input), Q and the output
  // projection's input; kv wide: K and V; f wide: gate and up outputs, down input; the scores.
  const std::uint64_t expected = 2 * (s * h * 6 + s * kv * 2 + s * f * 3 + a * s * s);
  EXPECT_EQ(m.layers[1].saved_bytes, expected);
}

}  // namespace
}  // namespace dmlsim::core
