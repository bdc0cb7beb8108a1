#pragma once
// Level of detail: turns the visible part of a track into what to draw, in O(pixels · log n)
// whatever the number of events. An event at least kMinEventPixels wide is drawn as itself; events
// too small to see merge into one density bin per pixel column, whose coverage (the busy fraction
// of the column) sets its opacity.
#include <cstdint>
#include <vector>

#include "gui/event_kind.hpp"
#include "gui/time_axis.hpp"
#include "gui/track.hpp"

namespace dmlsim::gui {

inline constexpr double kMinEventPixels = 1.0;

struct Span {
  double x0 = 0, x1 = 0;       // pixels, clipped to [-1, width + 1]
  std::int64_t position = -1;  // index in the track; -1 for a density bin
  float coverage = 1;          // density bins: busy fraction of the column
  EventKind kind = EventKind::idle;
  bool is_bin() const { return position < 0; }
};

// `offset` is subtracted from the track's times before mapping (the run's alignment shift).
void layout_track(const Track& track, const TimeAxis& axis, double offset, std::vector<Span>& out);

}  // namespace dmlsim::gui
