#pragma once
// What an event is, for colouring and the legend: the phase or kernel kind, the collective, the
// message direction. The model classifies; only the view (palette.hpp) knows colours.
#include <array>
#include <cstdint>
#include <string_view>

#include "core/trace.hpp"

namespace dmlsim::gui {

enum class EventKind : std::uint8_t {
  iteration,
  forward,
  backward,
  optimizer,
  gradient_sync,  // the phase in which gradients are all-reduced
  downtime,       // an elastic run's time lost to failures and resizes: detection, restart,
                  // checkpoint writes and loads, rendezvous, state transfer, waiting for nodes
  other_phase,
  other_compute,
  all_reduce,
  reduce_scatter,
  all_gather,
  broadcast,
  reduce,
  other_collective,
  send,
  recv,
  counter,  // a sample of a counter series (memory in use)
  mark,     // an instant
  idle,     // no event: the background of a track
  count
};

inline constexpr std::size_t kEventKindCount = static_cast<std::size_t>(EventKind::count);

std::string_view to_string(EventKind kind);
bool is_collective(EventKind kind);

// Phase events by name, kernels by their enclosing phase (category), collectives by category. A
// rank's "out of the job" phases (an elastic epoch it is not a member of) are idle: its lane empties.
EventKind classify(const core::Trace& trace, const core::TraceEvent& event);

}  // namespace dmlsim::gui
