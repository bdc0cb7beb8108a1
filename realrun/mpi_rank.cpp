#include "realrun/mpi_rank.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "core/errors.hpp"
#include "realrun/mpi_check.hpp"

namespace dmlsim::real {

void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw core::BackendError(
      fmt::format("{} failed at {}:{}: {}", call, file, line, std::string(text, length)));
}

struct MpiRequest final : core::Request::State {
  MPI_Request request = MPI_REQUEST_NULL;
  core::Lane lane = core::Lane::send;
  int peer = 0;
  int tag = 0;
  std::uint64_t bytes = 0;
  std::uint32_t seq = 0;
  double posted = 0;
  int scratch_slot = -1;
};

namespace {

struct StreamHandle final : core::CollectiveHandle::State {
  std::uint64_t sequence = 0;
};

// Waiting without burning a core: ranks outnumber cores on the testbed (8 ranks, 2 cores), and a
// rank spinning in MPI_Wait takes the core from the rank that has work, which then looks slow —
// the "4 ms scheduler tick" of notes/testbed.md. Poll with MPI_Testall (which also drives Open
// MPI's progress), spinning briefly, then sleeping 20 → 200 µs between polls; socket buffers hold
// far more than 200 µs of a 2 Gbit/s link, so transfers do not stall meanwhile.
template <typename Test>
void poll_until_done(Test test) {
  constexpr int kSpins = 50;
  constexpr auto kFirstSleep = std::chrono::microseconds(20);
  constexpr auto kLongestSleep = std::chrono::microseconds(200);
  auto sleep = kFirstSleep;
  for (int i = 0;; ++i) {
    if (test()) return;
    if (i < kSpins) continue;
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, kLongestSleep);
  }
}

int message_count(std::uint64_t bytes) {
  if (bytes > static_cast<std::uint64_t>(INT_MAX)) {
    throw core::BackendError(fmt::format("a message of {} bytes exceeds MPI's int count", bytes));
  }
  return static_cast<int>(bytes);
}

}  // namespace

// Memory for messages whose buffer carries no data: every byte still crosses the network. Sends
// share one read-only area; each pending receive gets its own slot, reused once it completes.
struct MpiRank::Scratch {
  // The send area only grows, into a new allocation: earlier sends may still be reading an older
  // one, so those stay until the rank ends (sizes at least double: under 4x the largest in all).
  std::vector<std::vector<std::byte>> send_areas;
  std::vector<std::vector<std::byte>> slots;
  std::vector<bool> busy;

  std::byte* for_send(std::uint64_t bytes) {
    if (send_areas.empty() || send_areas.back().size() < bytes) {
      const std::uint64_t grown = send_areas.empty() ? 0 : 2 * send_areas.back().size();
      send_areas.emplace_back(std::max(bytes, grown));
    }
    return send_areas.back().data();
  }
  int acquire(std::uint64_t bytes) {
    std::size_t i = 0;
    while (i < busy.size() && busy[i]) ++i;
    if (i == busy.size()) {
      slots.emplace_back();
      busy.push_back(false);
    }
    if (slots[i].size() < bytes) slots[i].resize(bytes);
    busy[i] = true;
    return static_cast<int>(i);
  }
  void release(int slot) {
    if (slot >= 0) busy[static_cast<std::size_t>(slot)] = false;
  }
};

// The communication stream: a thread with its own view of the rank (and its own trace) that runs
// queued collectives in order.
struct MpiRank::Stream {
  struct Job {
    core::SchedulePtr schedule;
    core::Group group;
    core::ElementBuffer buffer;
    int tag = 0;
    int iteration = -1;
  };
  core::Trace trace;
  std::unique_ptr<MpiRank> view;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Job> queue;
  std::uint64_t started = 0, completed = 0;
  bool stopping = false;
  std::exception_ptr error;
  std::thread thread;

  void loop() {
    for (;;) {
      std::optional<Job> job;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        job.emplace(std::move(queue.front()));
        queue.pop_front();
      }
      try {
        view->set_default_iteration(job->iteration);
        view->run(*job->schedule, job->group, job->buffer, job->tag);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex);
        ++completed;
      }
      changed.notify_all();
    }
  }
};

