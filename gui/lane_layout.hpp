#pragma once
// The timeline's vertical layout: for each run a header row, for each node a header row (its ranks
// hidden when collapsed), for each rank its tracks. Rows sit in content coordinates (y from the
// top of the first run); lookups by y are binary searches, so 1024 ranks cost nothing per frame.
#include <cstdint>
#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "gui/run_model.hpp"

namespace dmlsim::gui {

struct LayoutMetrics {
  int run_header = 34;  // two lines: the run's title, then its iteration labels
  int node_header = 18;
  int track = 14;
  int rank_gap = 3;  // below each rank's last track
};

enum class RowKind : std::uint8_t { run, node, track };

struct Row {
  RowKind kind = RowKind::track;
  int run = 0;
  int node = 0;  // index into RunModel::nodes()
  int rank = -1;
  std::uint32_t track = 0;
  bool first_of_rank = false;
  int y = 0;
  int height = 0;
};

// (run, node index) pairs that are collapsed.
using CollapsedNodes = std::set<std::pair<int, int>>;

class LaneLayout {
 public:
  void build(const std::vector<const RunModel*>& runs, const CollapsedNodes& collapsed,
             const LayoutMetrics& metrics);

  const std::vector<Row>& rows() const { return rows_; }
  int height() const { return height_; }
  // The row at content y, or nullptr (in a gap or beyond the end).
  const Row* row_at(int y) const;
  // Rows [first, last) that intersect content [y0, y1).
  std::pair<std::size_t, std::size_t> rows_between(int y0, int y1) const;
  // Row index of a track, -1 when its node is collapsed.
  int row_of_track(int run, std::uint32_t track) const;
  int row_of_node(int run, int node) const;
  // Content y range [top, bottom) of a run's rows.
  std::pair<int, int> run_extent(int run) const { return run_extent_[static_cast<std::size_t>(run)]; }

 private:
  std::vector<Row> rows_;
  int height_ = 0;
  std::vector<std::vector<int>> track_rows_;  // [run][track] → row
  std::vector<std::vector<int>> node_rows_;   // [run][node] → row
  std::vector<std::pair<int, int>> run_extent_;
};

}  // namespace dmlsim::gui
