#include "core/model.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "core/errors.hpp"
#include "core/model_building.hpp"
#include "core/overloaded.hpp"

namespace dmlsim::core {

using model_building::finish_backward;
using model_building::require_divisible;
using model_building::with_split;

std::string_view recompute_name(Recompute recompute) {
  switch (recompute) {
    case Recompute::none:
      return "none";
    case Recompute::selective:
      return "selective";
    case Recompute::full:
      return "full";
  }
  return "?";
}

std::vector<std::int64_t> Layer::parameter_tensors() const {
  if (!tensors.empty()) return tensors;
  if (parameters > 0) return {parameters};
  return {};
}

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

Model Model::rebuilt(const ModelShape& new_shape) const {
  if (!spec)
    throw ValueError(fmt::format("model '{}' was not made by build_model and cannot be re-cut", name));
  Model model = build_model(*spec, new_shape);
  model.name = name;
  return model;
}

Model make_mlp(const MlpConfig& c, const ModelShape& shape) {
  if (c.widths.size() < 2) throw ValueError("an MLP needs at least an input and an output width");
  if (shape.sequence_parallel)
    throw ValueError("sequence parallelism needs a transformer (an MLP has no sequence)");
  if (shape.recompute != Recompute::none) {
    throw ValueError("activation recomputation is modelled for transformers only");
  }
  if (shape.tensor_parallel < 1) {
    throw ValueError(fmt::format("tensor-parallel degree {} is not positive", shape.tensor_parallel));
  }
  const std::int64_t t = shape.tensor_parallel;
  const std::int64_t b = shape.micro_batch > 0 ? shape.micro_batch : c.batch;
  Model model;
  model.name = c.name;
  model.dtype = c.dtype;
  model.micro_batch = b;
  for (std::size_t i = 0; i + 1 < c.widths.size(); ++i) {
    const std::int64_t in = c.widths[i], out = c.widths[i + 1];
    Layer layer;
    layer.name = fmt::format("linear{}", i);
    // Megatron's MLP: the first GEMM of each pair split by output columns (its bias too), the
    // second by input rows (its output a partial sum; the bias added once, after the all-reduce).
    const bool row = i % 2 == 1;
    std::int64_t width = out;  // of this rank's output
    if (row) {
      require_divisible(in, t, fmt::format("width {} of the MLP", i));
      layer.parameters = in / t * out + out;
      layer.tensors = {in / t * out, out};
      layer.forward.push_back(with_split(gemm(layer.name + ".gemm", b, out, in / t, c.dtype), Split::row));
    } else {
      require_divisible(out, t, fmt::format("width {} of the MLP", i + 1));
      width = out / t;
      layer.parameters = in * width + width;
      layer.tensors = {in * width, width};
      layer.forward.push_back(with_split(gemm(layer.name + ".gemm", b, width, in, c.dtype), Split::column));
    }
    // Bias add and ReLU (the last layer's ReLU stands in for the loss).
    layer.forward.push_back(with_split(elementwise(layer.name + ".bias_relu", b * width, c.dtype, 2, 2),
                                       row ? Split::replicated : Split::column));
    finish_backward(layer);
    layer.activation_bytes = static_cast<std::uint64_t>(b * width) * dtype_bytes(c.dtype);
    layer.saved_bytes = layer.activation_bytes;
    model.layers.push_back(std::move(layer));
  }
  model.shape = shape;
  model.shape.micro_batch = b;
  return model;
}

namespace {

Model use_layer_list(const LayerList& list, const ModelShape& shape) {
  if (shape.tensor_parallel != 1 || shape.sequence_parallel || shape.recompute != Recompute::none ||
      (shape.micro_batch > 0 && shape.micro_batch != list.micro_batch)) {
    throw ValueError(fmt::format(
        "model '{}' lists its layers one by one: it can only be used as written (micro-batch {}, no tensor "
        "parallelism, no recomputation); describe it with a generator (type: mlp, transformer, resnet) to "
        "re-cut it",
        list.name, list.micro_batch));
  }
  Model model;
  model.name = list.name;
  model.dtype = list.dtype;
  model.micro_batch = list.micro_batch;
  model.layers = list.layers;
  model.shape.micro_batch = list.micro_batch;
  return model;
}

}  // namespace

Model build_model(const ModelSpec& spec, const ModelShape& shape) {
  Model model = std::visit(Overloaded{
                               [&](const MlpConfig& c) { return make_mlp(c, shape); },
                               [&](const TransformerConfig& c) { return make_transformer(c, shape); },
                               [&](const ResNetConfig& c) { return make_resnet(c, shape); },
                               [&](const LayerList& l) { return use_layer_list(l, shape); },
                           },
                           spec);
  model.spec = std::make_shared<const ModelSpec>(spec);
  return model;
}

namespace {

std::uint64_t output_bytes(const Kernel& k) {
  const std::uint64_t e = dtype_bytes(k.dtype);
  if (const auto* g = std::get_if<Gemm>(&k.shape))
    return static_cast<std::uint64_t>(g->m * g->n * g->batch) * e;
  if (const auto* w = std::get_if<Elementwise>(&k.shape)) return static_cast<std::uint64_t>(w->elements) * e;
  return 0;
}

std::uint64_t input_bytes(const Kernel& k) {
  if (const auto* g = std::get_if<Gemm>(&k.shape)) {
    return static_cast<std::uint64_t>(g->m * g->k * g->batch) * dtype_bytes(k.dtype);
  }
  return output_bytes(k);
}

}  // namespace

std::vector<TensorParallelCollective> tensor_parallel_collectives(const Layer& layer,
                                                                  bool sequence_parallel) {
  std::vector<TensorParallelCollective> out;
  const Collective partial_sum = sequence_parallel ? Collective::reduce_scatter : Collective::all_reduce;
  // Forward (and its recomputation in backward, which redoes the communication too). Under
  // sequence parallelism a layer's input arrives split by sequence.
  auto forward_pass = [&](const std::vector<Kernel>& kernels, bool backward, Pass pass) {
    bool gathered = false;
    std::int64_t tokens = 0;  // the rows of the last GEMM: the logits' before the cross entropy
    for (const Kernel& k : kernels) {
      if (k.pass != pass) continue;
      if (const auto* g = std::get_if<Gemm>(&k.shape)) tokens = g->m * g->batch;
      if (k.split == Split::vocabulary) {
        // Megatron-LM's vocabulary-parallel cross entropy (_VocabParallelCrossEntropy): each rank
        // holds the logits of its share of the vocabulary, and the group all-reduces one fp32 per
        // token three times — the maximum logit (for a stable softmax), the target's logit (held by
        // one rank) and the sum of the exponentials. The maximum's all-reduce costs as a sum's.
        for (int i = 0; i < 3; ++i)
          out.push_back(
              {Collective::all_reduce, static_cast<std::uint64_t>(tokens) * 4, backward, false, k.name});
        continue;
      }
      const bool split_work = k.split == Split::column || k.split == Split::head;
      if (sequence_parallel && split_work && !gathered && std::holds_alternative<Gemm>(k.shape)) {
        out.push_back({Collective::all_gather, input_bytes(k), backward, true, k.name});
        gathered = true;
      }
      if (k.split == Split::row) {
        out.push_back({partial_sum, output_bytes(k), backward, false, k.name});
        gathered = false;
      } else if (k.split == Split::sequence) {
        gathered = false;
      }
    }
  };
  forward_pass(layer.forward, false, Pass::forward);
  forward_pass(layer.backward, true, Pass::recompute);
  for (const Kernel& k : layer.backward) {
    if (k.pass != Pass::input_gradient) continue;
    if (k.split == Split::row && sequence_parallel) {
      // The gradient of a reduce-scatter is an all-gather of the incoming gradient.
      out.push_back({Collective::all_gather, input_bytes(k), true, true, k.name});
    } else if (k.split == Split::column && std::holds_alternative<Gemm>(k.shape)) {
      // The layer input's gradient is a partial sum over the ranks' columns; with sequence
      // parallelism the input (kept split) is gathered again for the weight gradient.
      if (sequence_parallel) out.push_back({Collective::all_gather, output_bytes(k), true, true, k.name});
      out.push_back({partial_sum, output_bytes(k), true, false, k.name});
    }
  }
  return out;
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

LayerList parse_layer_list(const ConfigNode& node, DType dtype) {
  LayerList list;
  list.dtype = dtype;
  list.micro_batch = node.integer_in_or("micro_batch", 1, 1 << 30, 1);
  for (const ConfigNode& l : node.at("layers").items()) {
    l.expect_only({"name", "parameters", "forward", "backward", "activation", "saved"});
    Layer layer;
    layer.name = l.string("name");
    layer.parameters = l.integer_in("parameters", 0, kMaxDimension);
    for (const ConfigNode& k : l.at("forward").items()) layer.forward.push_back(parse_kernel(k, dtype));
    if (const auto bw = l.find("backward")) {
      for (const ConfigNode& k : bw->items()) {
        layer.backward.push_back(parse_kernel(k, dtype));
        layer.backward.back().pass = Pass::input_gradient;  // not known to be either gradient: not split
      }
    } else {
      finish_backward(layer);
    }
    layer.activation_bytes = l.bytes_or("activation", 0);
    layer.saved_bytes = l.bytes_or("saved", layer.activation_bytes);
    list.layers.push_back(std::move(layer));
  }
  if (list.layers.empty()) node.at("layers").fail("needs at least one layer");
  return list;
}

}  // namespace

ModelSpec parse_model_spec(const ConfigNode& node) {
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
    c.name = node.string_or("name", "mlp");
    return c;
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
    return c;
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
    return c;
  }
  if (type == "layers") {
    node.expect_only({"type", "name", "layers", "micro_batch", "dtype"});
    LayerList list = parse_layer_list(node, dtype_field(node, "dtype", DType::fp32));
    list.name = node.string_or("name", "layers");
    return list;
  }
  node.at("type").fail(
      fmt::format("unknown model type '{}' (known: mlp, transformer, resnet, layers)", type));
}

Model parse_model(const ConfigNode& node) {
  const ModelSpec spec = parse_model_spec(node);
  try {
    return build_model(spec);
  } catch (const ValueError& e) {
    node.fail(e.what());
  }
}

Model load_model(const std::filesystem::path& file) {
  const ConfigNode root = ConfigNode::load_file(file);
  root.expect_only({"model"});
  return parse_model(root.at("model"));
}

}  // namespace dmlsim::core
