#pragma once
// The selection panel: details of the selected event, and for a selected range the totals of
// summarize_range() with one row per rank.
#include <QWidget>

#include "gui/range_summary_model.hpp"
#include "gui/timeline.hpp"

class QLabel;
class QTableView;

namespace dmlsim::gui {

class SummaryPanel : public QWidget {
  Q_OBJECT

 public:
  explicit SummaryPanel(Timeline& timeline, QWidget* parent = nullptr);

  const RangeSummaryModel& range_model() const { return *range_model_; }
  QString event_text() const;
  QString totals_text() const;

 private:
  void show_event();
  void show_range();

  Timeline& timeline_;
  QLabel* event_label_;
  QLabel* totals_label_;
  RangeSummaryModel* range_model_;
  QTableView* table_;
};

}  // namespace dmlsim::gui
