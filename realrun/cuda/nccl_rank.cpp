#include "realrun/cuda/nccl_rank.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "realrun/cuda/cuda_check.hpp"
#include "realrun/mpi_check.hpp"
#include "realrun/mpi_rank.hpp"

namespace dmlsim::real {

struct NcclRank::Pending final : core::Request::State {
  bool send = true;
  int peer = 0;
  core::Tag tag;
  void* data = nullptr;
  std::uint64_t bytes = 0;
  double posted = 0;
  bool done = false;
};

int cuda_device_count(std::string* why) {
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess) {
    if (why) *why = fmt::format("cudaGetDeviceCount → {} ({})", static_cast<int>(rc), cudaGetErrorString(rc));
    return 0;
  }
  if (count == 0 && why) *why = "no CUDA device";
  return count;
}

namespace {
int comm_rank(MPI_Comm comm) {
  int rank = 0;
  DMLSIM_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  return rank;
}
int comm_size(MPI_Comm comm) {
  int size = 1;
  DMLSIM_CHECK_MPI(MPI_Comm_size(comm, &size));
  return size;
}
}  // namespace

NcclRank::NcclRank(MPI_Comm comm, const CommonClock& clock, core::Trace& trace, core::TraceDetail detail)
    : TracingRank(comm_rank(comm), comm_size(comm), trace, detail), world_(comm), clock_(clock) {
  const int rank = this->rank(), size = this->size();
  std::string why;
  const int devices = cuda_device_count(&why);
  if (devices == 0) throw core::BackendError("GPU backend: " + why);
  // One GPU per process: the local rank picks it (Open MPI sets OMPI_COMM_WORLD_LOCAL_RANK).
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  device_ = (local ? std::atoi(local) : rank) % devices;
  DMLSIM_CHECK_CUDA(cudaSetDevice(device_));
  DMLSIM_CHECK_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  ncclUniqueId id;
  if (rank == 0) DMLSIM_CHECK_NCCL(ncclGetUniqueId(&id));
  DMLSIM_CHECK_MPI(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm));
  DMLSIM_CHECK_NCCL(ncclCommInitRank(&comm_, size, id, rank));
  kernels_ = std::make_unique<CudaKernels>(stream_);
}

