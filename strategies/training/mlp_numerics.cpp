#include "strategies/training/mlp_numerics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace dmlsim::strategies::numerics {

namespace {

// A uniform value in [-1, 1) from three integers (splitmix64 finalizer).
float hashed(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ULL + b * 0xbf58476d1ce4e5b9ULL + c * 0x94d049bb133111ebULL + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<float>(static_cast<double>(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

std::size_t size(std::int64_t n) {
  return static_cast<std::size_t>(n);
}

}  // namespace

void sample_input(std::int64_t sample, std::span<float> x) {
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = hashed(1, static_cast<std::uint64_t>(sample), k);
}

void sample_target(std::int64_t sample, std::span<float> y) {
  for (std::size_t j = 0; j < y.size(); ++j)
    y[j] = 0.5f * std::sin(0.37f * static_cast<float>(sample % 1000) + 1.3f * static_cast<float>(j));
}

LayerSplit split_layer(std::span<const std::int64_t> widths, int layer, int degree, int index) {
  LayerSplit s;
  s.layer = layer;
  s.row = layer % 2 == 1;
  s.last = static_cast<std::size_t>(layer) + 2 == widths.size();
  s.degree = degree;
  s.in = widths[static_cast<std::size_t>(layer)];
  s.out = widths[static_cast<std::size_t>(layer) + 1];
  s.in_local = s.in;
  s.out_local = s.out;
  if (s.row) {
    s.in_local = s.in / degree;
    s.first_in = s.in_local * index;
  } else {
    s.out_local = s.out / degree;
    s.first_out = s.out_local * index;
  }
  return s;
}

LayerState initial_layer(std::span<const std::int64_t> widths, int layer, int degree, int index) {
  LayerState l;
  l.split = split_layer(widths, layer, degree, index);
  const LayerSplit& s = l.split;
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.in));
  l.weight.resize(size(s.out_local * s.in_local));
  for (std::int64_t o = 0; o < s.out_local; ++o) {
    for (std::int64_t k = 0; k < s.in_local; ++k) {
      l.weight[size(o * s.in_local + k)] =
          scale * hashed(2 + static_cast<std::uint64_t>(layer), static_cast<std::uint64_t>(s.first_out + o),
                         static_cast<std::uint64_t>(s.first_in + k));
    }
  }
  l.bias.resize(size(s.out_local));
  for (std::int64_t o = 0; o < s.out_local; ++o)
    l.bias[size(o)] = 0.1f * hashed(1000 + static_cast<std::uint64_t>(layer),
                                    static_cast<std::uint64_t>(s.first_out + o), 0);
  l.weight_gradient.assign(l.weight.size(), 0.0f);
  l.bias_gradient.assign(l.bias.size(), 0.0f);
  return l;
}

std::vector<float> forward(const LayerState& layer, std::span<const float> input, std::int64_t rows,
                           Saved& saved, const TensorSum& sum) {
  const LayerSplit& s = layer.split;
  if (input.size() != size(rows * s.in_local)) {
    throw std::logic_error(
        fmt::format("layer {} gets {} input values, not {} × {}", s.layer, input.size(), rows, s.in_local));
  }
  std::vector<float> z(size(rows * s.out_local), 0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < s.out_local; ++o) {
      float acc = 0;
      for (std::int64_t k = 0; k < s.in_local; ++k)
        acc += input[size(r * s.in_local + k)] * layer.weight[size(o * s.in_local + k)];
      z[size(r * s.out_local + o)] = acc;
    }
  }
  // A row-parallel layer's product is a partial sum over its input shard (Megatron's g).
  if (s.row && s.degree > 1) sum(z);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < s.out_local; ++o) z[size(r * s.out_local + o)] += layer.bias[size(o)];
  }
  saved.input.assign(input.begin(), input.end());
  saved.pre_activation = z;
  if (!s.last) {
    for (float& v : z) v = std::max(v, 0.0f);
  }
  return z;
}

