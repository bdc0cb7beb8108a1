#include "core/kernel.hpp"

#include <utility>

#include "core/overloaded.hpp"

namespace dmlsim::core {
namespace {

// Mixed-precision Adam per parameter: read fp32 master weight, m, v and the gradient; write the
// master weight, m, v and the model-dtype copy of the weight. About 12 flops (two moment updates,
// bias corrections, sqrt, divide, weight update). SGD reads weight and gradient, writes weight.
constexpr double kAdamFlopsPerParam = 12;
constexpr double kSgdFlopsPerParam = 2;

}  // namespace

double Kernel::flops() const {
  return std::visit(
      Overloaded{
          [](const Gemm& g) {
            return 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k) *
                   static_cast<double>(g.batch);
          },
          [](const Elementwise& e) { return e.flops_per_element * static_cast<double>(e.elements); },
          [](const OptimizerStep& o) {
            return (o.kind == OptimizerStep::Kind::adam ? kAdamFlopsPerParam : kSgdFlopsPerParam) *
                   static_cast<double>(o.parameters);
          },
      },
      shape);
}

double Kernel::memory_bytes() const {
  const double size = dtype_bytes(dtype);
  return std::visit(Overloaded{
                        [&](const Gemm& g) {
                          const double m = static_cast<double>(g.m), n = static_cast<double>(g.n),
                                       k = static_cast<double>(g.k);
                          return (m * k + k * n + m * n) * size * static_cast<double>(g.batch);
                        },
                        [&](const Elementwise& e) {
                          return e.accesses_per_element * static_cast<double>(e.elements) * size;
                        },
                        [&](const OptimizerStep& o) {
                          const double p = static_cast<double>(o.parameters);
                          if (o.kind == OptimizerStep::Kind::sgd) return p * 3 * size;
                          // fp32 master, m, v read and written (24 B), gradient read and weight copy written.
                          return p * (24 + 2 * size);
                        },
                    },
                    shape);
}

Kernel gemm(std::string name, std::int64_t m, std::int64_t n, std::int64_t k, DType dtype,
            std::int64_t batch) {
  return Kernel{std::move(name), Gemm{m, n, k, batch}, dtype, Split::replicated, Pass::forward};
}

Kernel elementwise(std::string name, std::int64_t elements, DType dtype, double flops_per_element,
                   double accesses_per_element) {
  return Kernel{std::move(name), Elementwise{elements, flops_per_element, accesses_per_element}, dtype,
                Split::replicated, Pass::forward};
}

Kernel optimizer_step(std::string name, std::int64_t parameters, DType dtype, OptimizerStep::Kind kind) {
  return Kernel{std::move(name), OptimizerStep{parameters, kind}, dtype, Split::replicated, Pass::forward};
}

}  // namespace dmlsim::core