NcclRank::~NcclRank() {
  kernels_.reset();
  for (void* s : scratch_) cudaFree(s);
  for (Communicator& c : communicators_) {
    if (c.nccl != nullptr) ncclCommDestroy(c.nccl);
    if (c.mpi != MPI_COMM_NULL) MPI_Comm_free(&c.mpi);
  }
  if (comm_ != nullptr) ncclCommDestroy(comm_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void NcclRank::compute(const core::Kernel& kernel) {
  const double start = now();
  kernels_->run(kernel);
  record_compute(kernel, start, now());
}

void NcclRank::sleep(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

void* NcclRank::scratch(std::size_t slot, std::uint64_t bytes) {
  if (scratch_.size() <= slot) {
    scratch_.resize(slot + 1, nullptr);
    scratch_bytes_.resize(slot + 1, 0);
  }
  if (scratch_bytes_[slot] < bytes) {
    cudaFree(scratch_[slot]);
    DMLSIM_CHECK_CUDA(cudaMalloc(&scratch_[slot], bytes));
    scratch_bytes_[slot] = bytes;
  }
  return scratch_[slot];
}

std::uint32_t NcclRank::open_context(const core::Group& group, std::string_view name) {
  for (std::size_t i = 0; i < communicators_.size(); ++i) {
    if (communicators_[i].name != name) continue;
    if (!(communicators_[i].group == group)) throw core::name_taken_error(rank(), name);
    return static_cast<std::uint32_t>(i + 1);
  }
  Communicator c{std::string(name), group, create_group_comm(world_, group), nullptr};
  const int index = group.index_of(rank());
  ncclUniqueId id;
  if (index == 0) DMLSIM_CHECK_NCCL(ncclGetUniqueId(&id));
  DMLSIM_CHECK_MPI(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, c.mpi));
  DMLSIM_CHECK_NCCL(ncclCommInitRank(&c.nccl, group.size(), id, index));
  communicators_.push_back(std::move(c));
  return static_cast<std::uint32_t>(communicators_.size());
}

core::Request NcclRank::isend(int peer, core::Buffer buffer, core::Tag tag) {
  auto p = std::make_unique<Pending>();
  p->send = true;
  p->peer = peer;
  p->tag = tag;
  p->bytes = buffer.bytes;
  p->data = buffer.data != nullptr ? static_cast<void*>(buffer.data) : scratch(0, buffer.bytes);
  p->posted = now();
  return core::Request(std::move(p));
}

core::Request NcclRank::irecv(int peer, core::Buffer buffer, core::Tag tag) {
  auto p = std::make_unique<Pending>();
  p->send = false;
  p->peer = peer;
  p->tag = tag;
  p->bytes = buffer.bytes;
  p->data = buffer.data != nullptr ? static_cast<void*>(buffer.data) : scratch(1, buffer.bytes);
  p->posted = now();
  return core::Request(std::move(p));
}

// Issues every pending operation as one NCCL group and waits for the stream: the group is what
// lets a round's sends and receives proceed together without deadlock.
void NcclRank::flush(std::vector<Pending*>& ops) {
  DMLSIM_CHECK_NCCL(ncclGroupStart());
  for (Pending* p : ops) {
    // NCCL matches by order within a communicator: a communicator's context is its own ncclComm.
    ncclComm_t comm = comm_;
    int peer = p->peer;
    if (p->tag.context != 0) {
      const Communicator& c = communicators_.at(p->tag.context - 1);
      comm = c.nccl;
      peer = c.group.index_of(p->peer);
    }
    if (p->send) {
      DMLSIM_CHECK_NCCL(ncclSend(p->data, p->bytes, ncclUint8, peer, comm, stream_));
    } else {
      DMLSIM_CHECK_NCCL(ncclRecv(p->data, p->bytes, ncclUint8, peer, comm, stream_));
    }
  }
  DMLSIM_CHECK_NCCL(ncclGroupEnd());
  DMLSIM_CHECK_CUDA(cudaStreamSynchronize(stream_));
  const double end = now();
  for (Pending* p : ops) {
    p->done = true;
    const std::string_view comm = p->tag.context == 0 ? "" : communicators_[p->tag.context - 1].name;
    record_message(p->send ? core::Lane::send : core::Lane::recv, p->peer, p->bytes, p->tag, comm, 0,
                   p->posted, end);
  }
}

void NcclRank::wait(core::Request& request) {
  auto state = request.release();
  if (!state) return;
  std::vector<Pending*> ops{static_cast<Pending*>(state.get())};
  flush(ops);
}

void NcclRank::wait_all(std::span<core::Request> requests) {
  std::vector<std::unique_ptr<core::Request::State>> states;
  std::vector<Pending*> ops;
  for (core::Request& r : requests) {
    if (auto s = r.release()) {
      ops.push_back(static_cast<Pending*>(s.get()));
      states.push_back(std::move(s));
    }
  }
  if (!ops.empty()) flush(ops);
}

std::size_t NcclRank::wait_any(std::span<core::Request> requests) {
  // NCCL has no "whichever first": complete them all, report the first.
  std::size_t first = requests.size();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].pending() && first == requests.size()) first = i;
  }
  if (first == requests.size()) throw core::BackendError("wait_any: no pending request");
  core::Request chosen = std::move(requests[first]);
  wait_all(std::span<core::Request>(&chosen, 1));
  return first;
}

void NcclRank::execute(const core::Schedule& schedule, const core::Group& group, core::ElementBuffer buffer,
                       core::Tag tag, core::RoundSpan rounds) {
  std::vector<core::Op> ops;
  std::vector<core::Request> requests;
  auto* data = buffer.data;
  for (std::size_t t = rounds.begin; t < rounds.end; ++t) {
    ops.clear();
    schedule.round(t, ops);
    requests.clear();
    std::vector<std::pair<const core::Op*, float*>> reductions;
    std::size_t slot = 2;
    for (const core::Op& op : ops) {
      if (op.range.count == 0) continue;
      const std::uint64_t bytes = op.range.count * buffer.element_bytes;
      auto* at = data != nullptr ? reinterpret_cast<std::byte*>(data + op.range.offset) : nullptr;
      if (op.kind == core::OpKind::send) {
        requests.push_back(isend(group.at(op.peer), {bytes, at}, tag));
      } else if (op.kind == core::OpKind::recv_copy) {
        requests.push_back(irecv(group.at(op.peer), {bytes, at}, tag));
      } else {
        auto* landing = static_cast<float*>(scratch(slot++, bytes));
        requests.push_back(irecv(group.at(op.peer), {bytes, reinterpret_cast<std::byte*>(landing)}, tag));
        reductions.emplace_back(&op, landing);
      }
    }
    wait_all(requests);
    if (data == nullptr) continue;
    for (const auto& [op, landing] : reductions)
      device_add(data + op->range.offset, landing, op->range.count, stream_);
    DMLSIM_CHECK_CUDA(cudaStreamSynchronize(stream_));
  }
}

void NcclRank::vendor_all_reduce(float* device_data, std::uint64_t count) {
  DMLSIM_CHECK_NCCL(ncclAllReduce(device_data, device_data, count, ncclFloat, ncclSum, comm_, stream_));
  DMLSIM_CHECK_CUDA(cudaStreamSynchronize(stream_));
}

}  // namespace dmlsim::real
