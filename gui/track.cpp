#include "gui/track.hpp"

#include <algorithm>

namespace dmlsim::gui {

void Track::append(std::uint32_t event, double start, double end, EventKind kind) {
  events_.push_back(event);
  starts_.push_back(start);
  ends_.push_back(end);
  kinds_.push_back(kind);
}

void Track::finish() {
  busy_prefix_.assign(events_.size() + 1, 0.0);
  for (std::size_t i = 0; i < events_.size(); ++i)
    busy_prefix_[i + 1] = busy_prefix_[i] + (ends_[i] - starts_[i]);
}

std::size_t Track::first_ending_after(double t) const {
  return static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), t) - ends_.begin());
}

std::size_t Track::first_starting_from(double t) const {
  return static_cast<std::size_t>(std::lower_bound(starts_.begin(), starts_.end(), t) - starts_.begin());
}

double Track::busy_between(double a, double b) const {
  if (!(b > a)) return 0;
  const std::size_t i0 = first_ending_after(a);
  const std::size_t i1 = first_starting_from(b);  // events [i0, i1) overlap (a, b)
  if (i1 <= i0) return 0;
  double busy = busy_prefix_[i1] - busy_prefix_[i0];
  if (starts_[i0] < a) busy -= a - starts_[i0];
  if (ends_[i1 - 1] > b) busy -= ends_[i1 - 1] - b;
  return std::max(0.0, busy);
}

void Track::add_busy_columns(double t0, double dt, std::vector<double>& columns) const {
  const std::size_t n = columns.size();
  if (n == 0 || !(dt > 0)) return;
  const double t1 = t0 + dt * static_cast<double>(n);
  const std::size_t first = first_ending_after(t0), last = first_starting_from(t1);
  if (last <= first) return;
  if (last - first > 4 * n) {  // many events per column: binary searches are cheaper
    for (std::size_t k = 0; k < n; ++k) {
      const double a = t0 + dt * static_cast<double>(k);
      columns[k] += busy_between(a, a + dt);
    }
    return;
  }
  for (std::size_t i = first; i < last; ++i) {
    const double s = std::max(starts_[i], t0), e = std::min(ends_[i], t1);
    if (!(e > s)) continue;
    auto k = static_cast<std::size_t>((s - t0) / dt);
    for (; k < n; ++k) {
      const double a = t0 + dt * static_cast<double>(k), b = a + dt;
      if (a >= e) break;
      columns[k] += std::min(b, e) - std::max(a, s);
    }
  }
}

std::optional<std::size_t> Track::at(double t, double tolerance) const {
  const std::size_t i = first_ending_after(t);
  if (i < size() && starts_[i] <= t) return i;  // t inside event i
  // Between events: the nearest edge within the tolerance.
  std::optional<std::size_t> best;
  double best_distance = tolerance;
  if (i < size() && starts_[i] - t <= best_distance) {
    best = i;
    best_distance = starts_[i] - t;
  }
  if (i > 0 && t - ends_[i - 1] <= best_distance) best = i - 1;
  return best;
}

}  // namespace dmlsim::gui
