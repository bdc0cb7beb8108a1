#include "realrun/cpu_kernels.hpp"

#include <cblas.h>

#include <cmath>
#include <variant>

namespace dmlsim::real {

extern "C" void openblas_set_num_threads(int);

CpuKernels::CpuKernels() {
  openblas_set_num_threads(1);
}

float* CpuKernels::buffer(std::vector<float>& b, std::uint64_t elements) {
  // Grown once, filled with ordinary values (no denormals, which would slow every loop down).
  if (b.size() < elements) b.assign(elements, 0.001f);
  return b.data();
}

void CpuKernels::run(const core::Kernel& kernel) {
  if (const auto* g = std::get_if<core::Gemm>(&kernel.shape)) {
    const auto m = static_cast<std::uint64_t>(g->m), n = static_cast<std::uint64_t>(g->n),
               k = static_cast<std::uint64_t>(g->k);
    float* a = buffer(a_, m * k);
    float* b = buffer(b_, k * n);
    float* c = buffer(c_, m * n);
    for (std::int64_t i = 0; i < g->batch; ++i) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g->m), static_cast<int>(g->n),
                  static_cast<int>(g->k), 1.0f, a, static_cast<int>(g->k), b, static_cast<int>(g->n), 0.0f, c,
                  static_cast<int>(g->n));
    }
    sink_ += c[0];
  } else if (const auto* e = std::get_if<core::Elementwise>(&kernel.shape)) {
    // One read-modify-write pass (2 accesses, 2 flops per element) per 2 accesses asked for.
    const auto n = static_cast<std::uint64_t>(e->elements);
    float* x = buffer(a_, n);
    float* y = buffer(c_, n);
    const int passes = std::max(1, static_cast<int>(std::lround(e->accesses_per_element / 2)));
    for (int p = 0; p < passes; ++p) {
      for (std::uint64_t i = 0; i < n; ++i) y[i] = x[i] * 0.999f + 0.001f;
    }
    sink_ += y[n / 2];
  } else if (const auto* o = std::get_if<core::OptimizerStep>(&kernel.shape)) {
    const auto n = static_cast<std::uint64_t>(o->parameters);
    float* w = buffer(a_, n);
    float* grad = buffer(b_, n);
    if (o->kind == core::OptimizerStep::Kind::sgd) {
      for (std::uint64_t i = 0; i < n; ++i) w[i] -= 1e-3f * grad[i];
    } else {
      // Adam (Kingma & Ba 2015) with fixed bias corrections.
      float* m = buffer(c_, n);
      float* v = buffer(d_, n);
      for (std::uint64_t i = 0; i < n; ++i) {
        m[i] = 0.9f * m[i] + 0.1f * grad[i];
        v[i] = 0.999f * v[i] + 0.001f * grad[i] * grad[i];
        w[i] -= 1e-3f * m[i] / (std::sqrt(v[i]) + 1e-8f);
      }
    }
    sink_ += w[0];
  }
}

}  // namespace dmlsim::real
