#pragma once
// Helpers the model generators share (not part of the public model interface).
#include <cstdint>
#include <functional>
#include <string>

#include "core/model.hpp"

namespace dmlsim::core::model_building {

// The layer's backward kernels from its forward ones, last first: a GEMM's input gradient
// (dgrad) and weight gradient (wgrad), an elementwise kernel's gradient. Each keeps its forward
// kernel's split role.
void finish_backward(Layer& layer);

// Prepends to the layer's backward a copy ("<name>.recompute") of each forward kernel `redo`
// selects, in forward order: the recomputation that activation checkpointing costs.
void add_recompute(Layer& layer, const std::function<bool(const Kernel&)>& redo);

Kernel with_split(Kernel kernel, Split split);

// ⌈a / b⌉ for positive numbers.
constexpr std::int64_t divide_up(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// Throws ValueError unless `value` is a multiple of the tensor-parallel degree.
void require_divisible(std::int64_t value, std::int64_t degree, const std::string& what);

}  // namespace dmlsim::core::model_building
