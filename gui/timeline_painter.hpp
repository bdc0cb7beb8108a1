#pragma once
// Draws a Timeline: labels on the left, the time ruler on top, rows of events with their level of
// detail, iteration marks, an elastic run's epochs and lost work, message arrows, the selection. The widget,
// the PNG and SVG exports and the benchmark all paint through this one function, so what is exported is what
// is seen.
#include <QPainter>
#include <QSize>

#include "gui/timeline.hpp"

namespace dmlsim::gui {

// Canvas geometry: the event area starts kGutterWidth from the left and kRulerHeight from the top.
inline constexpr int kGutterWidth = 190;
inline constexpr int kRulerHeight = 30;
// Beyond this many visible messages arrows are skipped (a hint says to zoom in).
inline constexpr int kMaxArrows = 3000;

struct PaintStats {
  int rows = 0;
  int spans = 0;
  int bins = 0;
  int arrows = 0;
  int epochs = 0;           // elastic epoch starts drawn
  int lost_spans = 0;       // spans of lost work shaded
  int counter_samples = 0;  // points of counter lines drawn (one per pixel column and series at most)
  int task_marks = 0;
  int bubble_spans = 0;  // a pipeline's bubbles hatched (one per track row and wait)       // federated
                         // client tasks marked (triangles on lanes, ticks on collapsed classes)
};

// Paints the whole canvas of `size`; the timeline's viewport must already match it
// (Timeline::set_viewport(size.width() - kGutterWidth, size.height() - kRulerHeight)).
PaintStats paint_timeline(QPainter& painter, const Timeline& timeline, const QSize& size);

}  // namespace dmlsim::gui
