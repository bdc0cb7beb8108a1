#pragma once
// The timeline's document: the open runs with their alignment, the visible time range, the vertical
// scroll, collapsed nodes, the selected event and the selected range. No painting: the widget draws
// what this says and turns input into calls here; tests drive it directly.
#include <QObject>
#include <memory>
#include <optional>
#include <vector>

#include "gui/lane_layout.hpp"
#include "gui/run_model.hpp"
#include "gui/time_axis.hpp"

namespace dmlsim::gui {

struct Hit {
  int run = 0;
  std::uint32_t event = 0;
  bool operator==(const Hit&) const = default;
};

// A selected time range of one run, in display time (see Timeline::offset).
struct RangeSelection {
  int run = 0;
  double start = 0, end = 0;
};

class Timeline : public QObject {
  Q_OBJECT

 public:
  // Hit testing reaches this many pixels beside an event that is too small to aim at.
  static constexpr double kHitTolerancePixels = 3;
  static constexpr double kPanStep = 0.1;  // of the visible range, per key press
  static constexpr double kZoomStep = 1.25;

  explicit Timeline(QObject* parent = nullptr);
  ~Timeline() override;

  // Runs. Adding a run re-aligns all and, for the first one, fits the view.
  int add_run(std::unique_ptr<RunModel> run);
  void clear_runs();
  int run_count() const { return static_cast<int>(runs_.size()); }
  const RunModel& run(int i) const { return *runs_[static_cast<std::size_t>(i)]; }
  // The run's label, told apart from the other runs' where they share it (distinct_labels).
  std::string display_label(int i) const;
  // Display time = the run's time − offset(run): runs are shifted so that the alignment iteration
  // starts at the same display time as in run 0 (or, without iterations, so that they start together).
  double offset(int run) const { return offsets_[static_cast<std::size_t>(run)]; }
  int align_iteration() const { return align_iteration_; }
  void set_align_iteration(int iteration);
  // Display-time extent of all runs.
  double start_time() const;
  double end_time() const;

  // View. The viewport is the event area: right of the labels, below the ruler.
  const TimeAxis& axis() const { return axis_; }
  void set_viewport(int width, int height);
  int viewport_height() const { return viewport_height_; }
  void set_visible_range(double t0, double t1);
  void zoom(double factor, double x);  // factor > 1 zooms in around event-area x
  void zoom_in() { zoom(kZoomStep, axis_.width() / 2.0); }
  void zoom_out() { zoom(1 / kZoomStep, axis_.width() / 2.0); }
  void pan_pixels(double dx);
  void pan_left() { pan_pixels(-kPanStep * axis_.width()); }
  void pan_right() { pan_pixels(kPanStep * axis_.width()); }
  void zoom_to_fit();
  int scroll_y() const { return scroll_y_; }
  void set_scroll_y(int y);
  int max_scroll_y() const;

  // Layout.
  const LaneLayout& layout() const { return layout_; }
  const LayoutMetrics& metrics() const { return metrics_; }
  bool collapsed(int run, int node) const { return collapsed_.count({run, node}) > 0; }
  void set_collapsed(int run, int node, bool collapsed);
  void set_all_collapsed(bool collapsed);
  // Collapses every node of every run from the `first` node on (e.g. to show one node in full).
  void collapse_nodes_from(int first);
  // How every run's lanes are grouped (runs opened later too); regrouping expands every group.
  LaneGrouping grouping() const { return grouping_; }
  void set_grouping(LaneGrouping grouping);

  // Hit testing at event-area x and viewport y (the scroll is applied here).
  const Row* row_at(int viewport_y) const { return layout_.row_at(viewport_y + scroll_y_); }
  // On a federated client's first lane its task markers come first: a hit is the server's record.
  std::optional<Hit> hit_test(double x, int viewport_y) const;

  // Selection.
  const std::optional<Hit>& selected() const { return selected_; }
  void select(std::optional<Hit> hit);
  const std::optional<RangeSelection>& range() const { return range_; }
  void set_range(std::optional<RangeSelection> range);

  bool arrows_visible() const { return arrows_visible_; }
  void set_arrows_visible(bool visible);

 signals:
  void runs_changed();
  void view_changed();  // range, scroll or layout: repaint
  void selection_changed();
  void range_changed();

 private:
  void realign();
  void relayout();

  std::vector<std::unique_ptr<RunModel>> runs_;
  LaneGrouping grouping_ = LaneGrouping::node;
  std::vector<double> offsets_;
  int align_iteration_ = 0;
  TimeAxis axis_;
  int viewport_height_ = 600;
  int scroll_y_ = 0;
  LayoutMetrics metrics_;
  LaneLayout layout_;
  CollapsedNodes collapsed_;
  std::optional<Hit> selected_;
  std::optional<RangeSelection> range_;
  bool arrows_visible_ = true;
};

}  // namespace dmlsim::gui
