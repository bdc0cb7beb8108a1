#include "gui/summary_panel.hpp"

#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include "core/units.hpp"
#include "gui/event_text.hpp"
#include "gui/time_axis.hpp"

namespace dmlsim::gui {

SummaryPanel::SummaryPanel(Timeline& timeline, QWidget* parent)
    : QWidget(parent),
      timeline_(timeline),
      event_label_(new QLabel(this)),
      totals_label_(new QLabel(this)),
      range_model_(new RangeSummaryModel(this)),
      table_(new QTableView(this)) {
  auto* layout = new QVBoxLayout(this);
  auto* event_box = new QGroupBox(tr("Selected event"), this);
  auto* event_layout = new QVBoxLayout(event_box);
  event_label_->setTextFormat(Qt::RichText);
  event_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  event_label_->setWordWrap(true);
  event_layout->addWidget(event_label_);
  layout->addWidget(event_box);

  auto* range_box = new QGroupBox(tr("Selected range (Shift+drag, or drag on the ruler)"), this);
  auto* range_layout = new QVBoxLayout(range_box);
  totals_label_->setTextFormat(Qt::RichText);
  totals_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  totals_label_->setWordWrap(true);
  range_layout->addWidget(totals_label_);
  auto* proxy = new QSortFilterProxyModel(this);
  proxy->setSourceModel(range_model_);
  proxy->setSortRole(Qt::UserRole);
  table_->setModel(proxy);
  table_->setSortingEnabled(true);
  table_->sortByColumn(RangeSummaryModel::rank, Qt::AscendingOrder);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(18);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  range_layout->addWidget(table_, 1);
  layout->addWidget(range_box, 1);

  connect(&timeline_, &Timeline::selection_changed, this, &SummaryPanel::show_event);
  connect(&timeline_, &Timeline::range_changed, this, &SummaryPanel::show_range);
  connect(&timeline_, &Timeline::runs_changed, this, [this] {
    show_event();
    show_range();
  });
  show_event();
  show_range();
}

QString SummaryPanel::event_text() const {
  return event_label_->text();
}
QString SummaryPanel::totals_text() const {
  return totals_label_->text();
}

void SummaryPanel::show_event() {
  const auto& hit = timeline_.selected();
  if (!hit || hit->run >= timeline_.run_count()) {
    event_label_->setText(tr("<i>Click an event to see its fields.</i>"));
    return;
  }
  event_label_->setText(QString::fromStdString(event_tooltip(timeline_.run(hit->run), hit->event)));
}

void SummaryPanel::show_range() {
  const auto& range = timeline_.range();
  if (!range || range->run >= timeline_.run_count()) {
    totals_label_->setText(tr("<i>No range selected.</i>"));
    range_model_->clear();
    return;
  }
  const RunModel& run = timeline_.run(range->run);
  const double offset = timeline_.offset(range->run);
  RangeSummary s = summarize_range(run, range->start + offset, range->end + offset);
  auto pct = [&](double seconds) { return s.duration() > 0 ? 100 * seconds / s.duration() : 0.0; };
  auto dur = [](double seconds) { return QString::fromStdString(format_duration(seconds)); };
  totals_label_->setText(
      tr("<b>%1</b>: %2 → %3 (%4), %5 ranks<br>"
         "mean per rank: compute %6 (%7 %), communication %8 (%9 %, %10 hidden behind compute), idle %11 "
         "(%12 %)<br>"
         "busy (compute) %13 % · sent %14 · collectives %15 · <b>idle share %16 %</b>%17")
          .arg(QString::fromStdString(run.label()).toHtmlEscaped())
          .arg(dur(s.start), dur(s.end), dur(s.duration()))
          .arg(s.ranks.size())
          .arg(dur(s.compute_s))
          .arg(pct(s.compute_s), 0, 'f', 1)
          .arg(dur(s.communication_s))
          .arg(pct(s.communication_s), 0, 'f', 1)
          .arg(dur(s.overlap_s))
          .arg(dur(s.idle_s))
          .arg(pct(s.idle_s), 0, 'f', 1)
          .arg(s.busy_percent, 0, 'f', 1)
          .arg(QString::fromStdString(core::format_bytes(static_cast<double>(s.message_bytes))))
          .arg(QString::fromStdString(core::format_bytes(static_cast<double>(s.collective_bytes))))
          .arg(100 * s.idle_share, 0, 'f', 1)
          .arg(s.has_bubbles ? tr(" · <b>pipeline bubble %1 %</b>").arg(100 * s.bubble_share, 0, 'f', 1)
                             : QString()));
  range_model_->set_summary(std::move(s));
}

}  // namespace dmlsim::gui
