#pragma once
// Compare two runs (simulated vs measured, ring vs tree): pick A and B, the iteration to align them
// on (the timeline stacks them on one time axis), and read the per-phase table. The table is
// core::compare_phases(A, B) — what `dmlsim validate` prints — or, when validate's per-case report
// (core::kValidationReportFile) sits in A's (else B's) directory or the one above, its numbers.
#include <QWidget>

#include "gui/phase_table_model.hpp"
#include "gui/timeline.hpp"

class QComboBox;
class QLabel;
class QSpinBox;
class QTableView;

namespace dmlsim::gui {

class ComparePanel : public QWidget {
  Q_OBJECT

 public:
  explicit ComparePanel(Timeline& timeline, QWidget* parent = nullptr);

  const PhaseTableModel& table_model() const { return *model_; }
  void set_runs(int a, int b);
  int run_a() const;
  int run_b() const;
  // Where the table's numbers come from, and the iteration times.
  QString source_text() const;
  QString iteration_text() const;
  // "A (simulated)", "B (measured)": what each run says it is.
  QString a_title() const;
  QString b_title() const;

 private:
  void runs_changed();
  void refresh();

  Timeline& timeline_;
  QComboBox* a_;
  QComboBox* b_;
  QSpinBox* align_;
  PhaseTableModel* model_;
  QTableView* table_;
  QLabel* source_;
  QLabel* iterations_;
  QLabel* a_title_;  // "A (simulated)": what run A says it is
  QLabel* b_title_;
};

}  // namespace dmlsim::gui