std::vector<float> backward_input(const LayerState& layer, std::span<const float> output_gradient,
                                  std::int64_t rows, Saved& saved, const TensorSum& sum) {
  const LayerSplit& s = layer.split;
  if (output_gradient.size() != size(rows * s.out_local)) {
    throw std::logic_error(fmt::format("layer {} gets {} output-gradient values, not {} × {}", s.layer,
                                       output_gradient.size(), rows, s.out_local));
  }
  std::vector<float>& dz = saved.pre_activation_gradient;
  dz.assign(output_gradient.begin(), output_gradient.end());
  if (!s.last) {
    for (std::size_t i = 0; i < dz.size(); ++i) {
      if (saved.pre_activation[i] <= 0) dz[i] = 0;
    }
  }
  std::vector<float> dx(size(rows * s.in_local), 0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < s.out_local; ++o) {
      const float g = dz[size(r * s.out_local + o)];
      for (std::int64_t k = 0; k < s.in_local; ++k)
        dx[size(r * s.in_local + k)] += g * layer.weight[size(o * s.in_local + k)];
    }
  }
  // A column-parallel layer's input gradient is a partial sum over its output shard (Megatron's f).
  if (!s.row && s.degree > 1) sum(dx);
  return dx;
}

void backward_weight(LayerState& layer, std::int64_t rows, const Saved& saved) {
  const LayerSplit& s = layer.split;
  const std::vector<float>& dz = saved.pre_activation_gradient;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < s.out_local; ++o) {
      const float g = dz[size(r * s.out_local + o)];
      layer.bias_gradient[size(o)] += g;
      for (std::int64_t k = 0; k < s.in_local; ++k)
        layer.weight_gradient[size(o * s.in_local + k)] += g * saved.input[size(r * s.in_local + k)];
    }
  }
}

std::vector<float> loss_gradient(const LayerSplit& last, std::span<const float> output,
                                 std::int64_t first_sample, std::int64_t rows, std::int64_t global_batch) {
  std::vector<float> target(size(last.out));
  std::vector<float> gradient(output.size());
  const float scale = 1.0f / static_cast<float>(global_batch);
  for (std::int64_t r = 0; r < rows; ++r) {
    sample_target(first_sample + r, target);
    for (std::int64_t o = 0; o < last.out_local; ++o) {
      const std::size_t i = size(r * last.out_local + o);
      gradient[i] = (output[i] - target[size(last.first_out + o)]) * scale;
    }
  }
  return gradient;
}

std::vector<float> flat_gradients(std::span<const LayerState> layers) {
  std::vector<float> flat;
  for (const LayerState& l : layers) {
    flat.insert(flat.end(), l.weight_gradient.begin(), l.weight_gradient.end());
    flat.insert(flat.end(), l.bias_gradient.begin(), l.bias_gradient.end());
  }
  return flat;
}

std::vector<float> flat_parameters(std::span<const LayerState> layers) {
  std::vector<float> flat;
  for (const LayerState& l : layers) {
    flat.insert(flat.end(), l.weight.begin(), l.weight.end());
    flat.insert(flat.end(), l.bias.begin(), l.bias.end());
  }
  return flat;
}

void set_parameters(std::span<LayerState> layers, std::span<const float> flat) {
  std::size_t at = 0;
  for (LayerState& l : layers) {
    for (std::vector<float>* v : {&l.weight, &l.bias}) {
      std::copy_n(flat.begin() + static_cast<std::ptrdiff_t>(at), v->size(), v->begin());
      at += v->size();
    }
  }
  if (at != flat.size()) throw std::logic_error("the flat parameters do not match the layers");
}

