#include "sim/sim_rank.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include "core/errors.hpp"
#include "sim/platform_builder.hpp"

namespace dmlsim::sim {
namespace sg = simgrid::s4u;

namespace {

// SimGrid refuses to send a null pointer: size-only messages carry this marker instead.
char size_only_marker;

struct SimRequest final : core::Request::State {
  sg::CommPtr comm;
  core::Lane lane = core::Lane::send;
  int peer = 0;
  core::Tag tag;
  std::uint64_t bytes = 0;
  std::uint32_t seq = 0;
  std::byte* target = nullptr;  // receive: where the payload goes
  void* received = nullptr;     // receive: what the sender put
};

struct SimCollective final : core::CollectiveHandle::State {
  void* stream = nullptr;      // the rank's stream it runs on
  std::uint64_t sequence = 0;  // position on that stream
};

}  // namespace

SimRank::SimRank(SimWorld& world, int rank)
    : TracingRank(rank, world.experiment().ranks, world.trace(), world.experiment().trace),
      world_(world),
      slowdown_(world.experiment().slowdown_of(rank)),
      device_(world.experiment().platform.device_of(
          world.experiment().placement[static_cast<std::size_t>(rank)])) {}

double SimRank::now() const {
  return sg::Engine::get_clock() + ahead_;
}

void SimRank::catch_up() {
  settle();
  ahead_ = 0;
}

void SimRank::settle() {
  if (ahead_ <= 0) return;
  sg::this_actor::sleep_for(ahead_);
  ahead_ = 0;
}

void SimRank::compute(const core::Kernel& kernel) {
  if (world_.shared_cores() != nullptr) settle();  // the kernel starts when it starts on the cores
  const double start = now();
  advance_compute(device_.kernel_seconds(kernel) * slowdown_);
  record_compute(kernel, start, now());
}

void SimRank::advance_compute(double seconds) {
  sg::Host* cores = world_.shared_cores();
  if (cores == nullptr) {
    ahead_ += seconds;
    return;
  }
  // The machine's cores are shared: an execution there runs at one core's speed while ranks
  // computing at once are no more than its cores, and shares them equally beyond.
  settle();
  if (seconds <= 0) return;
  const sg::ExecPtr exec = sg::this_actor::exec_init(seconds * kSharedCoreFlops);
  exec->set_host(cores);
  exec->start();
  exec->wait();
}

void SimRank::compute(std::span<const core::Kernel> kernels) {
  if (detail_ >= core::TraceDetail::kernels) {
    for (const core::Kernel& k : kernels) compute(k);
    return;
  }
  // One simulated wait for the whole block: the same time, far fewer simulation events.
  double seconds = 0;
  for (const core::Kernel& k : kernels) seconds += device_.kernel_seconds(k);
  advance_compute(seconds * slowdown_);
}

void SimRank::compute_repeated(std::span<const core::Kernel> kernels, std::int64_t times) {
  if (detail_ >= core::TraceDetail::kernels || times <= 1) {
    Rank::compute_repeated(kernels, times);
    return;
  }
  double seconds = 0;
  for (const core::Kernel& k : kernels) seconds += device_.kernel_seconds(k);
  advance_compute(seconds * static_cast<double>(times) * slowdown_);
}

void SimRank::sleep(double seconds) {
  if (seconds > 0) ahead_ += seconds;
}

void SimRank::agree(const core::Group& group, std::span<double> values) {
  const int index = group.index_of(rank());
  if (index < 0) throw core::ValueError(fmt::format("agree: rank {} is not a member of the group", rank()));
  auto it =
      std::find_if(agreements_.begin(), agreements_.end(), [&](const auto& g) { return g.first == group; });
  if (it == agreements_.end()) it = agreements_.insert(agreements_.end(), {group, 0});
  // Free in simulated time: the actors may meet later than this rank's own clock (a member that
  // arrives later in the simulation), so the clock is put back where it was — behind the
  // simulation's, which the next message or wait brings it up to, as after a merged span.
  const double own = now();
  world_.agree(group, it->second++, index, values);
  ahead_ = own - sg::Engine::get_clock();
}

void SimRank::begin_collective() {
  sleep(world_.experiment().platform.collective_launch);
}

std::uint32_t SimRank::open_context(const core::Group& group, std::string_view name) {
  return world_.context(rank(), group, name);
}

core::Request SimRank::isend(int peer, core::Buffer buffer, core::Tag tag) {
  catch_up();
  auto r = std::make_unique<SimRequest>();
  r->lane = core::Lane::send;
  r->peer = peer;
  r->tag = tag;
  r->bytes = buffer.bytes;
  if (detail_ >= core::TraceDetail::messages) r->seq = world_.sequencer().next_send(rank(), peer, tag);
  // In payload mode the bytes are copied now, as an eager MPI send would, so the sender may reuse
  // its buffer as soon as its own step is over; the world holds the copy until the receiver takes it.
  void* payload = &size_only_marker;
  if (buffer.data != nullptr)
    payload = world_.hold_payload(
        std::make_unique<std::vector<std::byte>>(buffer.data, buffer.data + buffer.bytes));
  r->comm = world_.mailbox(rank(), peer, tag)->put_async(payload, buffer.bytes);
  return core::Request(std::move(r));
}

core::Request SimRank::irecv(int peer, core::Buffer buffer, core::Tag tag) {
  catch_up();
  auto r = std::make_unique<SimRequest>();
  r->lane = core::Lane::recv;
  r->peer = peer;
  r->tag = tag;
  r->bytes = buffer.bytes;
  r->target = buffer.data;
  if (detail_ >= core::TraceDetail::messages) r->seq = world_.sequencer().next_recv(peer, rank(), tag);
  r->comm = world_.mailbox(peer, rank(), tag)->get_async<void>(&r->received);
  return core::Request(std::move(r));
}

void SimRank::complete(core::Request::State& state) {
  auto& r = static_cast<SimRequest&>(state);
  if (r.lane == core::Lane::send) {
    world_.account(rank(), r.peer, r.bytes);
  } else if (r.received != &size_only_marker) {
    const std::unique_ptr<std::vector<std::byte>> payload = world_.take_payload(r.received);
    if (r.target != nullptr && payload != nullptr)
      std::memcpy(r.target, payload->data(), std::min<std::size_t>(payload->size(), r.bytes));
  }
  record_message(r.lane, r.peer, r.bytes, r.tag, world_.context_name(r.tag.context), r.seq,
                 r.comm->get_start_time(), r.comm->get_finish_time());
}

void SimRank::wait(core::Request& request) {
  catch_up();
  auto state = request.release();
  if (!state) return;
  static_cast<SimRequest&>(*state).comm->wait();
  complete(*state);
}

void SimRank::wait_all(std::span<core::Request> requests) {
  catch_up();
  std::vector<sg::CommPtr> comms;
  std::vector<std::unique_ptr<core::Request::State>> states;
  comms.reserve(requests.size());
  states.reserve(requests.size());
  for (core::Request& r : requests) {
    if (auto s = r.release()) {
      comms.push_back(static_cast<SimRequest&>(*s).comm);
      states.push_back(std::move(s));
    }
  }
  sg::Comm::wait_all(comms);
  for (auto& s : states) complete(*s);
}

namespace {

// The pending requests' comms and where each sits in `requests`.
struct PendingComms {
  std::vector<sg::CommPtr> comms;
  std::vector<std::size_t> index;
};

PendingComms pending_comms(std::span<core::Request> requests) {
  PendingComms p;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].pending()) {
      p.comms.push_back(static_cast<SimRequest&>(*requests[i].state()).comm);
      p.index.push_back(i);
    }
  }
  return p;
}

}  // namespace

