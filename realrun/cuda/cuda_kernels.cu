#include "realrun/cuda/cuda_kernels.hpp"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>
#include <variant>

#include "core/errors.hpp"
#include "realrun/cuda/cuda_check.hpp"

namespace dmlsim::real {

void throw_cuda_error(const char* library, int code, const char* message, const char* call, const char* file,
                      int line) {
  throw core::BackendError(std::string(library) + " error " + std::to_string(code) + " (" + message +
                           ") in " + call + " at " + file + ":" + std::to_string(line));
}

namespace {

// One pass that reads and writes every element (2 accesses, 2 flops), as the CPU backend does.
__global__ void scale_shift(float* y, const float* x, std::uint64_t n) {
  const std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = x[i] * 0.999f + 0.001f;
}

__global__ void adam(float* w, const float* g, float* m, float* v, std::uint64_t n) {
  const std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (i < n) {
    m[i] = 0.9f * m[i] + 0.1f * g[i];
    v[i] = 0.999f * v[i] + 0.001f * g[i] * g[i];
    w[i] -= 1e-3f * m[i] / (sqrtf(v[i]) + 1e-8f);
  }
}

__global__ void sgd(float* w, const float* g, std::uint64_t n) {
  const std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (i < n) w[i] -= 1e-3f * g[i];
}

__global__ void add(float* dst, const float* src, std::uint64_t n) {
  const std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] += src[i];
}

constexpr unsigned kThreads = 256;
unsigned blocks_for(std::uint64_t n) {
  return static_cast<unsigned>((n + kThreads - 1) / kThreads);
}

cudaDataType_t data_type(core::DType d) {
  switch (d) {
    case core::DType::fp16:
      return CUDA_R_16F;
    case core::DType::bf16:
      return CUDA_R_16BF;
    case core::DType::fp64:
      return CUDA_R_64F;
    case core::DType::fp8:
      return CUDA_R_16BF;  // fp8 GEMMs need cublasLt; timed as bf16 (noted by gpu-check)
    default:
      return CUDA_R_32F;
  }
}

cublasComputeType_t compute_type(core::DType d) {
  switch (d) {
    case core::DType::fp64:
      return CUBLAS_COMPUTE_64F;
    case core::DType::tf32:
      return CUBLAS_COMPUTE_32F_FAST_TF32;
    case core::DType::fp32:
      return CUBLAS_COMPUTE_32F;
    default:
      return CUBLAS_COMPUTE_32F;  // fp16/bf16 inputs, fp32 accumulation on tensor cores
  }
}

}  // namespace

void device_add(float* dst, const float* src, std::uint64_t n, cudaStream_t stream) {
  if (n == 0) return;
  add<<<blocks_for(n), kThreads, 0, stream>>>(dst, src, n);
  DMLSIM_CHECK_CUDA(cudaGetLastError());
}

CudaKernels::CudaKernels(cudaStream_t stream) : stream_(stream) {
  cublasHandle_t handle = nullptr;
  DMLSIM_CHECK_CUBLAS(cublasCreate(&handle));
  DMLSIM_CHECK_CUBLAS(cublasSetStream(handle, stream_));
  blas_ = handle;
  DMLSIM_CHECK_CUDA(cudaEventCreate(&start_));
  DMLSIM_CHECK_CUDA(cudaEventCreate(&stop_));
}

CudaKernels::~CudaKernels() {
  for (void* b : buffers_) cudaFree(b);
  if (blas_ != nullptr) cublasDestroy(static_cast<cublasHandle_t>(blas_));
  if (start_ != nullptr) cudaEventDestroy(start_);
  if (stop_ != nullptr) cudaEventDestroy(stop_);
}

