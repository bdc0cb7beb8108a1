#include "gui/lane_layout.hpp"

#include <algorithm>

namespace dmlsim::gui {

void LaneLayout::build(const std::vector<const RunModel*>& runs, const CollapsedNodes& collapsed,
                       const LayoutMetrics& m) {
  rows_.clear();
  track_rows_.assign(runs.size(), {});
  node_rows_.assign(runs.size(), {});
  run_extent_.assign(runs.size(), {0, 0});
  int y = 0;
  auto add = [&](Row row, int height) {
    row.y = y;
    row.height = height;
    rows_.push_back(row);
    y += height;
    return static_cast<int>(rows_.size()) - 1;
  };
  for (std::size_t ri = 0; ri < runs.size(); ++ri) {
    const RunModel& run = *runs[ri];
    const int r = static_cast<int>(ri);
    run_extent_[ri].first = y;
    track_rows_[ri].assign(run.tracks().size(), -1);
    add({RowKind::run, r}, m.run_header);
    for (std::size_t ni = 0; ni < run.nodes().size(); ++ni) {
      const int n = static_cast<int>(ni);
      node_rows_[ri].push_back(add({RowKind::node, r, n}, m.node_header));
      if (collapsed.count({r, n})) continue;
      for (int rank : run.nodes()[ni].ranks) {
        bool first = true;
        for (std::uint32_t t : run.tracks_of_rank(rank)) {
          track_rows_[ri][t] = add({RowKind::track, r, n, rank, t, first}, m.track);
          first = false;
        }
        if (!first) y += m.rank_gap;
      }
    }
    run_extent_[ri].second = y;
  }
  height_ = y;
}

const Row* LaneLayout::row_at(int y) const {
  const auto it =
      std::upper_bound(rows_.begin(), rows_.end(), y, [](int v, const Row& r) { return v < r.y; });
  if (it == rows_.begin()) return nullptr;
  const Row& row = *(it - 1);
  return y < row.y + row.height ? &row : nullptr;
}

std::pair<std::size_t, std::size_t> LaneLayout::rows_between(int y0, int y1) const {
  auto first = std::upper_bound(rows_.begin(), rows_.end(), y0, [](int v, const Row& r) { return v < r.y; });
  if (first != rows_.begin()) --first;
  if (first != rows_.end() && first->y + first->height <= y0) ++first;
  const auto last = std::lower_bound(first, rows_.end(), y1, [](const Row& r, int v) { return r.y < v; });
  return {static_cast<std::size_t>(first - rows_.begin()), static_cast<std::size_t>(last - rows_.begin())};
}

int LaneLayout::row_of_track(int run, std::uint32_t track) const {
  return track_rows_[static_cast<std::size_t>(run)][track];
}

int LaneLayout::row_of_node(int run, int node) const {
  return node_rows_[static_cast<std::size_t>(run)][static_cast<std::size_t>(node)];
}

}  // namespace dmlsim::gui
