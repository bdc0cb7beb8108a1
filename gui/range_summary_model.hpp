#pragma once
// The per-rank rows of a RangeSummary as a Qt table model (sortable through a proxy): DisplayRole
// gives formatted text, Qt::UserRole the number itself.
#include <QAbstractTableModel>

#include "gui/range_summary.hpp"

namespace dmlsim::gui {

class RangeSummaryModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    rank,
    busy_percent,
    compute,
    communication,
    overlap,
    idle,
    message_bytes,
    collective_bytes,
    count
  };

  using QAbstractTableModel::QAbstractTableModel;

  void set_summary(RangeSummary summary);
  void clear();
  const RangeSummary& summary() const { return summary_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  RangeSummary summary_;
};

}  // namespace dmlsim::gui
