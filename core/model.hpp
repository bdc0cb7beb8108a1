#pragma once
// A neural network as the simulator needs it: an ordered list of layers, each with its parameter
// count, the kernels of its forward and backward passes for one micro-batch, the tensor it hands
// to the next layer (what a next pipeline stage receives) and what its forward keeps for its
// backward. Generators build it from a few numbers (an MLP, a transformer of the GPT, BERT or
// Llama family, a ResNet); a model file can also list layers explicitly. The shipped model zoo
// (models/*.yaml) cites the published configuration of each.
//
// A model remembers how it was generated (its ModelSpec), so a strategy can rebuild it for one
// rank's share: another micro-batch, a tensor-parallel degree, sequence parallelism, activation
// recomputation (ModelShape).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/collective.hpp"
#include "core/config_node.hpp"
#include "core/dtype.hpp"
#include "core/kernel.hpp"

namespace dmlsim::core {

struct Layer {
  // `tensors`, or the one tensor of all its parameters when none are listed (none when it has none).
  std::vector<std::int64_t> parameter_tensors() const;

  std::string name;
  std::int64_t parameters = 0;  // on one rank (its tensor-parallel share)
  // Its parameter tensors in registration order (as PyTorch's model.parameters() lists them:
  // gradient buckets are made of tensors); they add up to `parameters`. Empty: one tensor.
  std::vector<std::int64_t> tensors;
  std::vector<Kernel> forward;
  std::vector<Kernel> backward;
  std::uint64_t activation_bytes = 0;  // its output for one micro-batch: what a next stage receives
  std::uint64_t saved_bytes = 0;       // what its forward keeps for its backward, per micro-batch
};

// Activation recomputation (Korthikanti et al. 2022, §5): `selective` keeps a block's inputs to
// the attention core and recomputes the core (QKᵀ, softmax, dropout, ·V) in backward; `full` keeps
// only each block's input and recomputes the whole forward of the block in backward.
enum class Recompute : std::uint8_t { none, selective, full };
std::string_view recompute_name(Recompute recompute);

// One rank's cut of a model.
struct ModelShape {
  std::int64_t micro_batch = 0;  // samples per micro-batch; 0 keeps the spec's own
  std::int64_t tensor_parallel = 1;
  bool sequence_parallel = false;  // Korthikanti et al. 2022: norms and dropout split by sequence
  Recompute recompute = Recompute::none;
};

struct MlpConfig {
  std::vector<std::int64_t> widths;  // input, hidden..., output
  std::int64_t batch = 1;
  DType dtype = DType::fp32;
  std::string name = "mlp";
};

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

// ResNet with bottleneck blocks (He et al., CVPR 2016, table 1): depth 50, 101 or 152.
struct ResNetConfig {
  std::string name = "resnet";
  std::int64_t depth = 50;
  std::int64_t image = 224;  // square input, pixels
  std::int64_t classes = 1000;
  std::int64_t batch = 1;
  bool stride_on_3x3 = true;
  DType dtype = DType::fp16;
};

// Layers listed one by one in a model file: they can be used as written, not re-cut.
struct LayerList {
  std::string name = "layers";
  DType dtype = DType::fp32;
  std::int64_t micro_batch = 1;
  std::vector<Layer> layers;
};

using ModelSpec = std::variant<MlpConfig, TransformerConfig, ResNetConfig, LayerList>;

struct Model {
  std::string name;
  DType dtype = DType::fp32;
  std::int64_t micro_batch = 1;  // samples per rank per step
  std::int64_t tokens_per_sample = 1;
  std::vector<Layer> layers;
  std::shared_ptr<const ModelSpec> spec;  // how it was made (set by build_model)
  ModelShape shape;                       // the cut it was made for (micro_batch filled in)