InjectedFault InjectedFault::from_environment() {
  InjectedFault f;
  const char* text = std::getenv("DMLSIM_FAULT");
  if (text == nullptr || *text == 0) return f;
  std::string spec(text);
  std::size_t pos = 0;
  while (pos < spec.size()) {
    const std::size_t comma = spec.find(',', pos);
    const std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const std::size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "rank") f.rank = std::stoi(value);
    if (key == "iteration") f.iteration = std::stoi(value);
    if (key == "kind") f.kind = value == "hang" ? Kind::hang : value == "error" ? Kind::error : Kind::crash;
    pos = comma == std::string::npos ? spec.size() : comma + 1;
  }
  if (f.kind == Kind::none) f.kind = Kind::crash;
  return f;
}

MpiRank::MpiRank(MpiContext& context, core::Trace& trace)
    : TracingRank(context.rank, context.size, trace, context.detail),
      context_(context),
      scratch_(std::make_unique<Scratch>()) {}

MpiRank::~MpiRank() {
  if (stream_ && stream_->thread.joinable()) {
    {
      std::lock_guard lock(stream_->mutex);
      stream_->stopping = true;
    }
    stream_->changed.notify_all();
    stream_->thread.join();
  }
}

void MpiRank::compute(const core::Kernel& kernel) {
  const double start = now();
  kernels_.run(kernel);
  // A straggler: stretch the real kernel by its slowdown factor.
  if (context_.slowdown > 1) sleep((now() - start) * (context_.slowdown - 1));
  record_compute(kernel, start, now());
}

void MpiRank::begin_phase(std::string_view name, int iteration) {
  const InjectedFault& f = context_.fault;
  if (f.kind != InjectedFault::Kind::none && f.rank == rank() &&
      (iteration >= 0 ? iteration : current_iteration()) == f.iteration) {
    // An error while the stream still exchanges this iteration's buckets with the others.
    if (f.kind == InjectedFault::Kind::error && name == "gradient-sync")
      throw core::BackendError(fmt::format("injected error in iteration {}", f.iteration));
    if (f.kind == InjectedFault::Kind::crash && name == "iteration") std::_Exit(3);
    if (f.kind == InjectedFault::Kind::hang && name == "iteration") {
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }
  }
  TracingRank::begin_phase(name, iteration);
  if (!context_.progress_path.empty()) {
    std::ofstream(context_.progress_path, std::ios::trunc)
        << fmt::format("{} {}\n", current_iteration(), name);
  }
}

void MpiRank::sleep(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// What isend and irecv record of a message, for the trace and for completion.
std::unique_ptr<MpiRequest> MpiRank::new_request(core::Lane lane, int peer, core::Buffer buffer, int tag) {
  auto r = std::make_unique<MpiRequest>();
  r->lane = lane;
  r->peer = peer;
  r->tag = tag;
  r->bytes = buffer.bytes;
  r->posted = now();
  if (detail_ >= core::TraceDetail::messages) {
    std::lock_guard lock(context_.sequencer_mutex);
    r->seq = lane == core::Lane::send ? context_.sequencer.next_send(rank(), peer, tag)
                                      : context_.sequencer.next_recv(peer, rank(), tag);
  }
  return r;
}

core::Request MpiRank::isend(int peer, core::Buffer buffer, int tag) {
  auto r = new_request(core::Lane::send, peer, buffer, tag);
  void* data = buffer.data != nullptr ? buffer.data : scratch_->for_send(buffer.bytes);
  DMLSIM_CHECK_MPI(
      MPI_Isend(data, message_count(buffer.bytes), MPI_BYTE, peer, tag, context_.comm, &r->request));
  return core::Request(std::move(r));
}

core::Request MpiRank::irecv(int peer, core::Buffer buffer, int tag) {
  auto r = new_request(core::Lane::recv, peer, buffer, tag);
  void* data = buffer.data;
  if (data == nullptr) {
    r->scratch_slot = scratch_->acquire(buffer.bytes);
    data = scratch_->slots[static_cast<std::size_t>(r->scratch_slot)].data();
  }
  DMLSIM_CHECK_MPI(
      MPI_Irecv(data, message_count(buffer.bytes), MPI_BYTE, peer, tag, context_.comm, &r->request));
  return core::Request(std::move(r));
}

void MpiRank::complete(core::Request::State& state) {
  auto& r = static_cast<MpiRequest&>(state);
  scratch_->release(r.scratch_slot);
  if (r.lane == core::Lane::send) {
    std::lock_guard lock(context_.sequencer_mutex);
    ++context_.messages;
  }
  record_message(r.lane, r.peer, r.bytes, r.tag, r.seq, r.posted, now());
}

void MpiRank::wait(core::Request& request) {
  auto state = request.release();
  if (!state) return;
  MPI_Request& handle = static_cast<MpiRequest&>(*state).request;
  poll_until_done([&] {
    int done = 0;
    DMLSIM_CHECK_MPI(MPI_Test(&handle, &done, MPI_STATUS_IGNORE));
    return done != 0;
  });
  complete(*state);
}

void MpiRank::wait_all(std::span<core::Request> requests) {
  std::vector<MPI_Request> handles;
  std::vector<std::unique_ptr<core::Request::State>> states;
  for (core::Request& r : requests) {
    if (auto s = r.release()) {
      handles.push_back(static_cast<MpiRequest&>(*s).request);
      states.push_back(std::move(s));
    }
  }
  if (handles.empty()) return;
  poll_until_done([&] {
    int done = 0;
    DMLSIM_CHECK_MPI(
        MPI_Testall(static_cast<int>(handles.size()), handles.data(), &done, MPI_STATUSES_IGNORE));
    return done != 0;
  });
  for (auto& s : states) complete(*s);
}

namespace {

// The MPI handles of the pending requests, and where each came from.
struct PendingSet {
  std::vector<MPI_Request> handles;
  std::vector<std::size_t> index;
};

PendingSet pending_of(std::span<core::Request> requests) {
  PendingSet p;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].pending()) {
      p.handles.push_back(static_cast<MpiRequest&>(*requests[i].state()).request);
      p.index.push_back(i);
    }
  }
  return p;
}

}  // namespace

