#pragma once
// Executes a core::Kernel for real on the CPU: GEMMs with OpenBLAS (single-threaded: ranks share
// the cores), elementwise passes and optimizer updates as plain loops over real buffers. The CPU
// computes in fp32 whatever the kernel's dtype (it has no bf16 units to speak of); calibration
// measures exactly these loops.
#include <cstdint>
#include <vector>

#include "core/kernel.hpp"

namespace dmlsim::real {

class CpuKernels {
 public:
  CpuKernels();
  void run(const core::Kernel& kernel);

 private:
  float* buffer(std::vector<float>& b, std::uint64_t elements);
  std::vector<float> a_, b_, c_, d_;
  float sink_ = 0;  // keeps results observable so loops are not optimized away
};

}  // namespace dmlsim::real
