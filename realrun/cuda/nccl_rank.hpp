#pragma once
// A rank on a GPU: compute runs the real kernel on the device (CudaKernels: cuBLAS, CUDA kernels),
// messages are ncclSend/ncclRecv — posted by isend/irecv, issued together in one NCCL group when
// they are waited for, which is exactly a schedule round — and collectives reduce on the device.
// Buffers with data must be device memory. Vendor all-reduce: ncclAllReduce.
// Each communicator (Rank::communicator) gets an NCCL communicator of its own, made by its members
// (ncclCommInitRank with a unique id broadcast over an MPI communicator of the group).
// Not yet: the communication stream (Rank::start runs collectives at once, without overlap) and
// wait_any (it waits for every pending request).
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tracing_rank.hpp"
#include "realrun/common_clock.hpp"
#include "realrun/cuda/cuda_kernels.hpp"

namespace dmlsim::real {

class NcclRank final : public core::TracingRank {
 public:
  // Collective over `comm`: picks this process's GPU and builds the NCCL communicator.
  NcclRank(MPI_Comm comm, const CommonClock& clock, core::Trace& trace, core::TraceDetail detail);
  ~NcclRank() override;

  double now() const override { return clock_.now(); }
  void compute(const core::Kernel& kernel) override;
  core::Request isend(int peer, core::Buffer buffer, core::Tag tag) override;
  core::Request irecv(int peer, core::Buffer buffer, core::Tag tag) override;
  void wait(core::Request& request) override;
  void wait_all(std::span<core::Request> requests) override;
  std::size_t wait_any(std::span<core::Request> requests) override;
  void sleep(double seconds) override;
  using core::Rank::compute;
  using core::Rank::wait;
  using core::Rank::wait_all;

  // ncclAllReduce (sum of floats) of `count` floats in device memory, as a reference.
  void vendor_all_reduce(float* device_data, std::uint64_t count);
  int device() const { return device_; }

 protected:
  std::uint32_t open_context(const core::Group& group, std::string_view name) override;
  // Rounds as NCCL groups; received chunks are reduced on the device.
  void execute(const core::Schedule& schedule, const core::Group& group, core::ElementBuffer buffer,
               core::Tag tag, core::RoundSpan rounds) override;

 private:
  struct Pending;
  struct Communicator {
    std::string name;
    core::Group group;
    MPI_Comm mpi = MPI_COMM_NULL;
    ncclComm_t nccl = nullptr;
  };
  void flush(std::vector<Pending*>& ops);
  void* scratch(std::size_t slot, std::uint64_t bytes);

  MPI_Comm world_;
  const CommonClock& clock_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;                // context 0
  std::vector<Communicator> communicators_;  // context c is communicators_[c - 1]
  std::unique_ptr<CudaKernels> kernels_;
  std::vector<void*> scratch_;
  std::vector<std::uint64_t> scratch_bytes_;
};

// How many CUDA devices this process sees; `why` says what went wrong when there are none
// (no driver, "driver version is insufficient", ...).
int cuda_device_count(std::string* why);

}  // namespace dmlsim::real
