#include "gui/lod.hpp"

#include <algorithm>
#include <cmath>

namespace dmlsim::gui {

void layout_track(const Track& track, const TimeAxis& axis, double offset, std::vector<Span>& out) {
  out.clear();
  const double width = axis.width();
  const double view_start = axis.start() + offset;  // in track time
  const double view_end = axis.end() + offset;
  const double spp = axis.seconds_per_pixel();
  auto x_of = [&](double t) { return (t - view_start) / spp; };
  auto clip = [&](double x) { return std::clamp(x, -1.0, width + 1); };

  std::size_t i = track.first_ending_after(view_start);
  const std::size_t n = track.size();
  while (i < n && track.start(i) < view_end) {
    const double xs = x_of(track.start(i));
    const double xe = x_of(track.end(i));
    if (xe - xs >= kMinEventPixels) {
      out.push_back({clip(xs), clip(xe), static_cast<std::int64_t>(i), 1.0f, track.kind(i)});
      ++i;
      continue;
    }
    // Sub-pixel event: one bin for its pixel column. Every event starting in the column but the
    // last ends inside it (events do not overlap), so only that last one can be wide.
    const double column = std::max(0.0, std::floor(xs));
    const double a = view_start + column * spp;
    const double b = a + spp;
    std::size_t j = std::max(track.first_starting_from(b), i + 1);
    double bin_end = b;
    if (j - 1 > i && x_of(track.end(j - 1)) - x_of(track.start(j - 1)) >= kMinEventPixels) {
      --j;  // the wide one is drawn as itself
      bin_end = track.start(j);
    }
    const double covered = track.busy_between(a, bin_end);
    out.push_back({column, column + 1, -1, static_cast<float>(std::min(1.0, covered / spp)),
                   track.kind(i + (j - i) / 2)});
    i = j;
  }
}

}  // namespace dmlsim::gui
