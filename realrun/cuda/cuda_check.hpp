#pragma once
// CUDA, cuBLAS and NCCL calls go through these: an error code becomes a BackendError naming the
// call and the library's message, so codes never travel.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>

namespace dmlsim::real {

[[noreturn]] void throw_cuda_error(const char* library, int code, const char* message, const char* call,
                                   const char* file, int line);

}  // namespace dmlsim::real

#define DMLSIM_CHECK_CUDA(call)                                                                           \
  do {                                                                                                    \
    const cudaError_t dmlsim_rc = (call);                                                                 \
    if (dmlsim_rc != cudaSuccess)                                                                         \
      ::dmlsim::real::throw_cuda_error("CUDA", dmlsim_rc, cudaGetErrorString(dmlsim_rc), #call, __FILE__, \
                                       __LINE__);                                                         \
  } while (false)

#define DMLSIM_CHECK_CUBLAS(call)                                                                    \
  do {                                                                                               \
    const cublasStatus_t dmlsim_rc = (call);                                                         \
    if (dmlsim_rc != CUBLAS_STATUS_SUCCESS)                                                          \
      ::dmlsim::real::throw_cuda_error("cuBLAS", dmlsim_rc, cublasGetStatusString(dmlsim_rc), #call, \
                                       __FILE__, __LINE__);                                          \
  } while (false)

#define DMLSIM_CHECK_NCCL(call)                                                                           \
  do {                                                                                                    \
    const ncclResult_t dmlsim_rc = (call);                                                                \
    if (dmlsim_rc != ncclSuccess)                                                                         \
      ::dmlsim::real::throw_cuda_error("NCCL", dmlsim_rc, ncclGetErrorString(dmlsim_rc), #call, __FILE__, \
                                       __LINE__);                                                         \
  } while (false)
