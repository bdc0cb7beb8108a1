#include "gui/compare_panel.hpp"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "gui/time_axis.hpp"

namespace dmlsim::gui {
namespace {

// validate's per-case report (with a "phases" table) in the run's directory or the one above it
// (validate writes <case>/validation.json beside <case>/<run>/trace.json), or nothing.
std::optional<std::vector<core::PhaseDifference>> read_report(const RunModel& run, QString& note) {
  if (run.directory().empty()) return std::nullopt;
  for (const std::filesystem::path& dir : {run.directory(), run.directory().parent_path()}) {
    const std::filesystem::path file = dir / std::string(core::kValidationReportFile);
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;
    try {
      std::ifstream in(file);
      const nlohmann::json report = nlohmann::json::parse(in);
      if (!report.is_object() || !report.contains("phases")) continue;  // e.g. a suite's summary
      auto rows = core::phase_differences_from_json(report["phases"]);
      note = QObject::tr("from validate's report %1").arg(QString::fromStdString(file.string()));
      return rows;
    } catch (const std::exception& e) {
      note = QObject::tr("%1 is unreadable (%2); computed from the traces instead")
                 .arg(QString::fromStdString(file.string()), QString::fromUtf8(e.what()));
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

ComparePanel::ComparePanel(Timeline& timeline, QWidget* parent)
    : QWidget(parent),
      timeline_(timeline),
      a_(new QComboBox(this)),
      b_(new QComboBox(this)),
      align_(new QSpinBox(this)),
      model_(new PhaseTableModel(this)),
      table_(new QTableView(this)),
      source_(new QLabel(this)),
      iterations_(new QLabel(this)),
      a_title_(new QLabel(QStringLiteral("A"), this)),
      b_title_(new QLabel(QStringLiteral("B"), this)) {
  auto* layout = new QHBoxLayout(this);
  auto* form = new QFormLayout;
  form->addRow(a_title_, a_);
  form->addRow(b_title_, b_);
  align_->setRange(0, 1000000);
  align_->setToolTip(tr("The runs are shifted so that this iteration starts at the same time"));
  form->addRow(tr("align iteration"), align_);
  iterations_->setWordWrap(true);
  form->addRow(iterations_);
  source_->setWordWrap(true);
  form->addRow(source_);
  auto* left = new QWidget(this);
  left->setLayout(form);
  left->setMaximumWidth(420);
  layout->addWidget(left);
  table_->setModel(model_);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(18);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  layout->addWidget(table_, 1);

  connect(&timeline_, &Timeline::runs_changed, this, &ComparePanel::runs_changed);
  connect(a_, &QComboBox::currentIndexChanged, this, &ComparePanel::refresh);
  connect(b_, &QComboBox::currentIndexChanged, this, &ComparePanel::refresh);
  connect(align_, &QSpinBox::valueChanged, this, [this](int iteration) {
    if (iteration != timeline_.align_iteration()) timeline_.set_align_iteration(iteration);
  });
  runs_changed();
}

int ComparePanel::run_a() const {
  return a_->currentIndex();
}
int ComparePanel::run_b() const {
  return b_->currentIndex();
}
QString ComparePanel::source_text() const {
  return source_->text();
}
QString ComparePanel::iteration_text() const {
  return iterations_->text();
}
QString ComparePanel::a_title() const {
  return a_title_->text();
}
QString ComparePanel::b_title() const {
  return b_title_->text();
}

void ComparePanel::set_runs(int a, int b) {
  a_->setCurrentIndex(a);
  b_->setCurrentIndex(b);
  refresh();
}

void ComparePanel::runs_changed() {
  const int old_a = a_->currentIndex(), old_b = b_->currentIndex(), old_count = a_->count();
  {
    const QSignalBlocker block_a(a_), block_b(b_);
    a_->clear();
    b_->clear();
    for (int i = 0; i < timeline_.run_count(); ++i) {
      const QString label =
          QStringLiteral("%1: %2").arg(i + 1).arg(QString::fromStdString(timeline_.display_label(i)));
      a_->addItem(label);
      b_->addItem(label);
    }
    const int n = timeline_.run_count();
    // A new run becomes B (e.g. a what-if result compared with the run before it).
    if (n >= 2 && n != old_count) {
      a_->setCurrentIndex(old_a >= 0 && old_a < n - 1 ? old_a : 0);
      b_->setCurrentIndex(n - 1);
    } else {
      a_->setCurrentIndex(std::clamp(old_a, 0, std::max(0, n - 1)));
      b_->setCurrentIndex(std::clamp(old_b, 0, std::max(0, n - 1)));
    }
  }
  {
    const QSignalBlocker block(align_);
    align_->setValue(timeline_.align_iteration());
  }
  refresh();
}

void ComparePanel::refresh() {
  const int a = a_->currentIndex(), b = b_->currentIndex();
  if (timeline_.run_count() < 2 || a < 0 || b < 0) {
    model_->set_rows({}, QStringLiteral("A"), QStringLiteral("B"));
    a_title_->setText(QStringLiteral("A"));
    b_title_->setText(QStringLiteral("B"));
    source_->setText(tr("Open two runs to compare them (e.g. simulated and measured, or ring and tree)."));
    iterations_->clear();
    return;
  }
  const RunModel& ra = timeline_.run(a);
  const RunModel& rb = timeline_.run(b);
  // Each run says what it is: two simulations (ring against tree) are not "predicted and measured".
  const auto title = [](const char* letter, const RunModel& run) {
    const std::string kind = run.kind();
    return kind.empty() ? QString::fromLatin1(letter)
                        : QStringLiteral("%1 (%2)").arg(QLatin1String(letter), QString::fromStdString(kind));
  };
  a_title_->setText(title("A", ra));
  b_title_->setText(title("B", rb));
  QString note;
  auto rows = read_report(ra, note);
  if (!rows && note.isEmpty()) rows = read_report(rb, note);
  if (!rows) {
    rows = core::compare_phases(ra.trace(), rb.trace());
    if (note.isEmpty())
      note = tr("computed from the traces with core::compare_phases, as dmlsim validate does");
  }
  model_->set_rows(std::move(*rows), QString::fromStdString(timeline_.display_label(a)),
                   QString::fromStdString(timeline_.display_label(b)));
  source_->setText(note);

  const double ia = core::summarize(ra.trace(), {}).iteration_mean;
  const double ib = core::summarize(rb.trace(), {}).iteration_mean;
  iterations_->setText(
      tr("iteration: A %1, B %2 (%3%4 %)")
          .arg(QString::fromStdString(format_duration(ia)), QString::fromStdString(format_duration(ib)))
          .arg(ia >= ib ? "+" : "")
          .arg(ib > 0 ? (ia - ib) / ib * 100 : 0.0, 0, 'f', 2));
}

}  // namespace dmlsim::gui
