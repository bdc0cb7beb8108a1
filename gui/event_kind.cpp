#include "gui/event_kind.hpp"

#include "core/summary.hpp"

namespace dmlsim::gui {
namespace {

constexpr std::array<std::string_view, kEventKindCount> kNames = {
    "iteration",   "forward",          "backward",   "optimizer",      "gradient sync", "downtime",
    "other phase", "other compute",    "all-reduce", "reduce-scatter", "all-gather",    "broadcast",
    "reduce",      "other collective", "send",       "recv",           "counter",       "mark",
    "idle"};

EventKind phase_kind(std::string_view name, EventKind otherwise) {
  if (name == core::kForwardPhase) return EventKind::forward;
  if (name == core::kBackwardPhase) return EventKind::backward;
  if (name == core::kOptimizerPhase) return EventKind::optimizer;
  return otherwise;
}

EventKind collective_kind(std::string_view category) {
  if (category == "all-reduce") return EventKind::all_reduce;
  if (category == "reduce-scatter") return EventKind::reduce_scatter;
  if (category == "all-gather") return EventKind::all_gather;
  if (category == "broadcast") return EventKind::broadcast;
  if (category == "reduce") return EventKind::reduce;
  return EventKind::other_collective;
}

}  // namespace

std::string_view to_string(EventKind kind) {
  return kind < EventKind::count ? kNames[static_cast<std::size_t>(kind)] : "?";
}

bool is_collective(EventKind kind) {
  return kind >= EventKind::all_reduce && kind <= EventKind::other_collective;
}

EventKind classify(const core::Trace& trace, const core::TraceEvent& event) {
  switch (event.lane) {
    case core::Lane::phase: {
      const std::string_view name = trace.text(event.name);
      if (name == "iteration") return EventKind::iteration;
      if (name == "gradient-sync") return EventKind::gradient_sync;
      if (name == core::kOutOfJobPhase) return EventKind::idle;
      if (core::is_elastic_phase(name)) return EventKind::downtime;
      return phase_kind(name, EventKind::other_phase);
    }
    case core::Lane::compute:
      return phase_kind(trace.text(event.category), EventKind::other_compute);
    case core::Lane::collective:
      return collective_kind(trace.text(event.category));
    case core::Lane::send:
      return EventKind::send;
    case core::Lane::recv:
      return EventKind::recv;
    case core::Lane::counter:
      return EventKind::counter;
    case core::Lane::mark:
      return EventKind::mark;
  }
  return EventKind::other_compute;
}

}  // namespace dmlsim::gui
