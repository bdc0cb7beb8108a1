#include "gui/range_summary.hpp"

#include <algorithm>
#include <utility>

namespace dmlsim::gui {
namespace {

using Intervals = std::vector<std::pair<double, double>>;

// Sorts and merges overlapping intervals in place.
void merge(Intervals& v) {
  std::sort(v.begin(), v.end());
  std::size_t out = 0;
  for (const auto& iv : v) {
    if (out > 0 && iv.first <= v[out - 1].second) {
      v[out - 1].second = std::max(v[out - 1].second, iv.second);
    } else {
      v[out++] = iv;
    }
  }
  v.resize(out);
}

double length(const Intervals& v) {
  double sum = 0;
  for (const auto& [s, e] : v) sum += e - s;
  return sum;
}

// Length of the intersection of two merged interval lists.
double overlap(const Intervals& x, const Intervals& y) {
  double sum = 0;
  std::size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    const double lo = std::max(x[i].first, y[j].first), hi = std::min(x[i].second, y[j].second);
    if (hi > lo) sum += hi - lo;
    (x[i].second < y[j].second ? i : j)++;
  }
  return sum;
}

}  // namespace

RangeSummary summarize_range(const RunModel& run, double start, double end) {
  RangeSummary s;
  s.start = start;
  s.end = end;
  const double range = end - start;
  if (!(range > 0)) return s;
  Intervals compute, communication;
  for (int r = 0; r < run.rank_count(); ++r) {
    RankRangeStats st;
    st.rank = r;
    compute.clear();
    communication.clear();
    for (std::uint32_t t : run.tracks_of_rank(r)) {
      const Track& track = run.tracks()[t];
      if (track.lane() == core::Lane::phase) continue;
      Intervals& into = track.lane() == core::Lane::compute ? compute : communication;
      const std::size_t last = track.first_starting_from(end);
      for (std::size_t i = track.first_ending_after(start); i < last; ++i) {
        into.emplace_back(std::max(track.start(i), start), std::min(track.end(i), end));
      }
      // Bytes of what starts in the range (a send, a collective), once.
      const core::Lane lane = track.lane();
      if (lane == core::Lane::send || lane == core::Lane::collective) {
        for (std::size_t i = track.first_starting_from(start); i < last; ++i) {
          if (core::is_collective_part(run.event(track.event(i)))) continue;  // its collective counts it
          const std::uint64_t bytes = run.event(track.event(i)).bytes;
          (lane == core::Lane::send ? st.message_bytes : st.collective_bytes) += bytes;
        }
      }
    }
    merge(compute);
    merge(communication);
    st.compute_s = length(compute);
    st.communication_s = length(communication);
    st.overlap_s = overlap(compute, communication);
    st.idle_s = std::max(0.0, range - (st.compute_s + st.communication_s - st.overlap_s));
    st.busy_percent = 100 * st.compute_s / range;
    for (const TimeSpan& b : run.bubbles_of(r)) {
      s.has_bubbles = true;
      st.bubble_s += std::max(0.0, std::min(b.end, end) - std::max(b.start, start));
    }
    s.bubble_share += st.bubble_s;
    s.compute_s += st.compute_s;
    s.communication_s += st.communication_s;
    s.overlap_s += st.overlap_s;
    s.idle_s += st.idle_s;
    s.busy_percent += st.busy_percent;
    s.message_bytes += st.message_bytes;
    s.collective_bytes += st.collective_bytes;
    s.ranks.push_back(st);
  }
  if (!s.ranks.empty()) {
    const double n = static_cast<double>(s.ranks.size());
    s.idle_share = s.idle_s / (n * range);
    s.bubble_share /= n * range;
    s.compute_s /= n;
    s.communication_s /= n;
    s.overlap_s /= n;
    s.idle_s /= n;
    s.busy_percent /= n;
  }
  return s;
}

}  // namespace dmlsim::gui
