#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/model.hpp"
#include "core/model_building.hpp"

namespace dmlsim::core {

using model_building::add_recompute;
using model_building::divide_up;
using model_building::finish_backward;
using model_building::require_divisible;
using model_building::with_split;

namespace {

struct Cut {
  std::int64_t b;   // micro-batch
  std::int64_t t;   // tensor-parallel degree
  std::int64_t sp;  // what sequence parallelism divides replicated work by: t, or 1 without it
};

Cut cut_of(const TransformerConfig& c, const ModelShape& shape) {
  if (shape.tensor_parallel < 1) {
    throw ValueError(fmt::format("tensor-parallel degree {} is not positive", shape.tensor_parallel));
  }
  const std::int64_t t = shape.tensor_parallel;
  return {shape.micro_batch > 0 ? shape.micro_batch : c.micro_batch, t, shape.sequence_parallel ? t : 1};
}

}  // namespace

std::uint64_t transformer_block_saved_bytes(const TransformerConfig& c, const ModelShape& shape) {
  const Cut cut = cut_of(c, shape);
  const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
  const std::uint64_t t = u(cut.t), sp = u(cut.sp), b = u(cut.b), s = u(c.sequence), h = u(c.hidden),
                      a = u(c.heads);
  const std::uint64_t f = u(c.ffn_hidden > 0 ? c.ffn_hidden : 4 * c.hidden);
  const std::uint64_t kv = u(c.kv_heads > 0 ? c.kv_heads : c.heads) * (h / a);
  const std::uint64_t e = dtype_bytes(c.dtype), sb = s * b, scores = a / t * s * s * b;
  if (shape.recompute == Recompute::full) return e * sb * h / sp;  // the block's input only
  // Per rank: tensors every tensor-parallel rank holds whole (divided only by sequence
  // parallelism), tensors split by t, and the attention core's (split by heads).
  std::uint64_t whole = 0, split = 0, core = 0;
  if (c.family == TransformerFamily::llama) {
    // Both RMSNorms' inputs, the QKV input, the gate/up input; Q after rotation, the projection
    // input, K and V, the gate and up outputs, the down input; the softmax output. No dropout.
    whole = e * sb * h * 4;
    split = e * (sb * (h / t) * 2 + sb * (kv / t) * 2 + sb * (f / t) * 3);
    core = e * scores;
  } else {
    // Korthikanti et al. §4.1: both LayerNorms' inputs, the QKV input, the MLP input and the two
    // 1-byte dropout masks after attention and MLP; Q, K, V, the projection input, the GELU input
    // and the second GEMM's input; the softmax output, its dropout mask and the dropout's output.
    whole = e * sb * h * 4 + 2 * sb * h;
    split = e * (sb * (h / t) * 2 + sb * (kv / t) * 2 + sb * (f / t) * 2);
    core = 2 * e * scores + scores;
  }
  if (shape.recompute == Recompute::selective) core = 0;
  return whole / sp + split + core;
}

Model make_transformer(const TransformerConfig& c, const ModelShape& shape) {
  if (c.hidden <= 0 || c.heads <= 0 || c.hidden % c.heads != 0) {
    throw ValueError(fmt::format("hidden ({}) must be a positive multiple of heads ({})", c.hidden, c.heads));
  }
  const std::int64_t kv_heads = c.kv_heads > 0 ? c.kv_heads : c.heads;
  if (kv_heads > c.heads || c.heads % kv_heads != 0) {
    throw ValueError(fmt::format("kv_heads ({}) must divide heads ({})", kv_heads, c.heads));
  }
  const Cut cut = cut_of(c, shape);
  const std::int64_t t = cut.t, sp = cut.sp;
  require_divisible(c.heads, t, "heads");
  require_divisible(kv_heads, t, "kv_heads");
  const bool llama = c.family == TransformerFamily::llama;
  const bool bert = c.family == TransformerFamily::bert;
  const std::int64_t b = cut.b, s = c.sequence, h = c.hidden, a = c.heads;
  const std::int64_t f = c.ffn_hidden > 0 ? c.ffn_hidden : 4 * h;
  require_divisible(f, t, "ffn_hidden");
  if (shape.sequence_parallel) require_divisible(s, t, "sequence");
  // Megatron splits the vocabulary among the ranks, padding it to a multiple of t.
  const std::int64_t v = divide_up(c.vocabulary, t);
  const std::int64_t kv = kv_heads * (h / a);  // width of the key and of the value projection
  const std::int64_t tokens = b * s;
  const DType dt = c.dtype;
  const std::uint64_t act_bytes = static_cast<std::uint64_t>(tokens * h) * dtype_bytes(dt);
  // LayerNorm: mean, variance, normalize, scale, shift; RMSNorm skips the mean and the shift.
  auto norm = [&](const std::string& name) {
    return with_split(elementwise(name, tokens * h / sp, dt, llama ? 4 : 5, 2), Split::sequence);
  };
  auto per_token = [&](const std::string& name, std::int64_t elements, double flops, double accesses) {
    return with_split(elementwise(name, elements / sp, dt, flops, accesses), Split::sequence);
  };
  const std::int64_t norm_parameters = llama ? h : 2 * h;

  Model model;
  model.name = c.name;
  model.dtype = dt;
  model.micro_batch = b;
  model.tokens_per_sample = s;

  Layer embedding;
  embedding.name = "embedding";
  embedding.parameters = v * h;                     // token embeddings (this rank's vocabulary)
  if (!llama) embedding.parameters += s * h;        // learned positions (Llama rotates instead)
  if (bert) embedding.parameters += 2 * h + 2 * h;  // two token types, embedding LayerNorm
  embedding.tensors = {v * h};
  if (!llama) embedding.tensors.push_back(s * h);
  if (bert) embedding.tensors.insert(embedding.tensors.end(), {2 * h, h, h});
  // Each rank looks up the tokens of its vocabulary range and writes zeros for the others: the
  // outputs are partial sums, like a row-parallel GEMM's.
  embedding.forward.push_back(with_split(elementwise("embedding.lookup", tokens * h, dt, 1, 3), Split::row));
  if (bert) embedding.forward.push_back(norm("embedding.ln"));
  finish_backward(embedding);
  embedding.activation_bytes = act_bytes / static_cast<std::uint64_t>(sp);
  embedding.saved_bytes = embedding.activation_bytes;
  model.layers.push_back(std::move(embedding));

  for (std::int64_t i = 0; i < c.layers; ++i) {
    Layer block;
    block.name = fmt::format("block{}", i);
    const std::string p = block.name;
    if (llama) {
      // Q and output h², K and V h·kv each, SwiGLU 3·h·f, two RMSNorms h each; no biases.
      block.parameters = 2 * h * (h / t) + 2 * h * (kv / t) + 3 * h * (f / t) + 2 * norm_parameters;
      // Hugging Face's LlamaDecoderLayer: q, k, v, o; gate, up, down; the two RMSNorms.
      block.tensors = {
          h * (h / t), h * (kv / t), h * (kv / t), (h / t) * h, h * (f / t), h * (f / t), (f / t) * h, h, h};
    } else {
      // QKV 3h²+3h and the first MLP GEMM hf+f split by columns; the output projection h²+h and
      // the second MLP GEMM fh+h split by rows, their biases whole; two layer norms 4h.
      block.parameters =
          3 * h * (h / t) + 3 * (h / t) + (h / t) * h + h + h * (f / t) + f / t + (f / t) * h + h + 4 * h;
      if (bert) {
        // BertLayer: query, key, value, attention output dense and LayerNorm (post-norm), then the
        // intermediate and output dense and the output LayerNorm; weight before bias.
        block.tensors = {h * (h / t), h / t, h * (h / t), h / t, h * (h / t), h / t, (h / t) * h, h,
                         h,           h,     h * (f / t), f / t, (f / t) * h, h,     h,           h};
      } else {
        // GPT-2's block: ln_1, the fused QKV (c_attn), its projection, ln_2, the MLP's two GEMMs.
        block.tensors = {h, h, 3 * h * (h / t), 3 * (h / t), (h / t) * h, h,
                         h, h, h * (f / t),     f / t,       (f / t) * h, h};
      }
    }
    auto column = [&](std::string name, std::int64_t m, std::int64_t n, std::int64_t k) {
      return with_split(gemm(std::move(name), m, n, k, dt), Split::column);
    };
    auto& fw = block.forward;
    fw.push_back(norm(p + (llama ? ".rms1" : ".ln1")));
    fw.push_back(column(p + ".qkv", tokens, (h + 2 * kv) / t, h));
    // Rotary embedding of queries and keys: a 2×2 rotation per pair of values (3 flops each).
    if (llama)
      fw.push_back(with_split(elementwise(p + ".rotary", tokens * (h + kv) / t, dt, 3, 2), Split::column));
    fw.push_back(with_split(gemm(p + ".scores", s, s, h / a, dt, b * a / t), Split::head));  // Q·Kᵀ per head
    fw.push_back(with_split(elementwise(p + ".softmax", b * a / t * s * s, dt, 5, 2), Split::head));
    fw.push_back(with_split(gemm(p + ".context", s, h / a, s, dt, b * a / t), Split::head));  // softmax·V
    fw.push_back(with_split(gemm(p + ".proj", tokens, h, h / t, dt), Split::row));
    fw.push_back(per_token(p + ".residual1", tokens * h, 1, 3));
    fw.push_back(norm(p + (llama ? ".rms2" : ".ln2")));
    if (llama) {
      fw.push_back(column(p + ".gate_up", tokens, 2 * f / t, h));
      // silu(gate)·up: reads two values, writes one.
      fw.push_back(with_split(elementwise(p + ".swiglu", tokens * f / t, dt, 6, 3), Split::column));
      fw.push_back(with_split(gemm(p + ".down", tokens, h, f / t, dt), Split::row));
    } else {
      fw.push_back(column(p + ".fc1", tokens, f / t, h));
      fw.push_back(with_split(elementwise(p + ".gelu", tokens * f / t, dt, 8, 2), Split::column));
      fw.push_back(with_split(gemm(p + ".fc2", tokens, h, f / t, dt), Split::row));
    }
    fw.push_back(per_token(p + ".residual2", tokens * h, 1, 3));
    finish_backward(block);
    // The attention core is exactly the kernels split by heads.
    if (shape.recompute == Recompute::selective) {
      add_recompute(block, [](const Kernel& k) { return k.split == Split::head; });
    } else if (shape.recompute == Recompute::full) {
      add_recompute(block, [](const Kernel&) { return true; });
    }
    block.activation_bytes = act_bytes / static_cast<std::uint64_t>(sp);
    block.saved_bytes = transformer_block_saved_bytes(c, shape);
    model.layers.push_back(std::move(block));
  }

  Layer head;
  head.name = "lm_head";
  const std::int64_t output_matrix = c.tie_embeddings ? 0 : v * h;
  auto vocabulary_split = [&](std::string name, std::int64_t elements, double flops) {
    return with_split(elementwise(std::move(name), elements, dt, flops, 2), Split::vocabulary);
  };
  if (bert) {
    // Masked-LM transform (dense h² + h, LayerNorm 2h), output bias V; pooler h² + h and the
    // next-sentence classifier 2h + 2 on the first token of each sample.
    head.parameters = h * h + h + 2 * h + v + output_matrix + h * h + h + 2 * h + 2;
    // The pooler (BertModel), then the MLM head (transform dense, LayerNorm, decoder bias and an
    // untied decoder) and the next-sentence classifier.
    head.tensors = {h * h, h, h * h, h, h, h, v};
    if (output_matrix > 0) head.tensors.push_back(output_matrix);
    head.tensors.insert(head.tensors.end(), {2 * h, 2});
    head.forward.push_back(with_split(gemm("lm_head.transform", tokens / sp, h, h, dt), Split::sequence));
    head.forward.push_back(per_token("lm_head.gelu_ln", tokens * h, 13, 2));
    head.forward.push_back(with_split(gemm("lm_head.logits", tokens, v, h, dt), Split::column));
    head.forward.push_back(vocabulary_split("lm_head.softmax_xent", tokens * v, 5));
    head.forward.push_back(gemm("pooler.dense", b, h, h, dt));
    head.forward.push_back(gemm("pooler.nsp", b, 2, h, dt));
  } else {
    head.parameters = norm_parameters + output_matrix;  // final norm (+ untied output matrix)
    head.tensors = llama ? std::vector<std::int64_t>{h} : std::vector<std::int64_t>{h, h};
    if (output_matrix > 0) head.tensors.push_back(output_matrix);
    head.forward.push_back(norm(llama ? "lm_head.rms_f" : "lm_head.ln_f"));
    head.forward.push_back(with_split(gemm("lm_head.logits", tokens, v, h, dt), Split::column));
    head.forward.push_back(vocabulary_split("lm_head.softmax_xent", tokens * v, 5));
  }
  finish_backward(head);
  head.activation_bytes = static_cast<std::uint64_t>(tokens * v) * dtype_bytes(dt);
  head.saved_bytes = head.activation_bytes;
  model.layers.push_back(std::move(head));
  model.shape = shape;
  model.shape.micro_batch = b;
  return model;
}

}  // namespace dmlsim::core