void sgd_step(std::span<LayerState> layers, std::span<const float> flat_gradient, float rate,
              std::size_t first, std::size_t count) {
  std::size_t at = 0;
  for (LayerState& l : layers) {
    for (auto [values, gradients] :
         {std::pair{&l.weight, &l.weight_gradient}, std::pair{&l.bias, &l.bias_gradient}}) {
      for (std::size_t i = 0; i < values->size(); ++i, ++at) {
        if (at >= first && at < first + count) (*values)[i] -= rate * flat_gradient[at];
      }
      std::fill(gradients->begin(), gradients->end(), 0.0f);
    }
  }
  if (at != flat_gradient.size()) throw std::logic_error("the flat gradients do not match the layers");
}

std::vector<LayerState> train_one_rank(std::span<const std::int64_t> widths, std::int64_t global_batch,
                                       int iterations, float rate) {
  const int count = static_cast<int>(widths.size()) - 1;
  std::vector<LayerState> layers;
  for (int l = 0; l < count; ++l) layers.push_back(initial_layer(widths, l));
  const TensorSum none = [](std::span<float>) {};
  std::vector<Saved> saved(layers.size());
  for (int it = 0; it < iterations; ++it) {
    const std::int64_t first = it * global_batch;
    std::vector<float> x(size(global_batch * widths.front()));
    for (std::int64_t r = 0; r < global_batch; ++r)
      sample_input(first + r, std::span(x).subspan(size(r * widths.front()), size(widths.front())));
    for (std::size_t l = 0; l < layers.size(); ++l) x = forward(layers[l], x, global_batch, saved[l], none);
    std::vector<float> g = loss_gradient(layers.back().split, x, first, global_batch, global_batch);
    for (std::size_t l = layers.size(); l-- > 0;) {
      g = backward_input(layers[l], g, global_batch, saved[l], none);
      backward_weight(layers[l], global_batch, saved[l]);
    }
    const std::vector<float> gradients = flat_gradients(layers);
    sgd_step(layers, gradients, rate, 0, gradients.size());
  }
  return layers;
}

ParameterError parameter_error(const LayerState& mine, const LayerState& reference,
                               const LayerState& initial) {
  const LayerSplit& s = mine.split;
  ParameterError worst;
  auto compare = [&](const char* tensor, std::int64_t rows, std::int64_t columns, std::int64_t first_row,
                     std::int64_t first_column, const std::vector<float>& values,
                     const std::vector<float>& ref, const std::vector<float>& init,
                     std::int64_t ref_columns) {
    double change = 0;
    for (std::size_t i = 0; i < ref.size(); ++i)
      change = std::max(change, std::abs(double(ref[i]) - init[i]));
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < columns; ++c) {
        const double expected = ref[size((first_row + r) * ref_columns + first_column + c)];
        const double diff = std::abs(double(values[size(r * columns + c)]) - expected);
        const double relative = change > 0 ? diff / change : (diff > 0 ? 1.0 : 0.0);
        if (worst.where.empty() || relative > worst.relative) {
          worst.relative = relative;
          worst.where = fmt::format("layer {}'s {} [{}, {}] ({} against {})", s.layer, tensor, first_row + r,
                                    first_column + c, values[size(r * columns + c)], expected);
        }
      }
    }
  };
  compare("weight", s.out_local, s.in_local, s.first_out, s.first_in, mine.weight, reference.weight,
          initial.weight, s.in);
  compare("bias", 1, s.out_local, 0, s.first_out, mine.bias, reference.bias, initial.bias, s.out);
  return worst;
}

StageTrainer::StageTrainer(std::span<const std::int64_t> widths, std::span<const ChunkLayers> chunks,
                           int tp_degree, int tp_index, std::int64_t global_batch)
    : widths_(widths.begin(), widths.end()),
      chunks_(chunks.begin(), chunks.end()),
      global_batch_(global_batch),
      in_flight_(chunks.size()) {
  for (const ChunkLayers& c : chunks_) {
    std::vector<LayerState> layers;
    for (int l = c.first_layer; l < c.end_layer; ++l)
      layers.push_back(initial_layer(widths_, l, tp_degree, tp_index));
    layers_.push_back(std::move(layers));
  }
}

