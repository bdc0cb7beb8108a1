#pragma once
// A neural network as the simulator needs it: an ordered list of layers, each with its parameter
// count, the kernels of its forward and backward passes for one micro-batch, and the size of the
// activation it hands to the next layer. Generators build it from a few numbers (an MLP, a
// transformer of the GPT, BERT or Llama family, a ResNet); a model file can also list layers
// explicitly. The shipped model zoo (models/*.yaml) cites the published configuration of each.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config_node.hpp"
#include "core/dtype.hpp"
#include "core/kernel.hpp"

namespace dmlsim::core {

struct Layer {
  std::string name;
  std::int64_t parameters = 0;
  std::vector<Kernel> forward;
  std::vector<Kernel> backward;
  std::uint64_t activation_bytes = 0;  // this layer's output for one micro-batch (what a next stage receives)
  std::uint64_t saved_bytes = 0;       // what its forward keeps for its backward, per micro-batch
};

struct Model {
  std::string name;
  DType dtype = DType::fp32;
  std::int64_t micro_batch = 1;  // samples per rank per step
  std::int64_t tokens_per_sample = 1;
  std::vector<Layer> layers;

  std::int64_t parameters() const;
  std::uint64_t gradient_bytes() const {
    return static_cast<std::uint64_t>(parameters()) * dtype_bytes(dtype);
  }
  double forward_flops() const;
  double backward_flops() const;
};

struct MlpConfig {
  std::vector<std::int64_t> widths;  // input, hidden..., output
  std::int64_t batch = 1;
  DType dtype = DType::fp32;
};
Model make_mlp(const MlpConfig& config);

// What distinguishes the transformer families the zoo needs:
//   gpt    learned position embeddings, LayerNorm, GELU MLP (h → f → h), biases (Radford et al.
//          2019; Brown et al. 2020).
//   bert   as gpt, plus token-type embeddings and an embedding LayerNorm, a pooler with the
//          next-sentence classifier, and the masked-LM head's transform (dense + LayerNorm) and
//          output bias (Devlin et al. 2019).
//   llama  rotary positions (no position parameters), RMSNorm, SwiGLU MLP (gate and up h → f,
//          down f → h), no biases, grouped-query attention with `kv_heads` key/value heads
//          (Touvron et al. 2023, "Llama 2", §2.2 and table 1; Ainslie et al. 2023).
enum class TransformerFamily { gpt, bert, llama };

struct TransformerConfig {
  std::string name = "transformer";
  TransformerFamily family = TransformerFamily::gpt;
  std::int64_t layers = 1;
  std::int64_t hidden = 0;
  std::int64_t heads = 1;
  std::int64_t kv_heads = 0;  // 0 means heads (multi-head attention); fewer is grouped-query attention
  std::int64_t sequence = 1;
  std::int64_t vocabulary = 0;
  std::int64_t micro_batch = 1;
  std::int64_t ffn_hidden = 0;  // 0 means 4 × hidden
  bool tie_embeddings = true;
  DType dtype = DType::bf16;
};
// Transformer: embedding, `layers` blocks (attention + MLP), final norm and LM head. For the gpt
// family forward flops per block are 24·b·s·h² + 4·b·s²·h (Narayanan et al., SC'21, eq. 2
// without the LM head); the LM head adds 2·b·s·h·V. In general every GEMM costs 2 flops per
// weight per token, plus 4·b·s²·h per block for attention scores and context. Backward is twice
// the forward. A block's saved activations (no recompute) are counted tensor by tensor as
// Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models", §4.1)
// do; for the gpt and bert families, with their dropout masks of one byte per element and 16-bit
// activations, that is s·b·h·(34 + 5·a·s/h) bytes (their eq. 1). transformer_block_saved_bytes
// gives the count.
Model make_transformer(const TransformerConfig& config);
std::uint64_t transformer_block_saved_bytes(const TransformerConfig& config);

// ResNet with bottleneck blocks (He et al., CVPR 2016, table 1): depth 50, 101 or 152. Each
// convolution is an implicit GEMM — m = batch·H_out·W_out, n = output channels, k = input
// channels·kh·kw — followed by batch norm (and ReLU) as elementwise kernels; one model layer per
// convolution (with its batch norm), so gradients become ready convolution by convolution.
// `stride_on_3x3` is "ResNet v1.5" (torchvision, NVIDIA): the stride of a down-sampling block
// sits in its 3×3 convolution, 4.1 G multiply-accumulates per 224×224 image for ResNet-50; v1
// (the paper) strides the first 1×1 and needs 3.8 G. Saved activations: each convolution's
// output and its normalized output.
struct ResNetConfig {
  std::string name = "resnet";
  std::int64_t depth = 50;
  std::int64_t image = 224;  // square input, pixels
  std::int64_t classes = 1000;
  std::int64_t batch = 1;
  bool stride_on_3x3 = true;
  DType dtype = DType::fp16;
};
Model make_resnet(const ResNetConfig& config);

// Reads a `model:` mapping: `type: mlp | transformer | resnet | layers`.
Model parse_model(const ConfigNode& node);
// Reads a model file (`model:` at the top level).
Model load_model(const std::filesystem::path& file);

}  // namespace dmlsim::core