  std::int64_t parameters() const;
  std::uint64_t gradient_bytes() const {
    return static_cast<std::uint64_t>(parameters()) * dtype_bytes(dtype);
  }
  double forward_flops() const;
  double backward_flops() const;
  // The same network cut another way; throws ValueError naming what the spec cannot do (a ResNet
  // is not split by tensor parallelism, heads must divide by the degree, ...).
  Model rebuilt(const ModelShape& shape) const;
};

// Builds `spec` cut as `shape`; throws ValueError when the cut is impossible.
Model build_model(const ModelSpec& spec, const ModelShape& shape = {});

// MLP: Linear + bias + ReLU per width pair. Under tensor parallelism, Megatron's MLP pairing:
// even layers are column-parallel, odd layers row-parallel (one all-reduce per pair in forward).
Model make_mlp(const MlpConfig& config, const ModelShape& shape = {});

// Transformer: embedding, `layers` blocks (attention + MLP), final norm and LM head. For the gpt
// family forward flops per block are 24·b·s·h² + 4·b·s²·h (Narayanan et al., SC'21, eq. 2
// without the LM head); the LM head adds 2·b·s·h·V. In general every GEMM costs 2 flops per
// weight per token, plus 4·b·s²·h per block for attention scores and context. Backward is twice
// the forward. A block's saved activations are counted tensor by tensor as Korthikanti et al. 2022
// ("Reducing Activation Recomputation in Large Transformer Models", §4) do; for the gpt and bert
// families, with their dropout masks of one byte per element and 16-bit activations, that is
// (their table 2) s·b·h·(34 + 5·a·s/h) bytes, s·b·h·(10 + 24/t + 5·a·s/(h·t)) with tensor
// parallelism t, s·b·h/t·(34 + 5·a·s/h) with sequence parallelism too, without the 5·a·s/h terms
// under selective recomputation, and 2·s·b·h under full recomputation (over t with sequence
// parallelism, whose block inputs are kept split by sequence, as Megatron keeps them). Tensor
// parallelism follows Megatron-LM (Shoeybi et al. 2019, §3): QKV and the first MLP GEMM
// column-parallel, attention by heads, the output projection and the second
// MLP GEMM row-parallel, the embedding and the LM head split by vocabulary (padded to a multiple
// of t, as Megatron pads it).
Model make_transformer(const TransformerConfig& config, const ModelShape& shape = {});
std::uint64_t transformer_block_saved_bytes(const TransformerConfig& config, const ModelShape& shape = {});

// Each convolution is an implicit GEMM — m = batch·H_out·W_out, n = output channels, k = input
// channels·kh·kw — followed by batch norm (and ReLU) as elementwise kernels; one model layer per
// convolution (with its batch norm), so gradients become ready convolution by convolution.
// `stride_on_3x3` is "ResNet v1.5" (torchvision, NVIDIA): the stride of a down-sampling block
// sits in its 3×3 convolution, 4.1 G multiply-accumulates per 224×224 image for ResNet-50; v1
// (the paper) strides the first 1×1 and needs 3.8 G. Saved activations: each convolution's
// output and its normalized output.
Model make_resnet(const ResNetConfig& config, const ModelShape& shape = {});

// The collectives a tensor-parallel group runs inside one layer, derived from its kernels' split
// roles (Megatron-LM's f and g operators; Korthikanti et al. 2022, §4.2.2, fig. 5 for sequence
// parallelism). Without sequence parallelism: an all-reduce after every row-split kernel in
// forward and after every column-split GEMM's input gradient in backward. With it: a
// reduce-scatter in their place, and an all-gather of the sequence-split input before the first
// column-split kernel after a sequence-split region in forward, and before a row-split kernel's
// backward and before a column-split GEMM's input gradient in backward (the forward all-gather is
// redone in backward rather than its output kept). After the LM head's vocabulary-split cross
// entropy, three all-reduces of one fp32 per token (Megatron-LM's vocabulary-parallel cross
// entropy), with or without sequence parallelism. `bytes` is the whole tensor on one rank (the
// all-reduce's buffer, the all-gather's output).
struct TensorParallelCollective {
  Collective collective = Collective::all_reduce;
  std::uint64_t bytes = 0;
  bool backward = false;
  bool before = false;  // runs before `kernel` starts; otherwise after it ends
  std::string kernel;
};
std::vector<TensorParallelCollective> tensor_parallel_collectives(const Layer& layer, bool sequence_parallel);

// Reads a `model:` mapping: `type: mlp | transformer | resnet | layers`.
ModelSpec parse_model_spec(const ConfigNode& node);
Model parse_model(const ConfigNode& node);
// Reads a model file (`model:` at the top level).
Model load_model(const std::filesystem::path& file);

}  // namespace dmlsim::core
