#include "core/model_building.hpp"

#include <fmt/format.h>

#include <utility>

#include "core/errors.hpp"

namespace dmlsim::core::model_building {
namespace {

Kernel backward_of(const Kernel& forward, Kernel kernel, Pass pass) {
  kernel.split = forward.split;
  kernel.pass = pass;
  return kernel;
}

// Backward of C[m×n] = A[m×k]·B[k×n]: dA = dC·Bᵀ (m×k from n) and dB = Aᵀ·dC (k×n from m).
void add_gemm_backward(std::vector<Kernel>& out, const Kernel& forward) {
  const auto& g = std::get<Gemm>(forward.shape);
  out.push_back(backward_of(forward, gemm(forward.name + ".dgrad", g.m, g.k, g.n, forward.dtype, g.batch),
                            Pass::input_gradient));
  out.push_back(backward_of(forward, gemm(forward.name + ".wgrad", g.k, g.n, g.m, forward.dtype, g.batch),
                            Pass::weight_gradient));
}

// Elementwise backward reads the saved input and the incoming gradient, writes one gradient.
Kernel elementwise_backward(const Kernel& forward) {
  const auto& e = std::get<Elementwise>(forward.shape);
  return backward_of(forward,
                     elementwise(forward.name + ".grad", e.elements, forward.dtype, e.flops_per_element, 3),
                     Pass::input_gradient);
}

}  // namespace

Kernel with_split(Kernel kernel, Split split) {
  kernel.split = split;
  return kernel;
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

void add_recompute(Layer& layer, const std::function<bool(const Kernel&)>& redo) {
  std::vector<Kernel> again;
  for (const Kernel& k : layer.forward) {
    if (!redo(k)) continue;
    Kernel copy = k;
    copy.name += ".recompute";
    copy.pass = Pass::recompute;
    again.push_back(std::move(copy));
  }
  layer.backward.insert(layer.backward.begin(), again.begin(), again.end());
}

void require_divisible(std::int64_t value, std::int64_t degree, const std::string& what) {
  if (value % degree != 0) {
    throw ValueError(
        fmt::format("{} ({}) must be a multiple of the tensor-parallel degree {}", what, value, degree));
  }
}

}  // namespace dmlsim::core::model_building
