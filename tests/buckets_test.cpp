// Gradient buckets as PyTorch DDP assigns them (Li et al., VLDB 2020; torch's
// _compute_bucket_assignment_by_size): a hand-worked assignment on a small model, and the cap
// respected up to one tensor on the zoo's BERT-large and GPT-2 XL.
#include <gtest/gtest.h>

#include "core/model.hpp"
#include "strategies/training/data_parallel.hpp"

namespace dmlsim::strategies {
namespace {

std::vector<std::pair<std::size_t, std::int64_t>> assignment(const core::Model& m, std::uint64_t cap) {
  std::vector<std::pair<std::size_t, std::int64_t>> out;
  for (const GradientBucket& b : plan_buckets(m, cap)) out.emplace_back(b.closing_layer, b.parameters);
  return out;
}

// fp32 MLP 512 → 1024 → 512 → 256. In reverse order: b2 (1 KiB), W2 (512 KiB), b1 (2 KiB), W1
// (2 MiB), b0 (4 KiB), W0 (2 MiB).
TEST(DdpBuckets, AHandWorkedAssignment) {
  const core::Model m = core::make_mlp({{512, 1024, 512, 256}, 1, core::DType::fp32, "mlp"});
  // The first bucket closes past 1 MiB (at W1, 2.5 MiB in all), the second past the cap.
  EXPECT_EQ(assignment(m, 3 << 19), (std::vector<std::pair<std::size_t, std::int64_t>>{
                                        {1, 256 + 131072 + 512 + 524288}, {0, 1024 + 524288}}));
  // A cap below 1 MiB is the first bucket's limit too: every weight closes a bucket.
  EXPECT_EQ(assignment(m, 256 << 10), (std::vector<std::pair<std::size_t, std::int64_t>>{
                                          {2, 256 + 131072}, {1, 512 + 524288}, {0, 1024 + 524288}}));
  // A cap above everything: the 1 MiB first bucket, then the rest in one.
  EXPECT_EQ(assignment(m, 64 << 20), (std::vector<std::pair<std::size_t, std::int64_t>>{
                                         {1, 256 + 131072 + 512 + 524288}, {0, 1024 + 524288}}));
}

TEST(DdpBuckets, EveryBucketIsWithinItsLimitButForItsLastTensor) {
  for (const char* file : {"bert-large.yaml", "gpt2-xl.yaml"}) {
    const core::Model m = core::load_model(std::filesystem::path(DMLSIM_SOURCE_DIR) / "models" / file);
    constexpr std::uint64_t kCap = 25 << 20;
    const std::uint64_t e = core::dtype_bytes(m.dtype);
    const auto buckets = plan_buckets(m, kCap);
    std::int64_t total = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      const std::uint64_t limit = i == 0 ? kDdpFirstBucketBytes : kCap;
      const auto bytes = static_cast<std::uint64_t>(buckets[i].parameters) * e;
      const auto without_last =
          static_cast<std::uint64_t>(buckets[i].parameters - buckets[i].last_tensor) * e;
      EXPECT_LT(without_last, limit) << file << " bucket " << i;
      if (i + 1 < buckets.size()) {
        EXPECT_GE(bytes, limit) << file << " bucket " << i;
      }
      if (i > 0) {
        EXPECT_LE(buckets[i].closing_layer, buckets[i - 1].closing_layer) << "in backward order";
      }
      total += buckets[i].parameters;
    }
    EXPECT_EQ(total, m.parameters()) << file;
  }
}

TEST(DdpBuckets, TensorsAddUpToEachLayersParameters) {
  for (const char* file :
       {"bert-large.yaml", "gpt2-xl.yaml", "llama2-7b.yaml", "resnet50.yaml", "gpt3-175b.yaml"}) {
    const core::Model m = core::load_model(std::filesystem::path(DMLSIM_SOURCE_DIR) / "models" / file);
    for (const core::Layer& l : m.layers) {
      std::int64_t sum = 0;
      for (const std::int64_t t : l.parameter_tensors()) sum += t;
      EXPECT_EQ(sum, l.parameters) << file << " " << l.name;
    }
  }
  // Also cut for tensor parallelism.
  core::TransformerConfig c;
  c.family = core::TransformerFamily::llama;
  c.layers = 1;
  c.hidden = 4096;
  c.heads = 32;
  c.kv_heads = 8;
  c.ffn_hidden = 11008;
  c.sequence = 16;
  c.vocabulary = 32000;
  for (const core::Layer& l : core::make_transformer(c, {0, 4}).layers) {
    std::int64_t sum = 0;
    for (const std::int64_t t : l.parameter_tensors()) sum += t;
    EXPECT_EQ(sum, l.parameters) << l.name;
  }
}

}  // namespace
}  // namespace dmlsim::strategies
