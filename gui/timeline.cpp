#include "gui/timeline.hpp"

#include "gui/run_labels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dmlsim::gui {

Timeline::Timeline(QObject* parent) : QObject(parent) {}
Timeline::~Timeline() = default;

int Timeline::add_run(std::unique_ptr<RunModel> run) {
  if (grouping_ != LaneGrouping::node) run->set_grouping(grouping_);
  runs_.push_back(std::move(run));
  realign();
  relayout();
  if (runs_.size() == 1) zoom_to_fit();
  emit runs_changed();
  emit view_changed();
  return run_count() - 1;
}

void Timeline::clear_runs() {
  runs_.clear();
  collapsed_.clear();
  selected_.reset();
  range_.reset();
  realign();
  relayout();
  scroll_y_ = 0;
  emit runs_changed();
  emit selection_changed();
  emit range_changed();
  emit view_changed();
}

void Timeline::set_align_iteration(int iteration) {
  align_iteration_ = iteration;
  realign();
  emit view_changed();
}

void Timeline::realign() {
  offsets_.assign(runs_.size(), 0.0);
  if (runs_.empty()) return;
  const RunModel& reference = *runs_.front();
  const auto reference_start = reference.iteration_start(align_iteration_);
  for (std::size_t i = 1; i < runs_.size(); ++i) {
    const auto start = runs_[i]->iteration_start(align_iteration_);
    offsets_[i] = start && reference_start ? *start - *reference_start
                                           : runs_[i]->start_time() - reference.start_time();
  }
}

void Timeline::relayout() {
  std::vector<const RunModel*> runs;
  for (const auto& r : runs_) runs.push_back(r.get());
  layout_.build(runs, collapsed_, metrics_);
  scroll_y_ = std::clamp(scroll_y_, 0, max_scroll_y());
}

double Timeline::start_time() const {
  double t = std::numeric_limits<double>::infinity();
  for (int i = 0; i < run_count(); ++i) t = std::min(t, run(i).start_time() - offset(i));
  return runs_.empty() ? 0 : t;
}

double Timeline::end_time() const {
  double t = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < run_count(); ++i) t = std::max(t, run(i).end_time() - offset(i));
  return runs_.empty() ? 1e-3 : t;
}

void Timeline::set_viewport(int width, int height) {
  const double t0 = axis_.start(), t1 = axis_.end();
  axis_.set_width(width);
  if (!runs_.empty()) axis_.set_range(t0, t1);  // a resize keeps the visible range
  viewport_height_ = std::max(1, height);
  scroll_y_ = std::clamp(scroll_y_, 0, max_scroll_y());
  emit view_changed();
}

void Timeline::set_visible_range(double t0, double t1) {
  axis_.set_range(t0, t1);
  emit view_changed();
}

void Timeline::zoom(double factor, double x) {
  axis_.zoom_around(x, factor);
  emit view_changed();
}

void Timeline::pan_pixels(double dx) {
  axis_.pan_pixels(dx);
  emit view_changed();
}

void Timeline::zoom_to_fit() {
  axis_.fit(start_time(), end_time());
  emit view_changed();
}

int Timeline::max_scroll_y() const {
  return std::max(0, layout_.height() - viewport_height_);
}

void Timeline::set_scroll_y(int y) {
  const int clamped = std::clamp(y, 0, max_scroll_y());
  if (clamped == scroll_y_) return;
  scroll_y_ = clamped;
  emit view_changed();
}

void Timeline::set_collapsed(int run, int node, bool collapsed) {
  if (collapsed) {
    collapsed_.insert({run, node});
  } else {
    collapsed_.erase({run, node});
  }
  relayout();
  emit view_changed();
}

void Timeline::set_all_collapsed(bool collapsed) {
  collapsed_.clear();
  if (collapsed) collapse_nodes_from(0);
  relayout();
  emit view_changed();
}

void Timeline::collapse_nodes_from(int first) {
  for (int r = 0; r < run_count(); ++r) {
    for (int n = first; n < static_cast<int>(run(r).nodes().size()); ++n) collapsed_.insert({r, n});
  }
  relayout();
  emit view_changed();
}

void Timeline::set_grouping(LaneGrouping grouping) {
  grouping_ = grouping;
  for (const auto& run : runs_) run->set_grouping(grouping);
  collapsed_.clear();  // group indices mean other groups now
  relayout();
  emit view_changed();
}

std::string Timeline::display_label(int i) const {
  std::vector<RunLabel> labels;
  for (const auto& run : runs_) labels.push_back({run->label(), run->directory()});
  return distinct_labels(labels)[static_cast<std::size_t>(i)];
}

std::optional<Hit> Timeline::hit_test(double x, int viewport_y) const {
  const Row* row = row_at(viewport_y);
  if (!row || row->kind != RowKind::track) return std::nullopt;
  const RunModel& r = run(row->run);
  const Track& track = r.tracks()[row->track];
  const double t = axis_.to_time(x) + offset(row->run);
  const double tolerance = kHitTolerancePixels * axis_.seconds_per_pixel();
  // A federated client's task marker, drawn over its first lane, stands for the server's record.
  if (row->first_of_rank) {
    const ClientTask* nearest = nullptr;
    for (const std::uint32_t i : r.tasks_of_client(row->rank)) {
      const ClientTask& task = r.client_tasks()[i];
      if (std::abs(task.time - t) <= tolerance &&
          (!nearest || std::abs(task.time - t) < std::abs(nearest->time - t)))
        nearest = &task;
    }
    if (nearest) return Hit{row->run, nearest->event};
  }
  const auto position = track.at(t, tolerance);
  if (!position) return std::nullopt;
  return Hit{row->run, track.event(*position)};
}

void Timeline::select(std::optional<Hit> hit) {
  if (hit == selected_) return;
  selected_ = hit;
  emit selection_changed();
  emit view_changed();
}

void Timeline::set_range(std::optional<RangeSelection> range) {
  if (range && range->end < range->start) std::swap(range->start, range->end);
  range_ = range;
  emit range_changed();
  emit view_changed();
}

void Timeline::set_arrows_visible(bool visible) {
  arrows_visible_ = visible;
  emit view_changed();
}

}  // namespace dmlsim::gui