std::size_t SimRank::finish_request(std::span<core::Request> requests, std::size_t which) {
  auto state = requests[which].release();
  complete(*state);
  return which;
}

std::size_t SimRank::wait_any(std::span<core::Request> requests) {
  catch_up();
  const PendingComms p = pending_comms(requests);
  if (p.comms.empty()) throw core::BackendError("wait_any: no pending request");
  return finish_request(requests, p.index[static_cast<std::size_t>(sg::Comm::wait_any(p.comms))]);
}

std::optional<std::size_t> SimRank::test_any(std::span<core::Request> requests) {
  catch_up();
  const PendingComms p = pending_comms(requests);
  if (p.comms.empty()) return std::nullopt;
  const ssize_t done = sg::Comm::test_any(p.comms);
  if (done < 0) return std::nullopt;
  return finish_request(requests, p.index[static_cast<std::size_t>(done)]);
}

std::optional<std::size_t> SimRank::wait_any_for(std::span<core::Request> requests, double seconds) {
  catch_up();
  const PendingComms p = pending_comms(requests);
  if (p.comms.empty()) throw core::BackendError("wait_any_for: no pending request");
  ssize_t done = -1;
  try {
    done = sg::Comm::wait_any_for(p.comms, std::max(0.0, seconds));
  } catch (const simgrid::TimeoutException&) {
    done = -1;
  }
  if (done < 0) return std::nullopt;
  return finish_request(requests, p.index[static_cast<std::size_t>(done)]);
}

