#pragma once
// What happened, per rank: compute kernels, messages, collectives and phase marks, with start and
// end in seconds. Both backends fill a Trace; trace_writer.hpp writes it as Chrome trace JSON
// (ui.perfetto.dev opens it) and as CSV; trace_reader.hpp reads it back.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace_attributes.hpp"

namespace dmlsim::core {

// counter: a sample of a time series (memory in use, micro-batches in flight), at `start` (= end)
// with its `value`; mark: an instant (a checkpoint written, a member joined).
enum class Lane : std::uint8_t { phase, compute, collective, send, recv, counter, mark };
std::string_view to_string(Lane lane);
Lane parse_lane(std::string_view name);  // throws ValueError

struct TraceEvent {
  int rank = 0;
  Lane lane = Lane::compute;
  std::uint32_t name = 0;      // interned text (Trace::text)
  std::uint32_t category = 0;  // interned: the enclosing phase ("forward", ...) or the collective kind
  double start = 0;            // seconds
  double end = 0;
  std::uint64_t bytes = 0;
  double flops = 0;
  int peer = -1;       // messages: the other rank
  int iteration = -1;  // training iteration, -1 outside any
  int tag = -1;        // messages: tag within the communicator
  std::uint32_t seq =
      0;  // messages: the k-th on (sender, receiver, comm, tag), pairs a send with its receive
  std::uint32_t comm = 0;      // messages: interned communicator name ("" for traffic outside any)
  EventAttributes attributes;  // micro-batch, stage, ... (trace_attributes.hpp), from the enclosing phases
  int group_size = 0;          // collectives: members
  double value = 0;            // counters: the sample
  double duration() const { return end - start; }
};

// A part of a collective (hierarchical all-reduce's inter-node all-reduce, ...), nested inside the
// collective's own event: counted once, with its collective.
inline bool is_collective_part(const TraceEvent& e) {
  return e.lane == Lane::collective && e.attributes.get(Attribute::part) >= 0;
}

// Where a rank ran.
struct RankPlacement {
  int host = 0;
  int node = 0;
  std::string host_name;
};

class Trace {
 public:
  std::uint32_t intern(std::string_view text);
  std::string_view text(std::uint32_t id) const { return texts_[id]; }

  void add(const TraceEvent& event) { events_.push_back(event); }
  const std::vector<TraceEvent>& events() const { return events_; }
  std::vector<TraceEvent>& events() { return events_; }
  // Deterministic order: rank, lane, start, longer first (so nesting slices come out parent first).
  void sort();

  std::vector<RankPlacement> ranks;  // index = rank
  std::string label;                 // run name, e.g. "dp-ring (simulated)"

 private:
  std::vector<std::string> texts_{""};
  std::map<std::string, std::uint32_t, std::less<>> ids_{{"", 0}};
  std::vector<TraceEvent> events_;
};

}  // namespace dmlsim::core
