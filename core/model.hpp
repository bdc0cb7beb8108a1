#pragma once
// A neural network as the simulator needs it: an ordered list of layers, each with its parameter
// count, the kernels of its forward and backward passes for one micro-batch, and the size of the
// activation it hands to the next layer. Two generators build it from a few numbers (an MLP and a
// GPT-style transformer); a model file can also list layers explicitly.
#include <cstdint>
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
  std::uint64_t activation_bytes = 0;  // this layer's output for one micro-batch
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

struct TransformerConfig {
  std::string name = "transformer";
  std::int64_t layers = 1;
  std::int64_t hidden = 0;
  std::int64_t heads = 1;
  std::int64_t sequence = 1;
  std::int64_t vocabulary = 0;
  std::int64_t micro_batch = 1;
  std::int64_t ffn_hidden = 0;  // 0 means 4 × hidden
  bool tie_embeddings = true;
  DType dtype = DType::bf16;
};
// GPT-style decoder: embedding, `layers` blocks (attention + MLP), final norm and LM head.
// Forward flops per block are 24·b·s·h² + 4·b·s²·h (Narayanan et al., SC'21, eq. 2 without the
// LM head); the LM head adds 2·b·s·h·V. Backward is twice the forward.
Model make_transformer(const TransformerConfig& config);

// Reads a `model:` mapping: `type: mlp | transformer | layers`.
Model parse_model(const ConfigNode& node);

}  // namespace dmlsim::core