// A receive is matched as soon as a sender has put a message in its mailbox (get_sender): from then
// on the transfer is under way and, as with MPI_Cancel, it completes rather than being withdrawn.
bool SimRank::cancel(core::Request& request) {
  if (!request.pending()) return false;
  auto& r = static_cast<SimRequest&>(*request.state());
  if (r.lane == core::Lane::send) throw core::ValueError("a send cannot be cancelled, only a receive");
  catch_up();
  if (!r.comm->test() && r.comm->get_sender() == nullptr) {
    r.comm->cancel();
    request.release();
    return true;
  }
  wait(request);
  return false;
}

void SimRank::execute(const core::Schedule& schedule, const core::Group& group, core::ElementBuffer buffer,
                      core::Tag tag, core::RoundSpan rounds) {
  if (!world_.use_flows(group.size())) {
    core::execute_steps(*this, schedule, group, buffer, tag, rounds.begin, rounds.end);
    return;
  }
  // Spans lie inside a schedule's parts; one that straddles `rounds` runs round by round.
  std::size_t next = rounds.begin;
  for (const core::RoundSpan span : schedule.mergeable_spans()) {
    if (span.begin < next || span.end > rounds.end) continue;
    core::execute_steps(*this, schedule, group, buffer, tag, next, span.begin);
    run_merged_span(schedule, group, buffer, tag, span);
    next = span.end;
  }
  core::execute_steps(*this, schedule, group, buffer, tag, next, rounds.end);
}

