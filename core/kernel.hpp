#pragma once
// A unit of compute described by its shape, so that a device model can cost it (roofline) and a
// real backend can execute it (sgemm, an elementwise loop, an optimizer update).
#include <cstdint>
#include <string>
#include <variant>

#include "core/dtype.hpp"

namespace dmlsim::core {

// C[m×n] = A[m×k] · B[k×n], `batch` independent times (attention heads). 2·m·n·k flops each.
struct Gemm {
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t batch = 1;
};

// A pass over `elements` values: layer norm, softmax, GeLU, a residual add, a reduction.
struct Elementwise {
  std::int64_t elements = 0;
  double flops_per_element = 1;
  double accesses_per_element = 2;  // elements read + written, in units of the dtype size
};

// One optimizer update over `parameters` values.
struct OptimizerStep {
  enum class Kind : std::uint8_t { sgd, adam };
  std::int64_t parameters = 0;
  Kind kind = Kind::adam;
};

// How tensor parallelism (Megatron-LM, Shoeybi et al. 2019) divides a kernel among the ranks of a
// tensor-parallel group. A kernel's shape is already one rank's share; the role says how it was
// cut and so what communication it implies (core::tensor_parallel_collectives).
enum class Split : std::uint8_t {
  replicated,  // every rank does all of it
  column,      // output features divided; the input's gradient is a partial sum
  row,         // input (reduction) features divided; the output is a partial sum
  head,        // attention heads divided
  sequence,    // per token: whole, or divided along the sequence under sequence parallelism
  vocabulary,  // the LM head's softmax and cross entropy over this rank's share of the vocabulary
};

// Which pass a kernel belongs to. Backward is split in two so that schedules such as zero-bubble
// pipelines (Qi et al. 2024) can run the weight gradients apart from the input gradients.
enum class Pass : std::uint8_t { forward, recompute, input_gradient, weight_gradient };

struct Kernel {
  std::string name;
  std::variant<Gemm, Elementwise, OptimizerStep> shape;
  DType dtype = DType::fp32;
  Split split = Split::replicated;
  Pass pass = Pass::forward;

  double flops() const;
  double memory_bytes() const;  // bytes moved to and from device memory (the roofline's other axis)
};

Kernel gemm(std::string name, std::int64_t m, std::int64_t n, std::int64_t k, DType dtype,
            std::int64_t batch = 1);
Kernel elementwise(std::string name, std::int64_t elements, DType dtype, double flops_per_element = 1,
                   double accesses_per_element = 2);
Kernel optimizer_step(std::string name, std::int64_t parameters, DType dtype,
                      OptimizerStep::Kind kind = OptimizerStep::Kind::adam);

}  // namespace dmlsim::core