void* CudaKernels::buffer(int slot, std::uint64_t bytes) {
  if (sizes_[slot] < bytes) {
    cudaFree(buffers_[slot]);
    DMLSIM_CHECK_CUDA(cudaMalloc(&buffers_[slot], bytes));
    DMLSIM_CHECK_CUDA(cudaMemsetAsync(buffers_[slot], 0, bytes, stream_));  // zeros: no NaNs, no denormals
    sizes_[slot] = bytes;
  }
  return buffers_[slot];
}

double CudaKernels::run(const core::Kernel& kernel) {
  const auto blas = static_cast<cublasHandle_t>(blas_);
  // Allocate first, so that allocation is not timed.
  if (const auto* g = std::get_if<core::Gemm>(&kernel.shape)) {
    const std::uint64_t e = core::dtype_bytes(kernel.dtype);
    const auto m = static_cast<std::uint64_t>(g->m), n = static_cast<std::uint64_t>(g->n),
               k = static_cast<std::uint64_t>(g->k), batch = static_cast<std::uint64_t>(g->batch);
    void* a = buffer(0, m * k * e * batch);
    void* b = buffer(1, k * n * e * batch);
    void* c = buffer(2, m * n * e * batch);
    const float alpha = 1, beta = 0;
    const double alpha64 = 1, beta64 = 0;
    const bool fp64 = kernel.dtype == core::DType::fp64;
    const cudaDataType_t t = data_type(kernel.dtype);
    DMLSIM_CHECK_CUDA(cudaEventRecord(start_, stream_));
    // Row-major C[m×n] = A[m×k]·B[k×n] is column-major Cᵀ = Bᵀ·Aᵀ.
    DMLSIM_CHECK_CUBLAS(cublasGemmStridedBatchedEx(
        blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k),
        fp64 ? static_cast<const void*>(&alpha64) : &alpha, b, t, static_cast<int>(n),
        static_cast<long long>(k * n), a, t, static_cast<int>(k), static_cast<long long>(m * k),
        fp64 ? static_cast<const void*>(&beta64) : &beta, c, t, static_cast<int>(n),
        static_cast<long long>(m * n), static_cast<int>(batch), compute_type(kernel.dtype),
        CUBLAS_GEMM_DEFAULT));
  } else if (const auto* el = std::get_if<core::Elementwise>(&kernel.shape)) {
    const auto n = static_cast<std::uint64_t>(el->elements);
    auto* x = static_cast<float*>(buffer(0, n * sizeof(float)));
    auto* y = static_cast<float*>(buffer(2, n * sizeof(float)));
    DMLSIM_CHECK_CUDA(cudaEventRecord(start_, stream_));
    const int passes = el->accesses_per_element > 2.5 ? 2 : 1;
    for (int p = 0; p < passes; ++p) scale_shift<<<blocks_for(n), kThreads, 0, stream_>>>(y, x, n);
  } else {
    const auto& o = std::get<core::OptimizerStep>(kernel.shape);
    const auto n = static_cast<std::uint64_t>(o.parameters);
    auto* w = static_cast<float*>(buffer(0, n * sizeof(float)));
    auto* g = static_cast<float*>(buffer(1, n * sizeof(float)));
    DMLSIM_CHECK_CUDA(cudaEventRecord(start_, stream_));
    if (o.kind == core::OptimizerStep::Kind::adam) {
      auto* m = static_cast<float*>(buffer(2, n * sizeof(float)));
      auto* v = static_cast<float*>(buffer(3, n * sizeof(float)));
      adam<<<blocks_for(n), kThreads, 0, stream_>>>(w, g, m, v, n);
    } else {
      sgd<<<blocks_for(n), kThreads, 0, stream_>>>(w, g, n);
    }
  }
  DMLSIM_CHECK_CUDA(cudaGetLastError());
  DMLSIM_CHECK_CUDA(cudaEventRecord(stop_, stream_));
  DMLSIM_CHECK_CUDA(cudaEventSynchronize(stop_));
  float ms = 0;
  DMLSIM_CHECK_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
  return ms * 1e-3;
}

}  // namespace dmlsim::real
