#include "gui/range_summary_model.hpp"

#include "core/units.hpp"
#include "gui/time_axis.hpp"

namespace dmlsim::gui {

void RangeSummaryModel::set_summary(RangeSummary summary) {
  beginResetModel();
  summary_ = std::move(summary);
  endResetModel();
}

void RangeSummaryModel::clear() {
  set_summary({});
}

int RangeSummaryModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(summary_.ranks.size());
}

int RangeSummaryModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : count;
}

QVariant RangeSummaryModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= count) return {};
  const RankRangeStats& r = summary_.ranks[static_cast<std::size_t>(index.row())];
  if (role == Qt::TextAlignmentRole) return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole && role != Qt::UserRole) return {};
  const bool text = role == Qt::DisplayRole;
  auto seconds = [&](double s) -> QVariant {
    return text ? QVariant(QString::fromStdString(format_duration(s))) : QVariant(s);
  };
  auto bytes = [&](std::uint64_t b) -> QVariant {
    return text ? QVariant(QString::fromStdString(core::format_bytes(static_cast<double>(b))))
                : QVariant(static_cast<qulonglong>(b));
  };
  switch (index.column()) {
    case rank:
      return r.rank;
    case busy_percent:
      return text ? QVariant(QString::number(r.busy_percent, 'f', 1)) : QVariant(r.busy_percent);
    case compute:
      return seconds(r.compute_s);
    case communication:
      return seconds(r.communication_s);
    case overlap:
      return seconds(r.overlap_s);
    case idle:
      return seconds(r.idle_s);
    case message_bytes:
      return bytes(r.message_bytes);
    case collective_bytes:
      return bytes(r.collective_bytes);
    default:
      return {};
  }
}

QVariant RangeSummaryModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return QAbstractTableModel::headerData(section, orientation, role);
  static const char* const kHeaders[count] = {"rank",        "busy %", "compute", "comm",
                                              "hidden comm", "idle",   "sent",    "collective"};
  return section >= 0 && section < count ? QVariant(QString::fromUtf8(kHeaders[section])) : QVariant();
}

}  // namespace dmlsim::gui