std::size_t MpiRank::wait_any(std::span<core::Request> requests) {
  PendingSet p = pending_of(requests);
  if (p.handles.empty()) throw core::BackendError("wait_any: no pending request");
  int done = MPI_UNDEFINED;
  poll_until_done([&] {
    int flag = 0;
    DMLSIM_CHECK_MPI(
        MPI_Testany(static_cast<int>(p.handles.size()), p.handles.data(), &done, &flag, MPI_STATUS_IGNORE));
    return flag != 0;
  });
  const std::size_t which = p.index[static_cast<std::size_t>(done)];
  auto state = requests[which].release();
  complete(*state);
  return which;
}

std::optional<std::size_t> MpiRank::test_any(std::span<core::Request> requests) {
  PendingSet p = pending_of(requests);
  if (p.handles.empty()) return std::nullopt;
  int done = MPI_UNDEFINED, flag = 0;
  DMLSIM_CHECK_MPI(
      MPI_Testany(static_cast<int>(p.handles.size()), p.handles.data(), &done, &flag, MPI_STATUS_IGNORE));
  if (!flag || done == MPI_UNDEFINED) return std::nullopt;
  const std::size_t which = p.index[static_cast<std::size_t>(done)];
  auto state = requests[which].release();
  complete(*state);
  return which;
}

core::CollectiveHandle MpiRank::start(core::SchedulePtr schedule, core::Group group,
                                      core::ElementBuffer buffer, int tag) {
  if (!stream_) {
    stream_ = std::make_unique<Stream>();
    stream_->view = std::make_unique<MpiRank>(context_, stream_->trace);
    stream_->thread = std::thread([s = stream_.get()] { s->loop(); });
  }
  auto handle = std::make_unique<StreamHandle>();
  {
    std::lock_guard lock(stream_->mutex);
    stream_->queue.push_back({std::move(schedule), std::move(group), buffer, tag, current_iteration()});
    handle->sequence = stream_->started++;
  }
  stream_->changed.notify_all();
  return core::CollectiveHandle(std::move(handle));
}

void MpiRank::wait(core::CollectiveHandle& handle) {
  auto state = handle.release();
  if (!state) return;
  const std::uint64_t sequence = static_cast<StreamHandle&>(*state).sequence;
  std::unique_lock lock(stream_->mutex);
  stream_->changed.wait(lock, [&] { return stream_->completed > sequence; });
  if (stream_->error) std::rethrow_exception(stream_->error);
}

const core::Trace* MpiRank::stream_trace() const {
  return stream_ ? &stream_->trace : nullptr;
}

void MpiRank::finish() {
  if (!stream_ || !stream_->thread.joinable()) return;
  {
    std::lock_guard lock(stream_->mutex);
    stream_->stopping = true;
  }
  stream_->changed.notify_all();
  stream_->thread.join();
  if (stream_->error) std::rethrow_exception(stream_->error);
}

}  // namespace dmlsim::real
