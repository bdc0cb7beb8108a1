#pragma once
// The compare view's per-phase table as a Qt model: phase, run A's and run B's seconds per
// iteration, and the difference (A − B) / B in % — core::compare_phases, the function
// `dmlsim validate` prints, or validate's own report. Qt::UserRole gives the numbers.
#include <QAbstractTableModel>
#include <vector>

#include "core/phase_stats.hpp"

namespace dmlsim::gui {

class PhaseTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { phase, predicted, measured, error_percent, count };

  using QAbstractTableModel::QAbstractTableModel;

  void set_rows(std::vector<core::PhaseDifference> rows, QString predicted_label, QString measured_label);
  const std::vector<core::PhaseDifference>& rows() const { return rows_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<core::PhaseDifference> rows_;
  QString predicted_label_ = QStringLiteral("A"), measured_label_ = QStringLiteral("B");
};

}  // namespace dmlsim::gui