// A span of k rounds in which every member repeats the same peers costs, on a path that nothing
// else uses, k·α + (bytes per peer)·β: one message per peer carrying the span's bytes, then the
// k − 1 latencies the merged rounds would have paid. (Under contention from other traffic the
// merged message keeps using bandwidth during those latencies, so it can finish slightly early:
// see notes/simgrid.md.)
//
// The members start the flows together, once the last has arrived. When each ends is worked out
// afterwards, round by round as `steps` makes it (round_clock.hpp), from every member's arrival
// and every message's time at the rate its flow got: a member downstream of a NIC hop ends a few
// NVLink rounds after the hop's members, a member that arrived early starts its first rounds
// early, and per-rank collective times (busbw, exposed communication per bucket, the GUI's lanes)
// are those of `steps`. A member whose end lies before the simulation clock carries on from its
// own earlier time (ahead_ < 0) until it next needs another actor. Spans of more than
// kRoundByRoundLimit member-rounds (rings above 362 members) skip the rounds: every member
// ends when the slowest flow plus its latencies does.
void SimRank::run_merged_span(const core::Schedule& schedule, const core::Group& group,
                              core::ElementBuffer buffer, core::Tag tag, core::RoundSpan span) {
  const int index = schedule.index();
  const double arrival = now();
  settle();
  world_.begin_span(tag.context, group, span.begin, index, arrival);
  ahead_ = 0;  // a rank behind the clock is held up here until the flows start
  const double flows_start = sg::Engine::get_clock();

  struct PeerFlow {
    int peer = 0;  // group index
    sg::CommPtr comm;
    std::uint64_t bytes = 0;
    double latency = 0;
  };
  std::vector<PeerFlow> sent;
  std::vector<core::Request> requests;
  double latency = 0;
  for (const core::PeerTraffic& p : schedule.traffic(span)) {
    const int peer = group.at(p.peer);
    if (p.send_elements > 0) {
      const std::uint64_t bytes = p.send_elements * buffer.element_bytes;
      requests.push_back(isend(peer, {bytes, nullptr}, tag));
      const double route_latency = world_.route(rank(), peer).latency;
      sent.push_back({p.peer, static_cast<SimRequest&>(*requests.back().state()).comm, bytes, route_latency});
      latency = std::max(latency, route_latency);
    }
    if (p.recv_elements > 0) {
      requests.push_back(irecv(peer, {p.recv_elements * buffer.element_bytes, nullptr}, tag));
      latency = std::max(latency, world_.route(peer, rank()).latency);
    }
  }
  wait_all(requests);
  const std::size_t rounds = span.end - span.begin;
  const double together = sg::Engine::get_clock() + static_cast<double>(rounds - 1) * latency;

  std::vector<std::vector<RoundMessage>> sends;
  const auto members = static_cast<std::uint64_t>(group.size());
  if (members * rounds <= kRoundByRoundLimit) {
    sends.resize(rounds);
    std::vector<core::Op> ops;
    for (std::size_t t = 0; t < rounds; ++t) {
      ops.clear();
      schedule.round(span.begin + t, ops);
      for (const core::Op& op : ops) {
        if (op.kind != core::OpKind::send || op.range.count == 0) continue;
        const auto flow =
            std::find_if(sent.begin(), sent.end(), [&](const PeerFlow& f) { return f.peer == op.peer; });
        // The round's share of the merged flow: its latency, then its bytes at the flow's rate.
        const double transfer = flow->comm->get_finish_time() - flows_start - flow->latency;
        const double bytes = static_cast<double>(op.range.count * buffer.element_bytes);
        const double seconds =
            flow->latency + std::max(0.0, transfer) * bytes / static_cast<double>(flow->bytes);
        auto& round = sends[t];
        const auto same = std::find_if(round.begin(), round.end(), [&](const RoundMessage& m) {
          return m.dst == static_cast<std::uint32_t>(op.peer);
        });
        if (same == round.end()) {
          round.push_back({static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(op.peer), seconds});
        } else {
          same->seconds += seconds - flow->latency;  // several messages to one peer share its path
        }
      }
    }
  }
  const double end = world_.end_span(tag.context, group, span.begin, index, std::move(sends), together);
  ahead_ = end - sg::Engine::get_clock();
}

