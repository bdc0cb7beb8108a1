#include "core/model.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "core/errors.hpp"

namespace dmlsim::core {

std::int64_t Model::parameters() const {
  return std::accumulate(layers.begin(), layers.end(), std::int64_t{0},
                         [](std::int64_t sum, const Layer& l) { return sum + l.parameters; });
}

namespace {

double sum_flops(const std::vector<Kernel>& kernels) {
  double total = 0;
  for (const Kernel& k : kernels) total += k.flops();
  return total;
}

// Backward of C[m×n] = A[m×k]·B[k×n]: dA = dC·Bᵀ (m×k from n) and dB = Aᵀ·dC (k×n from m).
void add_gemm_backward(std::vector<Kernel>& out, const Kernel& forward) {
  const auto& g = std::get<Gemm>(forward.shape);
  out.push_back(gemm(forward.name + ".dgrad", g.m, g.k, g.n, forward.dtype, g.batch));
  out.push_back(gemm(forward.name + ".wgrad", g.k, g.n, g.m, forward.dtype, g.batch));
}

// Elementwise backward reads the saved input and the incoming gradient, writes one gradient.
Kernel elementwise_backward(const Kernel& forward) {
  const auto& e = std::get<Elementwise>(forward.shape);
  return elementwise(forward.name + ".grad", e.elements, forward.dtype, e.flops_per_element, 3);
}

void finish_backward(Layer& layer) {
  for (auto it = layer.forward.rbegin(); it != layer.forward.rend(); ++it) {
    if (std::holds_alternative<Gemm>(it->shape)) {
      add_gemm_backward(layer.backward, *it);
    } else {
      layer.backward.push_back(elementwise_backward(*it));
    }
  }
}

}  // namespace

double Model::forward_flops() const {
  double total = 0;
  for (const Layer& l : layers) total += sum_flops(l.forward);
  return total;
}

double Model::backward_flops() const {
  double total = 0;
  for (const Layer& l : layers) total += sum_flops(l.backward);
  return total;
}

Model make_mlp(const MlpConfig& c) {
  if (c.widths.size() < 2) throw ValueError("an MLP needs at least an input and an output width");
  Model model;
  model.name = "mlp";
  model.dtype = c.dtype;
  model.micro_batch = c.batch;
  for (std::size_t i = 0; i + 1 < c.widths.size(); ++i) {
    const std::int64_t in = c.widths[i], out = c.widths[i + 1];
    Layer layer;
    layer.name = fmt::format("linear{}", i);
    layer.parameters = in * out + out;
    layer.forward.push_back(gemm(layer.name + ".gemm", c.batch, out, in, c.dtype));
    // Bias add and ReLU (the last layer's ReLU stands in for the loss).
    layer.forward.push_back(elementwise(layer.name + ".bias_relu", c.batch * out, c.dtype, 2, 2));
    finish_backward(layer);
    layer.activation_bytes = static_cast<std::uint64_t>(c.batch * out) * dtype_bytes(c.dtype);
    layer.saved_bytes = layer.activation_bytes;
    model.layers.push_back(std::move(layer));
  }
  return model;
}

std::uint64_t transformer_block_saved_bytes(const TransformerConfig& c) {
  const auto b = static_cast<std::uint64_t>(c.micro_batch), s = static_cast<std::uint64_t>(c.sequence);
  const auto h = static_cast<std::uint64_t>(c.hidden), a = static_cast<std::uint64_t>(c.heads);
  const auto f = static_cast<std::uint64_t>(c.ffn_hidden > 0 ? c.ffn_hidden : 4 * c.hidden);
  const auto kv = static_cast<std::uint64_t>(c.kv_heads > 0 ? c.kv_heads : c.heads) * (h / a);
  const std::uint64_t e = dtype_bytes(c.dtype), sb = s * b, scores = a * s * s * b;
  if (c.family == TransformerFamily::llama) {
    // Attention: RMSNorm input, QKV input, Q and K after rotation, V, softmax output, projection
    // input. MLP: RMSNorm input, gate/up input, gate and up outputs, down input. No dropout.
    return e * (sb * h * 6 + sb * kv * 2 + sb * f * 3 + scores);
  }
  // Attention (Korthikanti et al. §4.1.1): QKV input, Q and K, V, softmax output and its dropout's
  // output (5·a·s²·b with the 1-byte mask), projection input, output dropout mask. MLP: input,
  // the activation's input, second GEMM's input, dropout mask. Both LayerNorms' inputs.
  const std::uint64_t attention = e * (sb * h * 3 + sb * kv * 2 + 2 * scores) + scores + sb * h;
  const std::uint64_t mlp = e * (sb * h + 2 * sb * f) + sb * h;
  const std::uint64_t norms = e * 2 * sb * h;
  return attention + mlp + norms;
}

Model make_transformer(const TransformerConfig& c) {
  if (c.hidden <= 0 || c.heads <= 0 || c.hidden % c.heads != 0) {
    throw ValueError(fmt::format("hidden ({}) must be a positive multiple of heads ({})", c.hidden, c.heads));
  }
  const std::int64_t kv_heads = c.kv_heads > 0 ? c.kv_heads : c.heads;
  if (kv_heads > c.heads || c.heads % kv_heads != 0) {
    throw ValueError(fmt::format("kv_heads ({}) must divide heads ({})", kv_heads, c.heads));
  }
  const bool llama = c.family == TransformerFamily::llama;
  const bool bert = c.family == TransformerFamily::bert;
  const std::int64_t b = c.micro_batch, s = c.sequence, h = c.hidden, a = c.heads, v = c.vocabulary;
  const std::int64_t f = c.ffn_hidden > 0 ? c.ffn_hidden : 4 * h;
  const std::int64_t kv = kv_heads * (h / a);  // width of the key and of the value projection
  const std::int64_t tokens = b * s;
  const DType dt = c.dtype;
  const std::uint64_t act_bytes = static_cast<std::uint64_t>(tokens * h) * dtype_bytes(dt);
  // LayerNorm: mean, variance, normalize, scale, shift; RMSNorm skips the mean and the shift.
  auto norm = [&](const std::string& name) { return elementwise(name, tokens * h, dt, llama ? 4 : 5, 2); };
  const std::int64_t norm_parameters = llama ? h : 2 * h;

  Model model;
  model.name = c.name;
  model.dtype = dt;
  model.micro_batch = b;
  model.tokens_per_sample = s;

  Layer embedding;
  embedding.name = "embedding";
  embedding.parameters = v * h;                     // token embeddings
  if (!llama) embedding.parameters += s * h;        // learned positions (Llama rotates instead)
  if (bert) embedding.parameters += 2 * h + 2 * h;  // two token types, embedding LayerNorm
  embedding.forward.push_back(elementwise("embedding.lookup", tokens * h, dt, 1, 3));
  if (bert) embedding.forward.push_back(norm("embedding.ln"));
  finish_backward(embedding);
  embedding.activation_bytes = act_bytes;
  embedding.saved_bytes = act_bytes;
  model.layers.push_back(std::move(embedding));

  for (std::int64_t i = 0; i < c.layers; ++i) {
    Layer block;
    block.name = fmt::format("block{}", i);
    const std::string p = block.name;
    if (llama) {
      // Q and output h², K and V h·kv each, SwiGLU 3·h·f, two RMSNorms h each; no biases.
      block.parameters = 2 * h * h + 2 * h * kv + 3 * h * f + 2 * norm_parameters;
    } else {
      // QKV 3h²+3h, output projection h²+h, MLP 2hf+f+h, two layer norms 4h.
      block.parameters = 3 * h * h + 3 * h + h * h + h + 2 * h * f + f + h + 4 * h;
    }
    auto& fw = block.forward;
    fw.push_back(norm(p + (llama ? ".rms1" : ".ln1")));
    fw.push_back(gemm(p + ".qkv", tokens, h + 2 * kv, h, dt));
    // Rotary embedding of queries and keys: a 2×2 rotation per pair of values (3 flops each).
    if (llama) fw.push_back(elementwise(p + ".rotary", tokens * (h + kv), dt, 3, 2));
    fw.push_back(gemm(p + ".scores", s, s, h / a, dt, b * a));  // Q·Kᵀ per head
    fw.push_back(elementwise(p + ".softmax", b * a * s * s, dt, 5, 2));
    fw.push_back(gemm(p + ".context", s, h / a, s, dt, b * a));  // softmax·V per head
    fw.push_back(gemm(p + ".proj", tokens, h, h, dt));
    fw.push_back(elementwise(p + ".residual1", tokens * h, dt, 1, 3));
    fw.push_back(norm(p + (llama ? ".rms2" : ".ln2")));
    if (llama) {
      fw.push_back(gemm(p + ".gate_up", tokens, 2 * f, h, dt));
      // silu(gate)·up: reads two values, writes one.
      fw.push_back(elementwise(p + ".swiglu", tokens * f, dt, 6, 3));
      fw.push_back(gemm(p + ".down", tokens, h, f, dt));
    } else {
      fw.push_back(gemm(p + ".fc1", tokens, f, h, dt));
      fw.push_back(elementwise(p + ".gelu", tokens * f, dt, 8, 2));
      fw.push_back(gemm(p + ".fc2", tokens, h, f, dt));
    }
    fw.push_back(elementwise(p + ".residual2", tokens * h, dt, 1, 3));
    finish_backward(block);
    block.activation_bytes = act_bytes;
    block.saved_bytes = transformer_block_saved_bytes(c);
    model.layers.push_back(std::move(block));
  }

  Layer head;
  head.name = "lm_head";
  const std::int64_t output_matrix = c.tie_embeddings ? 0 : v * h;
  if (bert) {
    // Masked-LM transform (dense h² + h, LayerNorm 2h), output bias V; pooler h² + h and the
    // next-sentence classifier 2h + 2 on the first token of each sample.
    head.parameters = h * h + h + 2 * h + v + output_matrix + h * h + h + 2 * h + 2;
    head.forward.push_back(gemm("lm_head.transform", tokens, h, h, dt));
    head.forward.push_back(elementwise("lm_head.gelu_ln", tokens * h, dt, 13, 2));
    head.forward.push_back(gemm("lm_head.logits", tokens, v, h, dt));
    head.forward.push_back(elementwise("lm_head.softmax_xent", tokens * v, dt, 5, 2));
    head.forward.push_back(gemm("pooler.dense", b, h, h, dt));
    head.forward.push_back(gemm("pooler.nsp", b, 2, h, dt));
  } else {
    head.parameters = norm_parameters + output_matrix;  // final norm (+ untied output matrix)
    head.forward.push_back(norm(llama ? "lm_head.rms_f" : "lm_head.ln_f"));
    head.forward.push_back(gemm("lm_head.logits", tokens, v, h, dt));
    head.forward.push_back(elementwise("lm_head.softmax_xent", tokens * v, dt, 5, 2));
  }
  finish_backward(head);
  head.activation_bytes = static_cast<std::uint64_t>(tokens * v) * dtype_bytes(dt);
  head.saved_bytes = head.activation_bytes;
  model.layers.push_back(std::move(head));
  return model;
}

namespace {

// One convolution with its batch norm as a model layer; returns the output's height (= width).
// Stand-in for cuDNN's implicit GEMM: m = batch·H_out·W_out, n = C_out, k = C_in·kh·kw.
struct ConvShape {
  std::int64_t in_size, in_channels, out_channels, kernel, stride;
  bool relu = true;  // BN then ReLU; without it BN only (the last convolution of a block)
};

std::int64_t add_conv(Model& model, const std::string& name, const ConvShape& c, std::int64_t batch,
                      DType dt) {
  const std::int64_t pad = c.kernel / 2;
  const std::int64_t out = (c.in_size + 2 * pad - c.kernel) / c.stride + 1;
  const std::int64_t m = batch * out * out, n = c.out_channels, k = c.in_channels * c.kernel * c.kernel;
  Layer layer;
  layer.name = name;
  layer.parameters = k * n + 2 * n;  // weights (no bias) and batch norm's scale and shift
  layer.forward.push_back(gemm(name + ".conv", m, n, k, dt));
  // Batch norm: statistics, normalize, scale, shift (≈ 4 flops); ReLU one more.
  layer.forward.push_back(elementwise(name + (c.relu ? ".bn_relu" : ".bn"), m * n, dt, c.relu ? 5 : 4, 2));
  finish_backward(layer);
  layer.activation_bytes = 2 * static_cast<std::uint64_t>(m * n) * dtype_bytes(dt);
  layer.saved_bytes = layer.activation_bytes;
  model.layers.push_back(std::move(layer));
  return out;
}

}  // namespace

Model make_resnet(const ResNetConfig& c) {
  std::vector<std::int64_t> blocks;
  switch (c.depth) {
    case 50:
      blocks = {3, 4, 6, 3};
      break;
    case 101:
      blocks = {3, 4, 23, 3};
      break;
    case 152:
      blocks = {3, 8, 36, 3};
      break;
    default:
      throw ValueError(fmt::format("ResNet depth {} is not a bottleneck ResNet (50, 101, 152)", c.depth));
  }
  if (c.image < 32) throw ValueError(fmt::format("image size {} is below 32 pixels", c.image));
  const std::int64_t b = c.batch;
  const DType dt = c.dtype;
  Model model;
  model.name = c.name;
  model.dtype = dt;
  model.micro_batch = b;

  // Stem: 7×7/2 convolution to 64 channels, then 3×3/2 max pooling (9 comparisons per output,
  // reading four inputs per output on average and writing one).
  std::int64_t size = add_conv(model, "conv1", {c.image, 3, 64, 7, 2}, b, dt);
  size = (size + 2 - 3) / 2 + 1;
  model.layers.back().forward.push_back(elementwise("conv1.maxpool", b * size * size * 64, dt, 9, 5));
  model.layers.back().backward.push_back(elementwise("conv1.maxpool.grad", b * size * size * 64, dt, 1, 5));

  std::int64_t channels = 64;
  for (std::size_t stage = 0; stage < blocks.size(); ++stage) {
    const std::int64_t width = 64 << stage, out_channels = 4 * width;
    for (std::int64_t i = 0; i < blocks[stage]; ++i) {
      const std::string p = fmt::format("layer{}.{}", stage + 1, i);
      const std::int64_t stride = (i == 0 && stage > 0) ? 2 : 1;
      const std::int64_t s1 = c.stride_on_3x3 ? 1 : stride, s3 = c.stride_on_3x3 ? stride : 1;
      const std::int64_t in_size = size;
      size = add_conv(model, p + ".conv1", {in_size, channels, width, 1, s1}, b, dt);
      size = add_conv(model, p + ".conv2", {size, width, width, 3, s3}, b, dt);
      size = add_conv(model, p + ".conv3", {size, width, out_channels, 1, 1, false}, b, dt);
      if (i == 0) {
        add_conv(model, p + ".downsample", {in_size, channels, out_channels, 1, stride, false}, b, dt);
      }
      // Residual add and ReLU.
      const std::int64_t elements = b * size * size * out_channels;
      model.layers.back().forward.push_back(elementwise(p + ".residual_relu", elements, dt, 2, 3));
      model.layers.back().backward.push_back(elementwise(p + ".residual_relu.grad", elements, dt, 2, 3));
      channels = out_channels;
    }
  }

  Layer fc;
  fc.name = "fc";
  fc.parameters = channels * c.classes + c.classes;
  fc.forward.push_back(elementwise("fc.avgpool", b * size * size * channels, dt, 1, 1));
  fc.forward.push_back(gemm("fc.gemm", b, c.classes, channels, dt));
  fc.forward.push_back(elementwise("fc.softmax_xent", b * c.classes, dt, 5, 2));
  finish_backward(fc);
  fc.activation_bytes = static_cast<std::uint64_t>(b * c.classes) * dtype_bytes(dt);
  fc.saved_bytes = fc.activation_bytes;
  model.layers.push_back(std::move(fc));
  return model;
}

namespace {

DType dtype_field(const ConfigNode& node, std::string_view key, DType fallback) {
  const auto child = node.find(key);
  if (!child) return fallback;
  try {
    return parse_dtype(child->as_string());
  } catch (const ValueError& e) {
    child->fail(e.what());
  }
}

constexpr std::int64_t kMaxDimension = std::int64_t{1} << 40;

// A per-element count of a kernel: finite and not negative.
double count_or(const ConfigNode& node, std::string_view key, double fallback) {
  const auto child = node.find(key);
  if (!child) return fallback;
  const double value = child->as_double();
  if (!(value >= 0) || !std::isfinite(value)) child->fail("must be a finite number, 0 or more");
  return value;
}

Kernel parse_kernel(const ConfigNode& node, DType dtype) {
  node.expect_only({"name", "gemm", "elementwise", "batch", "flops_per_element", "accesses_per_element"});
  const std::string name = node.string_or("name", "kernel");
  if (const auto g = node.find("gemm")) {
    const auto dims = g->items();
    if (dims.size() != 3) g->fail("expected [m, n, k]");
    std::int64_t mnk[3];
    for (std::size_t i = 0; i < 3; ++i) {
      mnk[i] = dims[i].as_int();
      if (mnk[i] < 1 || mnk[i] > kMaxDimension)
        dims[i].fail(fmt::format("{} is out of range [1, {}]", mnk[i], kMaxDimension));
    }
    return gemm(name, mnk[0], mnk[1], mnk[2], dtype, node.integer_in_or("batch", 1, kMaxDimension, 1));
  }
  if (node.has("elementwise")) {
    return elementwise(name, node.integer_in("elementwise", 1, kMaxDimension), dtype,
                       count_or(node, "flops_per_element", 1), count_or(node, "accesses_per_element", 2));
  }
  node.fail("a kernel needs either 'gemm: [m, n, k]' or 'elementwise: N'");
}

Model parse_explicit_layers(const ConfigNode& node, DType dtype) {
  Model model;
  model.dtype = dtype;
  model.micro_batch = node.integer_in_or("micro_batch", 1, 1 << 30, 1);
  for (const ConfigNode& l : node.at("layers").items()) {
    l.expect_only({"name", "parameters", "forward", "backward", "activation", "saved"});
    Layer layer;
    layer.name = l.string("name");
    layer.parameters = l.integer_in("parameters", 0, kMaxDimension);
    for (const ConfigNode& k : l.at("forward").items()) layer.forward.push_back(parse_kernel(k, dtype));
    if (const auto bw = l.find("backward")) {
      for (const ConfigNode& k : bw->items()) layer.backward.push_back(parse_kernel(k, dtype));
    } else {
      finish_backward(layer);
    }
    layer.activation_bytes = l.bytes_or("activation", 0);
    layer.saved_bytes = l.bytes_or("saved", layer.activation_bytes);
    model.layers.push_back(std::move(layer));
  }
  if (model.layers.empty()) node.at("layers").fail("needs at least one layer");
  return model;
}

}  // namespace

Model parse_model(const ConfigNode& node) {
  const std::string type = node.string("type");
  constexpr std::int64_t kMax = std::int64_t{1} << 40;
  if (type == "mlp") {
    node.expect_only({"type", "name", "widths", "batch", "dtype"});
    MlpConfig c;
    for (const ConfigNode& w : node.at("widths").items()) {
      if (w.as_int() <= 0) w.fail("widths must be positive");
      c.widths.push_back(w.as_int());
    }
    if (c.widths.size() < 2) node.at("widths").fail("needs at least an input and an output width");
    c.batch = node.integer_in("batch", 1, kMax);
    c.dtype = dtype_field(node, "dtype", DType::fp32);
    Model m = make_mlp(c);
    m.name = node.string_or("name", "mlp");
    return m;
  }
  if (type == "transformer") {
    node.expect_only({"type", "name", "family", "layers", "hidden", "heads", "kv_heads", "sequence",
                      "vocabulary", "micro_batch", "ffn_hidden", "tie_embeddings", "dtype"});
    TransformerConfig c;
    c.name = node.string_or("name", "transformer");
    const std::string family = node.string_or("family", "gpt");
    if (family == "gpt") {
      c.family = TransformerFamily::gpt;
    } else if (family == "bert") {
      c.family = TransformerFamily::bert;
    } else if (family == "llama") {
      c.family = TransformerFamily::llama;
    } else {
      node.at("family").fail(fmt::format("unknown family '{}' (known: gpt, bert, llama)", family));
    }
    c.layers = node.integer_in("layers", 1, 1 << 20);
    c.hidden = node.integer_in("hidden", 1, kMax);
    c.heads = node.integer_in("heads", 1, kMax);
    if (c.hidden % c.heads != 0) node.at("heads").fail(fmt::format("must divide hidden ({})", c.hidden));
    c.kv_heads = node.integer_in_or("kv_heads", 1, kMax, 0);
    if (c.kv_heads > 0 && (c.kv_heads > c.heads || c.heads % c.kv_heads != 0)) {
      node.at("kv_heads").fail(fmt::format("must divide heads ({})", c.heads));
    }
    c.sequence = node.integer_in("sequence", 1, kMax);
    c.vocabulary = node.integer_in("vocabulary", 1, kMax);
    c.micro_batch = node.integer_in("micro_batch", 1, kMax);
    c.ffn_hidden = node.integer_in_or("ffn_hidden", 1, kMax, 0);
    // Llama keeps a separate output matrix; GPT and BERT share it with the token embeddings.
    c.tie_embeddings = node.boolean_or("tie_embeddings", c.family != TransformerFamily::llama);
    c.dtype = dtype_field(node, "dtype", DType::bf16);
    return make_transformer(c);
  }
  if (type == "resnet") {
    node.expect_only({"type", "name", "depth", "variant", "image", "classes", "batch", "dtype"});
    ResNetConfig c;
    c.name = node.string_or("name", "resnet");
    c.depth = node.integer_or("depth", 50);
    if (c.depth != 50 && c.depth != 101 && c.depth != 152) {
      node.at("depth").fail("known depths: 50, 101, 152");
    }
    const std::string variant = node.string_or("variant", "v1.5");
    if (variant != "v1" && variant != "v1.5") {
      node.at("variant").fail(fmt::format("unknown variant '{}' (known: v1, v1.5)", variant));
    }
    c.stride_on_3x3 = variant == "v1.5";
    c.image = node.integer_in_or("image", 32, 1 << 16, 224);
    c.classes = node.integer_in_or("classes", 1, kMax, 1000);
    c.batch = node.integer_in("batch", 1, kMax);
    c.dtype = dtype_field(node, "dtype", DType::fp16);
    return make_resnet(c);
  }
  if (type == "layers") {
    node.expect_only({"type", "name", "layers", "micro_batch", "dtype"});
    Model m = parse_explicit_layers(node, dtype_field(node, "dtype", DType::fp32));
    m.name = node.string_or("name", "layers");
    return m;
  }
  node.at("type").fail(
      fmt::format("unknown model type '{}' (known: mlp, transformer, resnet, layers)", type));
}

Model load_model(const std::filesystem::path& file) {
  const ConfigNode root = ConfigNode::load_file(file);
  root.expect_only({"model"});
  return parse_model(root.at("model"));
}

}  // namespace dmlsim::core
