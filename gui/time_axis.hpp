#pragma once
// Time ↔ pixel mapping of the timeline's event area, and the ruler's ticks. Pure maths, no Qt:
// the view asks it where to draw, the tests ask it what zoom and pan did (cf. Hotspot's
// TimeLineData).
#include <string>
#include <vector>

namespace dmlsim::gui {

class TimeAxis {
 public:
  // Deepest and widest zoom: a picosecond and a day per pixel.
  static constexpr double kMinSecondsPerPixel = 1e-12;
  static constexpr double kMaxSecondsPerPixel = 86400;

  double start() const { return start_; }  // time at x = 0, seconds
  double seconds_per_pixel() const { return seconds_per_pixel_; }
  int width() const { return width_; }  // pixels
  double end() const { return start_ + width_ * seconds_per_pixel_; }
  double duration() const { return end() - start_; }

  double to_x(double t) const { return (t - start_) / seconds_per_pixel_; }
  double to_time(double x) const { return start_ + x * seconds_per_pixel_; }

  // Keeps start and scale: a wider window shows more time.
  void set_width(int pixels);
  // Shows [t0, t1] across the width (t1 <= t0 shows a microsecond from t0).
  void set_range(double t0, double t1);
  // As set_range with a small margin on each side.
  void fit(double t0, double t1);
  // factor > 1 zooms in; the time under x stays under x.
  void zoom_around(double x, double factor);
  // Moves the view by dx pixels: positive dx shows later times.
  void pan_pixels(double dx);

 private:
  double start_ = 0;
  double seconds_per_pixel_ = 1e-6;
  int width_ = 1000;
};

struct Tick {
  double time = 0;
  std::string label;
};

struct Ticks {
  std::vector<Tick> ticks;  // labelled, at least min_spacing pixels apart
  double step = 0;          // seconds between ticks: 1, 2 or 5 × 10^k
  // Set when absolute labels would be unreadably long (deep zoom far from 0): the labels are then
  // offsets "+20 ns" from this origin, which the ruler shows once.
  std::string origin;
};

Ticks make_ticks(const TimeAxis& axis, double min_spacing_pixels);

// "1.5 ms", "640 ns", "2.25 s": three significant digits, the unit adapted to the value.
std::string format_duration(double seconds);
// A time on a ruler with ticks `step` apart whose largest time is about `magnitude`: the unit suits
// the magnitude ("1.2 s" rather than "1200 ms"), with just enough decimals to tell ticks apart.
std::string format_tick(double seconds, double step, double magnitude);

}  // namespace dmlsim::gui