SimRank::Stream& SimRank::stream(std::string_view name) {
  for (auto& s : streams_) {
    if (s->name == name) return *s;
  }
  auto owned = std::make_unique<Stream>();
  Stream* stream = owned.get();
  stream->name = std::string(name);
  stream->rank = std::make_unique<SimRank>(world_, rank());
  stream->work = sg::Semaphore::create(0);
  stream->progress = sg::Semaphore::create(0);
  streams_.push_back(std::move(owned));
  SimWorld* world = &world_;
  sg::Actor::create(fmt::format("rank{}.stream.{}", rank(), name), world_.host_of(rank()), [stream, world] {
    sg::Actor::self()->daemonize();  // ends with the simulation once every rank is done
    for (;;) {
      if (stream->queue.empty()) {
        stream->idle = true;
        stream->work->acquire();
        continue;
      }
      StreamJob job = std::move(stream->queue.front());
      stream->queue.pop_front();
      SimRank& self = *stream->rank;
      try {
        // A job starts when the previous one ended and the rank started it, both on their own clocks.
        self.ahead_ = std::max(stream->clock, job.ready) - sg::Engine::get_clock();
        self.set_default_iteration(job.iteration);
        self.set_default_attributes(job.attributes);
        self.run(*job.schedule, job.group, job.buffer, job.tag);
        self.settle();  // a job is over only once its last latency has passed
      } catch (const simgrid::ForcefulKillException&) {
        throw;  // SimGrid ending a deadlocked run: the actor must not survive it
      } catch (...) {
        world->fail(std::current_exception());  // reported after the run; the rank is not left waiting
      }
      stream->clock = self.now();
      stream->ends.push_back(stream->clock);
      ++stream->completed;
      if (stream->waiting_for != 0 && stream->completed >= stream->waiting_for) {
        stream->waiting_for = 0;
        stream->progress->release();
      }
    }
  });
  return *stream;
}

core::CollectiveHandle SimRank::start(core::SchedulePtr schedule, core::Group group,
                                      core::ElementBuffer buffer, core::Tag tag, std::string_view name) {
  Stream& s = stream(name);
  s.queue.push_back(
      {std::move(schedule), std::move(group), buffer, tag, current_iteration(), current_attributes(), now()});
  auto state = std::make_unique<SimCollective>();
  state->stream = &s;
  state->sequence = s.started++;
  if (s.idle) {
    s.idle = false;
    s.work->release();
  }
  return core::CollectiveHandle(std::move(state));
}

void SimRank::wait(core::CollectiveHandle& handle) {
  auto state = handle.release();
  if (!state) return;
  const auto& c = static_cast<SimCollective&>(*state);
  wait_for_stream(*static_cast<Stream*>(c.stream), c.sequence);
}

// A stream finishes jobs in start order: waiting for its last one waits for them all, with one
// wake-up per stream instead of one per bucket.
void SimRank::wait_all(std::span<core::CollectiveHandle> handles) {
  std::vector<std::pair<Stream*, std::uint64_t>> last;  // per stream, in first-seen order
  for (core::CollectiveHandle& h : handles) {
    auto state = h.release();
    if (!state) continue;
    const auto& c = static_cast<SimCollective&>(*state);
    auto* s = static_cast<Stream*>(c.stream);
    auto it = std::find_if(last.begin(), last.end(), [s](const auto& p) { return p.first == s; });
    if (it == last.end()) {
      last.emplace_back(s, c.sequence);
    } else {
      it->second = std::max(it->second, c.sequence);
    }
  }
  for (const auto& [s, sequence] : last) wait_for_stream(*s, sequence);
}

// The rank's own time after the wait: its time before, or the job's end if later (both may lie
// before the simulation clock after merged spans).
void SimRank::wait_for_stream(Stream& stream, std::uint64_t sequence) {
  const double before = now();
  if (stream.completed <= sequence) {
    stream.waiting_for = sequence + 1;
    stream.progress->acquire();
  }
  double after = before;
  if (sequence >= stream.first_end) {
    const std::size_t i = sequence - stream.first_end;
    after = std::max(after, stream.ends[i]);
    stream.ends.erase(stream.ends.begin(), stream.ends.begin() + static_cast<std::ptrdiff_t>(i + 1));
    stream.first_end = sequence + 1;
  }
  ahead_ = after - sg::Engine::get_clock();
}

}  // namespace dmlsim::sim
