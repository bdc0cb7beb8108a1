#include "gui/phase_table_model.hpp"

#include <QBrush>
#include <QColor>
#include <cmath>

#include "gui/time_axis.hpp"

namespace dmlsim::gui {
namespace {
constexpr double kLargeErrorPercent = 10;  // shaded beyond this
}

void PhaseTableModel::set_rows(std::vector<core::PhaseDifference> rows, QString predicted_label,
                               QString measured_label) {
  beginResetModel();
  rows_ = std::move(rows);
  predicted_label_ = std::move(predicted_label);
  measured_label_ = std::move(measured_label);
  endResetModel();
  emit headerDataChanged(Qt::Horizontal, 0, count - 1);
}

int PhaseTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int PhaseTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : count;
}

QVariant PhaseTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= count) return {};
  const core::PhaseDifference& d = rows_[static_cast<std::size_t>(index.row())];
  if (role == Qt::UserRole) {
    switch (index.column()) {
      case phase:
        return QString::fromStdString(d.phase);
      case predicted:
        return d.predicted_seconds;
      case measured:
        return d.measured_seconds;
      case error_percent:
        return d.error_percent;
      default:
        return {};
    }
  }
  if (role == Qt::BackgroundRole && index.column() == error_percent && std::isfinite(d.error_percent) &&
      std::abs(d.error_percent) > kLargeErrorPercent) {
    return QBrush(QColor(0xfd, 0xe2, 0xd6));
  }
  if (role == Qt::TextAlignmentRole && index.column() != phase)
    return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case phase:
      return QString::fromStdString(d.phase);
    case predicted:
      return QString::fromStdString(format_duration(d.predicted_seconds));
    case measured:
      return QString::fromStdString(format_duration(d.measured_seconds));
    case error_percent: {
      if (!std::isfinite(d.error_percent)) return QStringLiteral("—");
      const double shown = std::round(d.error_percent * 100) / 100;  // no "-0.00 %"
      return QStringLiteral("%1%2 %").arg(shown > 0 ? "+" : "").arg(shown == 0 ? 0.0 : shown, 0, 'f', 2);
    }
    default:
      return {};
  }
}

QVariant PhaseTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return QAbstractTableModel::headerData(section, orientation, role);
  switch (section) {
    case phase:
      return QStringLiteral("phase");
    case predicted:
      return QStringLiteral("A: %1 (s/iter)").arg(predicted_label_);
    case measured:
      return QStringLiteral("B: %1 (s/iter)").arg(measured_label_);
    case error_percent:
      return QStringLiteral("(A − B) / B");
    default:
      return {};
  }
}

}  // namespace dmlsim::gui
