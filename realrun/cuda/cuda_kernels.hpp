#pragma once
// Executes a core::Kernel on the GPU: GEMMs with cuBLAS in the kernel's dtype (tensor cores for
// bf16/fp16/tf32), elementwise passes and Adam/SGD updates as CUDA kernels over device buffers.
// Each call returns the kernel's time measured with CUDA events on the stream.
#include <cuda_runtime.h>

#include <cstdint>

#include "core/kernel.hpp"

namespace dmlsim::real {

class CudaKernels {
 public:
  explicit CudaKernels(cudaStream_t stream);
  ~CudaKernels();
  CudaKernels(const CudaKernels&) = delete;
  CudaKernels& operator=(const CudaKernels&) = delete;

  // Runs `kernel` and waits for it; returns its GPU time in seconds.
  double run(const core::Kernel& kernel);

 private:
  void* buffer(int slot, std::uint64_t bytes);
  cudaStream_t stream_;
  void* blas_ = nullptr;  // cublasHandle_t
  void* buffers_[4] = {};
  std::uint64_t sizes_[4] = {};
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Adds `n` floats of `src` into `dst` on `stream` (a recv-reduce step of a collective).
void device_add(float* dst, const float* src, std::uint64_t n, cudaStream_t stream);

}  // namespace dmlsim::real
