#include "core/model.hpp"

#include <fmt/format.h>

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
    model.layers.push_back(std::move(layer));
  }
  return model;
}

Model make_transformer(const TransformerConfig& c) {
  if (c.hidden <= 0 || c.heads <= 0 || c.hidden % c.heads != 0) {
    throw ValueError(fmt::format("hidden ({}) must be a positive multiple of heads ({})", c.hidden, c.heads));
  }
  const std::int64_t b = c.micro_batch, s = c.sequence, h = c.hidden, a = c.heads, v = c.vocabulary;
  const std::int64_t f = c.ffn_hidden > 0 ? c.ffn_hidden : 4 * h;
  const std::int64_t tokens = b * s;
  const DType dt = c.dtype;
  const std::uint64_t act_bytes = static_cast<std::uint64_t>(tokens * h) * dtype_bytes(dt);

  Model model;
  model.name = c.name;
  model.dtype = dt;
  model.micro_batch = b;
  model.tokens_per_sample = s;

  Layer embedding;
  embedding.name = "embedding";
  embedding.parameters = v * h + s * h;  // token and learned position embeddings
  embedding.forward.push_back(elementwise("embedding.lookup", tokens * h, dt, 1, 3));
  finish_backward(embedding);
  embedding.activation_bytes = act_bytes;
  model.layers.push_back(std::move(embedding));

  for (std::int64_t i = 0; i < c.layers; ++i) {
    Layer block;
    block.name = fmt::format("block{}", i);
    const std::string p = block.name;
    // QKV 3h²+3h, output projection h²+h, MLP 2hf+f+h, two layer norms 4h.
    block.parameters = 3 * h * h + 3 * h + h * h + h + 2 * h * f + f + h + 4 * h;
    auto& fw = block.forward;
    fw.push_back(elementwise(p + ".ln1", tokens * h, dt, 5, 2));
    fw.push_back(gemm(p + ".qkv", tokens, 3 * h, h, dt));
    fw.push_back(gemm(p + ".scores", s, s, h / a, dt, b * a));  // Q·Kᵀ per head
    fw.push_back(elementwise(p + ".softmax", b * a * s * s, dt, 5, 2));
    fw.push_back(gemm(p + ".context", s, h / a, s, dt, b * a));  // softmax·V per head
    fw.push_back(gemm(p + ".proj", tokens, h, h, dt));
    fw.push_back(elementwise(p + ".residual1", tokens * h, dt, 1, 3));
    fw.push_back(elementwise(p + ".ln2", tokens * h, dt, 5, 2));
    fw.push_back(gemm(p + ".fc1", tokens, f, h, dt));
    fw.push_back(elementwise(p + ".gelu", tokens * f, dt, 8, 2));
    fw.push_back(gemm(p + ".fc2", tokens, h, f, dt));
    fw.push_back(elementwise(p + ".residual2", tokens * h, dt, 1, 3));
    finish_backward(block);
    block.activation_bytes = act_bytes;
    model.layers.push_back(std::move(block));
  }

  Layer head;
  head.name = "lm_head";
  head.parameters = 2 * h + (c.tie_embeddings ? 0 : v * h);  // final layer norm (+ untied output matrix)
  head.forward.push_back(elementwise("lm_head.ln_f", tokens * h, dt, 5, 2));
  head.forward.push_back(gemm("lm_head.logits", tokens, v, h, dt));
  head.forward.push_back(elementwise("lm_head.softmax_xent", tokens * v, dt, 5, 2));
  finish_backward(head);
  head.activation_bytes = static_cast<std::uint64_t>(tokens * v) * dtype_bytes(dt);
  model.layers.push_back(std::move(head));
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

Kernel parse_kernel(const ConfigNode& node, DType dtype) {
  node.expect_only({"name", "gemm", "elementwise", "batch", "flops_per_element", "accesses_per_element"});
  const std::string name = node.string_or("name", "kernel");
  if (const auto g = node.find("gemm")) {
    const auto dims = g->items();
    if (dims.size() != 3) g->fail("expected [m, n, k]");
    return gemm(name, dims[0].as_int(), dims[1].as_int(), dims[2].as_int(), dtype,
                node.integer_or("batch", 1));
  }
  if (node.has("elementwise")) {
    return elementwise(name, node.integer("elementwise"), dtype, node.number_or("flops_per_element", 1),
                       node.number_or("accesses_per_element", 2));
  }
  node.fail("a kernel needs either 'gemm: [m, n, k]' or 'elementwise: N'");
}

Model parse_explicit_layers(const ConfigNode& node, DType dtype) {
  Model model;
  model.dtype = dtype;
  model.micro_batch = node.integer_in_or("micro_batch", 1, 1 << 30, 1);
  for (const ConfigNode& l : node.at("layers").items()) {
    l.expect_only({"name", "parameters", "forward", "backward", "activation"});
    Layer layer;
    layer.name = l.string("name");
    layer.parameters = l.integer("parameters");
    for (const ConfigNode& k : l.at("forward").items()) layer.forward.push_back(parse_kernel(k, dtype));
    if (const auto bw = l.find("backward")) {
      for (const ConfigNode& k : bw->items()) layer.backward.push_back(parse_kernel(k, dtype));
    } else {
      finish_backward(layer);
    }
    layer.activation_bytes = l.bytes_or("activation", 0);
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
    node.expect_only({"type", "name", "layers", "hidden", "heads", "sequence", "vocabulary", "micro_batch",
                      "ffn_hidden", "tie_embeddings", "dtype"});
    TransformerConfig c;
    c.name = node.string_or("name", "transformer");
    c.layers = node.integer_in("layers", 1, 1 << 20);
    c.hidden = node.integer_in("hidden", 1, kMax);
    c.heads = node.integer_in("heads", 1, kMax);
    if (c.hidden % c.heads != 0) node.at("heads").fail(fmt::format("must divide hidden ({})", c.hidden));
    c.sequence = node.integer_in("sequence", 1, kMax);
    c.vocabulary = node.integer_in("vocabulary", 1, kMax);
    c.micro_batch = node.integer_in("micro_batch", 1, kMax);
    c.ffn_hidden = node.integer_in_or("ffn_hidden", 1, kMax, 0);
    c.tie_embeddings = node.boolean_or("tie_embeddings", true);
    c.dtype = dtype_field(node, "dtype", DType::bf16);
    return make_transformer(c);
  }
  if (type == "layers") {
    node.expect_only({"type", "name", "layers", "micro_batch", "dtype"});
    Model m = parse_explicit_layers(node, dtype_field(node, "dtype", DType::fp32));
    m.name = node.string_or("name", "layers");
    return m;
  }
  node.at("type").fail(fmt::format("unknown model type '{}' (known: mlp, transformer, layers)", type));
}

}  // namespace dmlsim::core
