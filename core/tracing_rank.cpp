#include "core/tracing_rank.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/summary.hpp"
#include "core/units.hpp"

namespace dmlsim::core {

TracingRank::TracingRank(int rank, int size, Trace& trace, TraceDetail detail)
    : trace_(trace), detail_(detail), rank_(rank), size_(size) {}

void TracingRank::begin_phase(std::string_view name, int iteration, const EventAttributes& attributes,
                              std::uint64_t bytes) {
  if (iteration < 0) iteration = current_iteration();
  phases_.push_back(
      OpenPhase{trace_.intern(name), iteration, now(), attributes.over(current_attributes()), bytes});
}

void TracingRank::end_phase() {
  const OpenPhase p = phases_.back();
  phases_.pop_back();
  if (detail_ == TraceDetail::none && !kept_at_every_detail(Lane::phase, trace_.text(p.name))) return;
  TraceEvent e;
  e.rank = rank_;
  e.lane = Lane::phase;
  e.name = p.name;
  e.category = p.name;
  e.start = p.start;
  e.end = now();
  e.iteration = p.iteration;
  e.attributes = p.attributes;
  e.bytes = p.bytes;
  trace_.add(e);
}

void TracingRank::mark(std::string_view name) {
  record_instant(Lane::mark, name, 0);
}

void TracingRank::count(std::string_view series, double value) {
  record_instant(Lane::counter, series, value);
}

// Marks are rare and kept from `phases` detail up; counters are sampled as often as layers run,
// so they come with kernels (the default detail) and up — but for the few the summary needs: the
// samples an iteration trained (one per iteration, from `phases` up) and an elastic run's counters
// and failure marks (at every detail, `none` included).
void TracingRank::record_instant(Lane lane, std::string_view name, double value) {
  if (!kept_at_every_detail(lane, name)) {
    const bool frequent = lane == Lane::counter && name != kSamplesTrained;
    if (detail_ < (frequent ? TraceDetail::kernels : TraceDetail::phases)) return;
  }
  TraceEvent e;
  e.rank = rank_;
  e.lane = lane;
  e.name = trace_.intern(name);
  e.category = phases_.empty() ? 0 : phases_.back().name;
  e.start = e.end = now();
  e.value = value;
  e.iteration = current_iteration();
  e.attributes = current_attributes();
  trace_.add(e);
}

const EventAttributes& TracingRank::current_attributes() const {
  return phases_.empty() ? default_attributes_ : phases_.back().attributes;
}

int TracingRank::current_iteration() const {
  for (auto it = phases_.rbegin(); it != phases_.rend(); ++it) {
    if (it->iteration >= 0) return it->iteration;
  }
  return default_iteration_;
}

void TracingRank::record_compute(const Kernel& kernel, double start, double end) {
  if (detail_ < TraceDetail::kernels) return;
  TraceEvent e;
  e.rank = rank_;
  e.lane = Lane::compute;
  e.name = trace_.intern(kernel.name);
  e.category = phases_.empty() ? 0 : phases_.back().name;
  e.start = start;
  e.end = end;
  e.flops = kernel.flops();
  e.bytes = static_cast<std::uint64_t>(kernel.memory_bytes());
  e.iteration = current_iteration();
  e.attributes = current_attributes();
  trace_.add(e);
}

void TracingRank::record_message(Lane lane, int peer, std::uint64_t bytes, Tag tag, std::string_view comm,
                                 std::uint32_t seq, double start, double end) {
  if (detail_ < TraceDetail::messages) return;
  TraceEvent e;
  e.rank = rank_;
  e.lane = lane;
  e.name = trace_.intern(lane == Lane::send ? "send" : "recv");
  e.category = trace_.intern("message");
  e.start = start;
  e.end = end;
  e.bytes = bytes;
  e.peer = peer;
  e.tag = tag.value;
  e.seq = seq;
  e.comm = comm.empty() ? 0 : trace_.intern(comm);
  e.iteration = current_iteration();
  e.attributes = current_attributes();
  trace_.add(e);
}

void TracingRank::on_collective(const Schedule& schedule, ElementBuffer buffer, double start, double end) {
  if (detail_ == TraceDetail::none) return;
  TraceEvent e;
  e.rank = rank_;
  e.lane = Lane::collective;
  e.name = trace_.intern(fmt::format("{} {} {}", schedule.collective(), schedule.algorithm(),
                                     format_bytes(static_cast<double>(buffer.bytes()))));
  e.category = trace_.intern(schedule.collective());
  e.start = start;
  e.end = end;
  e.bytes = buffer.bytes();
  e.group_size = schedule.group_size();
  e.iteration = current_iteration();
  e.attributes = current_attributes();
  trace_.add(e);
}

// A part sits in the collective lane inside its collective's event, marked by its `part` attribute
// (its index) so that totals count the collective once.
void TracingRank::on_collective_part(const Schedule& schedule, const SchedulePart& part, std::uint32_t index,
                                     ElementBuffer buffer, double start, double end) {
  if (detail_ == TraceDetail::none) return;
  TraceEvent e;
  e.rank = rank_;
  e.lane = Lane::collective;
  e.name = trace_.intern(
      fmt::format("{} {}", part.name, format_bytes(static_cast<double>(part.count * buffer.element_bytes))));
  e.category = trace_.intern(schedule.collective());
  e.start = start;
  e.end = end;
  e.bytes = part.count * buffer.element_bytes;
  e.group_size = schedule.group_size();
  e.iteration = current_iteration();
  e.attributes = current_attributes();
  e.attributes.set(Attribute::part, static_cast<int>(index));
  trace_.add(e);
}

std::size_t MessageSequencer::ChannelHash::operator()(const Channel& c) const {
  std::uint64_t h = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(c.src)) << 32) |
                    static_cast<std::uint32_t>(c.dst);
  h ^= ((static_cast<std::uint64_t>(c.tag.context) << 32) | static_cast<std::uint32_t>(c.tag.value)) *
       0x9e3779b97f4a7c15ull;
  return std::hash<std::uint64_t>()(h ^ static_cast<std::uint64_t>(c.side));
}

}  // namespace dmlsim::core