StageTrainer::InFlight& StageTrainer::in_flight(int chunk, int micro_batch) {
  auto& all = in_flight_[static_cast<std::size_t>(chunk)];
  if (all.size() <= static_cast<std::size_t>(micro_batch))
    all.resize(static_cast<std::size_t>(micro_batch) + 1);
  return all[static_cast<std::size_t>(micro_batch)];
}

std::vector<float> StageTrainer::forward(int chunk, int micro_batch, std::int64_t first_sample,
                                         std::int64_t rows, std::span<const float> input,
                                         const TensorSum& sum) {
  std::vector<LayerState>& layers = layers_[static_cast<std::size_t>(chunk)];
  InFlight& f = in_flight(chunk, micro_batch);
  f.first_sample = first_sample;
  f.rows = rows;
  f.saved.assign(layers.size(), {});
  std::vector<float> x(input.begin(), input.end());
  if (layers.front().split.layer == 0) {
    const std::int64_t width = widths_.front();
    x.assign(size(rows * width), 0.0f);
    for (std::int64_t r = 0; r < rows; ++r)
      sample_input(first_sample + r, std::span(x).subspan(size(r * width), size(width)));
  }
  for (std::size_t l = 0; l < layers.size(); ++l) x = numerics::forward(layers[l], x, rows, f.saved[l], sum);
  if (layers.back().split.last) f.output = x;
  return x;
}

std::vector<float> StageTrainer::backward(int chunk, int micro_batch, std::span<const float> output_gradient,
                                          const TensorSum& sum, bool weights) {
  std::vector<LayerState>& layers = layers_[static_cast<std::size_t>(chunk)];
  InFlight& f = in_flight(chunk, micro_batch);
  std::vector<float> g(output_gradient.begin(), output_gradient.end());
  if (layers.back().split.last)
    g = loss_gradient(layers.back().split, f.output, f.first_sample, f.rows, global_batch_);
  for (std::size_t l = layers.size(); l-- > 0;) {
    g = backward_input(layers[l], g, f.rows, f.saved[l], sum);
    if (weights) backward_weight(layers[l], f.rows, f.saved[l]);
  }
  if (weights) f = {};
  return g;
}

void StageTrainer::weight_gradient(int chunk, int micro_batch) {
  std::vector<LayerState>& layers = layers_[static_cast<std::size_t>(chunk)];
  InFlight& f = in_flight(chunk, micro_batch);
  for (std::size_t l = 0; l < layers.size(); ++l) backward_weight(layers[l], f.rows, f.saved[l]);
  f = {};
}

std::vector<float> StageTrainer::gradients(int chunk) const {
  return flat_gradients(layers_[static_cast<std::size_t>(chunk)]);
}

std::vector<float> StageTrainer::parameters(int chunk) const {
  return flat_parameters(layers_[static_cast<std::size_t>(chunk)]);
}

void StageTrainer::set_parameters(int chunk, std::span<const float> flat) {
  numerics::set_parameters(layers_[static_cast<std::size_t>(chunk)], flat);
}

void StageTrainer::step(int chunk, std::span<const float> flat_gradient, std::size_t first,
                        std::size_t count) {
  sgd_step(layers_[static_cast<std::size_t>(chunk)], flat_gradient, kLearningRate, first, count);
}

ParameterError StageTrainer::error_against(std::span<const LayerState> reference) const {
  ParameterError worst;
  for (std::size_t c = 0; c < layers_.size(); ++c) {
    for (std::size_t l = 0; l < layers_[c].size(); ++l) {
      const LayerState& mine = layers_[c][l];
      const auto layer = static_cast<std::size_t>(mine.split.layer);
      const LayerState whole_initial = initial_layer(widths_, mine.split.layer);
      const ParameterError e = parameter_error(mine, reference[layer], whole_initial);
      if (worst.where.empty() || e.relative > worst.relative) worst = e;
    }
  }
  return worst;
}

}  // namespace dmlsim::strategies::numerics
