#include "gui/time_axis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace dmlsim::gui {
namespace {

constexpr double kFitMargin = 0.02;  // of the range, each side
// Beyond this many steps from 0, labels become offsets from an origin (e.g. "+20 ns").
constexpr double kMaxAbsoluteSteps = 1e5;

struct Unit {
  double seconds;
  const char* name;
};
constexpr Unit kUnits[] = {{1e-9, "ns"}, {1e-6, "µs"}, {1e-3, "ms"}, {1, "s"}};

// The largest unit not larger than `seconds` (ns for anything smaller).
Unit unit_for(double seconds) {
  Unit u = kUnits[0];
  for (const Unit& c : kUnits) {
    if (std::abs(seconds) >= c.seconds * (1 - 1e-9)) u = c;
  }
  return u;
}

double nice_step(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw * (1 - 1e-9)) return m * power;
  }
  return 10 * power;
}

}  // namespace

void TimeAxis::set_width(int pixels) {
  width_ = std::max(1, pixels);
}

void TimeAxis::set_range(double t0, double t1) {
  if (!(t1 > t0)) t1 = t0 + 1e-6;
  start_ = t0;
  seconds_per_pixel_ = std::clamp((t1 - t0) / width_, kMinSecondsPerPixel, kMaxSecondsPerPixel);
}

void TimeAxis::fit(double t0, double t1) {
  const double margin = (t1 > t0 ? t1 - t0 : 1e-6) * kFitMargin;
  set_range(t0 - margin, t1 + margin);
}

void TimeAxis::zoom_around(double x, double factor) {
  if (!(factor > 0)) return;
  const double t = to_time(x);
  seconds_per_pixel_ = std::clamp(seconds_per_pixel_ / factor, kMinSecondsPerPixel, kMaxSecondsPerPixel);
  start_ = t - x * seconds_per_pixel_;
}

void TimeAxis::pan_pixels(double dx) {
  start_ += dx * seconds_per_pixel_;
}

std::string format_duration(double seconds) {
  if (seconds == 0) return "0 s";
  const Unit u = unit_for(seconds);
  const double v = seconds / u.seconds;
  const int decimals = std::abs(v) >= 100 ? 0 : std::abs(v) >= 10 ? 1 : 2;
  return fmt::format("{:.{}f} {}", v, decimals, u.name);
}

std::string format_tick(double seconds, double step, double magnitude) {
  const Unit u = unit_for(std::max(step, std::abs(magnitude)));
  const double step_in_unit = step / u.seconds;
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step_in_unit) - 1e-9)));
  double v = seconds / u.seconds;
  if (std::abs(v) < 0.5 * std::pow(10.0, -decimals)) v = 0;  // no "-0"
  return fmt::format("{:.{}f} {}", v, decimals, u.name);
}

Ticks make_ticks(const TimeAxis& axis, double min_spacing_pixels) {
  Ticks out;
  out.step = nice_step(std::max(min_spacing_pixels, 1.0) * axis.seconds_per_pixel());
  const double first = std::ceil(axis.start() / out.step) * out.step;
  double origin = 0;
  double magnitude = std::max(std::abs(axis.start()), std::abs(axis.end()));
  if (std::abs(first) / out.step > kMaxAbsoluteSteps) {
    // Origin at a round time of a coarser unit, so that "+x" labels stay short.
    const double coarse = out.step * kMaxAbsoluteSteps / 10;
    origin = std::floor(axis.start() / coarse) * coarse;
    out.origin = format_tick(origin, coarse, origin);
    magnitude = axis.end() - origin;
  }
  for (double k = 0;; ++k) {
    const double t = first + k * out.step;
    if (t > axis.end()) break;
    const std::string label = format_tick(t - origin, out.step, magnitude);
    out.ticks.push_back({t, out.origin.empty() ? label : "+" + label});
  }
  return out;
}

}  // namespace dmlsim::gui
