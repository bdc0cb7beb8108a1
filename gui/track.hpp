#pragma once
// One sub-lane of a rank: events that never overlap (first-fit packing makes sure), sorted by start,
// so both starts and ends are sorted and the visible part of a million events is two binary
// searches away. Prefix sums of durations give the busy time of any interval in O(log n), which is
// what the density bands of the level of detail draw.
#include <cstdint>
#include <optional>
#include <vector>

#include "core/trace.hpp"
#include "gui/event_kind.hpp"

namespace dmlsim::gui {

class Track {
 public:
  Track(int rank, core::Lane lane, int index) : rank_(rank), lane_(lane), index_(index) {}

  int rank() const { return rank_; }
  core::Lane lane() const { return lane_; }
  int index() const { return index_; }  // k-th sub-lane of this lane kind on the rank
  std::size_t size() const { return events_.size(); }
  bool empty() const { return events_.empty(); }

  // Appends an event that starts no earlier than the last one ends (within the packing tolerance).
  void append(std::uint32_t event, double start, double end, EventKind kind);
  // Builds the prefix sums; call once after the last append.
  void finish();

  std::uint32_t event(std::size_t i) const { return events_[i]; }
  double start(std::size_t i) const { return starts_[i]; }
  double end(std::size_t i) const { return ends_[i]; }
  EventKind kind(std::size_t i) const { return kinds_[i]; }
  double last_end() const { return ends_.empty() ? 0 : ends_.back(); }

  // Index of the first event that ends after t (size() if none).
  std::size_t first_ending_after(double t) const;
  // Index of the first event that starts at or after t (size() if none).
  std::size_t first_starting_from(double t) const;
  // Seconds of [a, b] covered by events.
  double busy_between(double a, double b) const;
  // Adds to columns[k] the seconds of [t0 + k·dt, t0 + (k+1)·dt] covered by events, for every k:
  // one sweep over the events in view, or a busy_between() per column when those are fewer.
  void add_busy_columns(double t0, double dt, std::vector<double>& columns) const;
  // The event under time t, or the nearest one within `tolerance` seconds.
  std::optional<std::size_t> at(double t, double tolerance) const;

 private:
  int rank_;
  core::Lane lane_;
  int index_;
  std::vector<std::uint32_t> events_;  // indices into the trace
  std::vector<double> starts_, ends_;
  std::vector<EventKind> kinds_;
  std::vector<double> busy_prefix_;  // busy_prefix_[i]: total duration of events [0, i)
};

}  // namespace dmlsim::gui
