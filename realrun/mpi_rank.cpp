#include "realrun/mpi_rank.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/communicator.hpp"
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
  core::Tag tag;
  std::uint64_t bytes = 0;
  std::uint32_t seq = 0;
  double posted = 0;
  int scratch_slot = -1;
};

namespace {

struct StreamHandle final : core::CollectiveHandle::State {
  void* stream = nullptr;
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

// A communication stream: a thread with its own view of the rank (and its own trace) that runs
// queued collectives in order; streams of different names run concurrently.
struct MpiRank::Stream {
  struct Job {
    core::SchedulePtr schedule;
    core::Group group;
    core::ElementBuffer buffer;
    core::Tag tag;
    int iteration = -1;
    core::EventAttributes attributes;  // of the phase that started it
  };
  std::string name;
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
        view->set_default_attributes(job->attributes);
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
      scratch_(std::make_unique<Scratch>()) {
  if (!context_.progress_path.empty())
    progress_fd_ = ::open(context_.progress_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

MpiRank::~MpiRank() {
  stop_streams();
  if (progress_fd_ >= 0) ::close(progress_fd_);
}

void MpiRank::stop_streams() {
  for (auto& s : streams_) {
    if (!s->thread.joinable()) continue;
    {
      std::lock_guard lock(s->mutex);
      s->stopping = true;
    }
    s->changed.notify_all();
    s->thread.join();
  }
}

MPI_Comm create_group_comm(MPI_Comm world, const core::Group& group) {
  std::vector<int> members(static_cast<std::size_t>(group.size()));
  for (int i = 0; i < group.size(); ++i) members[static_cast<std::size_t>(i)] = group.at(i);
  MPI_Group world_group = MPI_GROUP_NULL, sub_group = MPI_GROUP_NULL;
  DMLSIM_CHECK_MPI(MPI_Comm_group(world, &world_group));
  DMLSIM_CHECK_MPI(MPI_Group_incl(world_group, group.size(), members.data(), &sub_group));
  MPI_Comm comm = MPI_COMM_NULL;
  DMLSIM_CHECK_MPI(MPI_Comm_create_group(world, sub_group, 0, &comm));
  MPI_Group_free(&sub_group);
  MPI_Group_free(&world_group);
  return comm;
}

// Communicators are opened by the rank's own control flow (streams only use them), so only the
// lookups and the append need the lock; the collective creation runs without it.
std::uint32_t MpiRank::open_context(const core::Group& group, std::string_view name) {
  {
    std::lock_guard lock(context_.communicators_mutex);
    auto& all = context_.communicators;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].name != name) continue;
      if (!(all[i].group == group)) throw core::name_taken_error(rank(), name);
      return static_cast<std::uint32_t>(i + 1);
    }
  }
  MpiCommunicator c{std::string(name), group, create_group_comm(context_.comm, group)};
  std::lock_guard lock(context_.communicators_mutex);
  context_.communicators.push_back(std::move(c));
  return static_cast<std::uint32_t>(context_.communicators.size());
}

std::pair<MPI_Comm, int> MpiRank::route(int peer, core::Tag tag) const {
  if (tag.context == 0) return {context_.comm, peer};
  std::lock_guard lock(context_.communicators_mutex);
  const MpiCommunicator& c = context_.communicators.at(tag.context - 1);
  return {c.comm, c.group.index_of(peer)};
}

std::string_view MpiRank::comm_name(core::Tag tag) const {
  if (tag.context == 0) return {};
  std::lock_guard lock(context_.communicators_mutex);
  return context_.communicators.at(tag.context - 1).name;  // elements of a deque stay put
}

void MpiRank::compute(const core::Kernel& kernel) {
  const double start = now();
  kernels_.run(kernel);
  // A straggler: stretch the real kernel by its slowdown factor.
  if (context_.slowdown > 1) sleep((now() - start) * (context_.slowdown - 1));
  record_compute(kernel, start, now());
}

void MpiRank::begin_phase(std::string_view name, int iteration, const core::EventAttributes& attributes,
                          std::uint64_t bytes) {
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
  TracingRank::begin_phase(name, iteration, attributes, bytes);
  if (progress_fd_ >= 0) {
    // "I PHASE", padded to a fixed width so that a shorter record overwrites a longer one whole.
    std::array<char, 128> record;
    record.fill(' ');
    fmt::format_to_n(record.data(), record.size() - 1, "{} {}", current_iteration(), name);
    record.back() = '\n';
    [[maybe_unused]] const ssize_t written = ::pwrite(progress_fd_, record.data(), record.size(), 0);
  }
}

void MpiRank::sleep(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// What isend and irecv record of a message, for the trace and for completion.
std::unique_ptr<MpiRequest> MpiRank::new_request(core::Lane lane, int peer, core::Buffer buffer,
                                                 core::Tag tag) {
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

core::Request MpiRank::isend(int peer, core::Buffer buffer, core::Tag tag) {
  auto r = new_request(core::Lane::send, peer, buffer, tag);
  void* data = buffer.data != nullptr ? buffer.data : scratch_->for_send(buffer.bytes);
  const auto [comm, to] = route(peer, tag);
  DMLSIM_CHECK_MPI(MPI_Isend(data, message_count(buffer.bytes), MPI_BYTE, to, tag.value, comm, &r->request));
  return core::Request(std::move(r));
}

core::Request MpiRank::irecv(int peer, core::Buffer buffer, core::Tag tag) {
  auto r = new_request(core::Lane::recv, peer, buffer, tag);
  void* data = buffer.data;
  if (data == nullptr) {
    r->scratch_slot = scratch_->acquire(buffer.bytes);
    data = scratch_->slots[static_cast<std::size_t>(r->scratch_slot)].data();
  }
  const auto [comm, from] = route(peer, tag);
  DMLSIM_CHECK_MPI(
      MPI_Irecv(data, message_count(buffer.bytes), MPI_BYTE, from, tag.value, comm, &r->request));
  return core::Request(std::move(r));
}

void MpiRank::complete(core::Request::State& state) {
  auto& r = static_cast<MpiRequest&>(state);
  scratch_->release(r.scratch_slot);
  if (r.lane == core::Lane::send) {
    std::lock_guard lock(context_.sequencer_mutex);
    ++context_.messages;
  }
  record_message(r.lane, r.peer, r.bytes, r.tag, comm_name(r.tag), r.seq, r.posted, now());
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

MpiRank::Stream& MpiRank::stream(std::string_view name) {
  for (auto& s : streams_) {
    if (s->name == name) return *s;
  }
  auto s = std::make_unique<Stream>();
  s->name = std::string(name);
  s->view = std::make_unique<MpiRank>(context_, s->trace);
  s->thread = std::thread([p = s.get()] { p->loop(); });
  streams_.push_back(std::move(s));
  return *streams_.back();
}

std::optional<std::size_t> MpiRank::wait_any_for(std::span<core::Request> requests, double seconds) {
  PendingSet p = pending_of(requests);
  if (p.handles.empty()) throw core::BackendError("wait_any_for: no pending request");
  const double deadline = now() + std::max(0.0, seconds);
  int done = MPI_UNDEFINED;
  bool timed_out = false;
  poll_until_done([&] {
    int flag = 0;
    DMLSIM_CHECK_MPI(
        MPI_Testany(static_cast<int>(p.handles.size()), p.handles.data(), &done, &flag, MPI_STATUS_IGNORE));
    if (flag != 0) return true;
    timed_out = now() >= deadline;
    return timed_out;
  });
  if (timed_out) return std::nullopt;
  const std::size_t which = p.index[static_cast<std::size_t>(done)];
  auto state = requests[which].release();
  complete(*state);
  return which;
}

// MPI_Cancel, then MPI_Wait for the cancellation to settle: MPI_Test_cancelled says whether the
// receive was withdrawn or a message had matched it first (then it holds the data).
bool MpiRank::cancel(core::Request& request) {
  if (!request.pending()) return false;
  auto& r = static_cast<MpiRequest&>(*request.state());
  if (r.lane == core::Lane::send) throw core::ValueError("a send cannot be cancelled, only a receive");
  DMLSIM_CHECK_MPI(MPI_Cancel(&r.request));
  MPI_Status status;
  DMLSIM_CHECK_MPI(MPI_Wait(&r.request, &status));
  int cancelled = 0;
  DMLSIM_CHECK_MPI(MPI_Test_cancelled(&status, &cancelled));
  auto state = request.release();
  if (cancelled != 0) {
    scratch_->release(static_cast<MpiRequest&>(*state).scratch_slot);
    return true;
  }
  complete(*state);
  return false;
}

core::CollectiveHandle MpiRank::start(core::SchedulePtr schedule, core::Group group,
                                      core::ElementBuffer buffer, core::Tag tag, std::string_view name) {
  Stream& s = stream(name);
  auto handle = std::make_unique<StreamHandle>();
  handle->stream = &s;
  {
    std::lock_guard lock(s.mutex);
    s.queue.push_back(
        {std::move(schedule), std::move(group), buffer, tag, current_iteration(), current_attributes()});
    handle->sequence = s.started++;
  }
  s.changed.notify_all();
  return core::CollectiveHandle(std::move(handle));
}

void MpiRank::wait(core::CollectiveHandle& handle) {
  auto state = handle.release();
  if (!state) return;
  const auto& h = static_cast<StreamHandle&>(*state);
  Stream& s = *static_cast<Stream*>(h.stream);
  std::unique_lock lock(s.mutex);
  s.changed.wait(lock, [&] { return s.completed > h.sequence; });
  if (s.error) std::rethrow_exception(s.error);
}

std::vector<const core::Trace*> MpiRank::stream_traces() const {
  std::vector<const core::Trace*> out;
  for (const auto& s : streams_) out.push_back(&s->trace);
  return out;
}

void MpiRank::finish() {
  stop_streams();
  for (const auto& s : streams_) {
    if (s->error) std::rethrow_exception(s->error);
  }
}

}  // namespace dmlsim::real
