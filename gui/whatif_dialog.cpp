#include "gui/whatif_dialog.hpp"

#include <QComboBox>
#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "gui/time_axis.hpp"

namespace dmlsim::gui {
namespace {

constexpr int kTickMilliseconds = 200;
constexpr int kKillAfterMilliseconds = 2000;  // after terminate(), if dmlsim has not stopped
const QString kNoModel = QStringLiteral("(none)");

QComboBox* file_combo(QWidget* parent, const QString& dir, const QStringList& first = {}) {
  auto* combo = new QComboBox(parent);
  combo->setEditable(true);
  combo->addItems(first);
  for (const QFileInfo& f : QDir(dir).entryInfoList({QStringLiteral("*.yaml")}, QDir::Files, QDir::Name))
    combo->addItem(f.absoluteFilePath());
  combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  combo->setMinimumContentsLength(40);
  return combo;
}

QWidget* with_browse(QWidget* parent, QComboBox* combo, const QString& title) {
  auto* row = new QWidget(parent);
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(combo, 1);
  auto* browse = new QPushButton(QObject::tr("Browse…"), row);
  QObject::connect(browse, &QPushButton::clicked, row, [=] {
    const QString file = QFileDialog::getOpenFileName(
        row, title, QFileInfo(combo->currentText()).absolutePath(), QObject::tr("YAML (*.yaml *.yml)"));
    if (!file.isEmpty()) combo->setCurrentText(file);
  });
  layout->addWidget(browse);
  return row;
}

}  // namespace

QString WhatIfDialog::data_directory() {
  const QByteArray env = qgetenv("DMLSIM_DATA_DIR");
  return env.isEmpty() ? QStringLiteral(DMLSIM_SOURCE_DIR) : QString::fromLocal8Bit(env);
}

QString WhatIfDialog::dmlsim_program() {
  const QByteArray env = qgetenv("DMLSIM_BIN");
  if (!env.isEmpty()) return QString::fromLocal8Bit(env);
  const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("dmlsim"));
  if (QFileInfo(beside).isExecutable()) return beside;
  return QStandardPaths::findExecutable(QStringLiteral("dmlsim"));
}

WhatIfDialog::WhatIfDialog(QWidget* parent)
    : QDialog(parent),
      name_(new QLineEdit(QStringLiteral("what-if"), this)),
      platform_(file_combo(this, data_directory() + QStringLiteral("/platforms"))),
      model_(file_combo(this, data_directory() + QStringLiteral("/models"), {kNoModel})),
      ranks_(new QSpinBox(this)),
      iterations_(new QSpinBox(this)),
      strategy_(new QComboBox(this)),
      options_(new QTableWidget(0, 2, this)),
      fidelity_(new QComboBox(this)),
      trace_(new QComboBox(this)),
      out_(new QLineEdit(this)),
      progress_(new QProgressBar(this)),
      status_(new QLabel(this)),
      errors_(new QPlainTextEdit(this)),
      run_button_(new QPushButton(tr("Run"), this)),
      cancel_button_(new QPushButton(tr("Close"), this)),
      process_(new QProcess(this)),
      ticker_(new QTimer(this)) {
  setWindowTitle(tr("What if… — run the simulator"));
  auto* form = new QFormLayout;
  form->addRow(tr("Name"), name_);
  form->addRow(tr("Platform"), with_browse(this, platform_, tr("Platform file")));
  form->addRow(tr("Model"), with_browse(this, model_, tr("Model file")));
  ranks_->setRange(0, 1 << 20);
  ranks_->setSpecialValueText(tr("one per host"));
  form->addRow(tr("Ranks"), ranks_);
  iterations_->setRange(1, 1000);
  iterations_->setValue(2);
  form->addRow(tr("Iterations"), iterations_);
  strategy_->setEditable(true);
  for (const std::string& s : known_strategies()) strategy_->addItem(QString::fromStdString(s));
  form->addRow(tr("Strategy"), strategy_);
  options_->setHorizontalHeaderLabels({tr("option"), tr("value")});
  options_->horizontalHeader()->setStretchLastSection(true);
  options_->verticalHeader()->hide();
  options_->setMinimumHeight(140);
  auto* add_option = new QPushButton(tr("Add option"), this);
  connect(add_option, &QPushButton::clicked, this, [this] { options_->insertRow(options_->rowCount()); });
  auto* options_box = new QWidget(this);
  auto* options_layout = new QVBoxLayout(options_box);
  options_layout->setContentsMargins(0, 0, 0, 0);
  options_layout->addWidget(options_);
  options_layout->addWidget(add_option, 0, Qt::AlignLeft);
  form->addRow(tr("Strategy options"), options_box);
  fidelity_->addItems({QStringLiteral("auto"), QStringLiteral("steps"), QStringLiteral("flows")});
  form->addRow(tr("Collective fidelity"), fidelity_);
  trace_->addItems({QStringLiteral("phases"), QStringLiteral("kernels"), QStringLiteral("messages")});
  trace_->setCurrentText(QStringLiteral("kernels"));
  form->addRow(tr("Trace detail"), trace_);
  out_->setText(QDir(QDir::tempPath()).filePath(QStringLiteral("dmlsim-what-if/what-if")));
  form->addRow(tr("Output directory"), out_);

  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setTextVisible(false);
  errors_->setReadOnly(true);
  errors_->setPlaceholderText(tr("dmlsim's error messages appear here"));
  errors_->setMaximumHeight(110);
  QFont mono(QStringLiteral("DejaVu Sans Mono"));
  mono.setStyleHint(QFont::Monospace);
  errors_->setFont(mono);

  auto* buttons = new QDialogButtonBox(this);
  run_button_->setDefault(true);
  buttons->addButton(run_button_, QDialogButtonBox::ActionRole);
  buttons->addButton(cancel_button_, QDialogButtonBox::RejectRole);
  connect(run_button_, &QPushButton::clicked, this, [this] { start(); });
  connect(cancel_button_, &QPushButton::clicked, this, &WhatIfDialog::cancel);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(progress_);
  layout->addWidget(status_);
  layout->addWidget(errors_);
  layout->addWidget(buttons);

  connect(strategy_, &QComboBox::currentTextChanged, this, &WhatIfDialog::strategy_changed);
  connect(name_, &QLineEdit::textEdited, this, [this](const QString& name) {
    out_->setText(QDir(QFileInfo(out_->text()).absolutePath()).filePath(name));
  });
  connect(process_, &QProcess::readyReadStandardError, this, &WhatIfDialog::read_stderr);
  connect(process_, &QProcess::finished, this, &WhatIfDialog::process_finished);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error == QProcess::FailedToStart)
      fail(tr("cannot start %1: %2").arg(process_->program(), process_->errorString()));
  });
  ticker_->setInterval(kTickMilliseconds);
  connect(ticker_, &QTimer::timeout, this, [this] {
    const auto simulated = last_progress(stderr_.toStdString());
    status_->setText(
        tr("running %1 … %2 s%3")
            .arg(QFileInfo(process_->program()).fileName())
            .arg(clock_.elapsed() / 1000.0, 0, 'f', 1)
            .arg(simulated
                     ? tr(", simulated %1 so far").arg(QString::fromStdString(format_duration(*simulated)))
                     : QString()));
  });
  strategy_changed(strategy_->currentText());
  const int demo = platform_->findText(QStringLiteral("dgx-h100-64.yaml"), Qt::MatchEndsWith);
  if (demo >= 0) platform_->setCurrentIndex(demo);
  const int gpt = model_->findText(QStringLiteral("gpt-1.3b.yaml"), Qt::MatchEndsWith);
  if (gpt >= 0) model_->setCurrentIndex(gpt);
}

WhatIfDialog::~WhatIfDialog() {
  if (running()) {
    process_->kill();
    process_->waitForFinished(kKillAfterMilliseconds);
  }
}

void WhatIfDialog::strategy_changed(const QString& strategy) {
  const auto options = default_options(strategy.toStdString());
  options_->setRowCount(static_cast<int>(options.size()));
  for (std::size_t i = 0; i < options.size(); ++i) {
    options_->setItem(static_cast<int>(i), 0, new QTableWidgetItem(QString::fromStdString(options[i].first)));
    options_->setItem(static_cast<int>(i), 1,
                      new QTableWidgetItem(QString::fromStdString(options[i].second)));
  }
}

void WhatIfDialog::set_spec(const WhatIfSpec& spec) {
  name_->setText(QString::fromStdString(spec.name));
  platform_->setCurrentText(QString::fromStdString(spec.platform));
  model_->setCurrentText(spec.model.empty() ? kNoModel : QString::fromStdString(spec.model));
  ranks_->setValue(spec.ranks);
  iterations_->setValue(spec.iterations);
  strategy_->setCurrentText(QString::fromStdString(spec.strategy));
  options_->setRowCount(static_cast<int>(spec.options.size()));
  for (std::size_t i = 0; i < spec.options.size(); ++i) {
    options_->setItem(static_cast<int>(i), 0,
                      new QTableWidgetItem(QString::fromStdString(spec.options[i].first)));
    options_->setItem(static_cast<int>(i), 1,
                      new QTableWidgetItem(QString::fromStdString(spec.options[i].second)));
  }
  fidelity_->setCurrentText(QString::fromStdString(spec.fidelity));
  trace_->setCurrentText(QString::fromStdString(spec.trace));
}

WhatIfSpec WhatIfDialog::spec() const {
  WhatIfSpec s;
  s.name = name_->text().trimmed().toStdString();
  s.platform = platform_->currentText().trimmed().toStdString();
  const QString model = model_->currentText().trimmed();
  s.model = model == kNoModel ? std::string() : model.toStdString();
  s.ranks = ranks_->value();
  s.iterations = iterations_->value();
  s.strategy = strategy_->currentText().trimmed().toStdString();
  for (int row = 0; row < options_->rowCount(); ++row) {
    const QTableWidgetItem* key = options_->item(row, 0);
    const QTableWidgetItem* value = options_->item(row, 1);
    if (!key || key->text().trimmed().isEmpty()) continue;
    s.options.emplace_back(key->text().trimmed().toStdString(),
                           value ? value->text().trimmed().toStdString() : "");
  }
  s.fidelity = fidelity_->currentText().toStdString();
  s.trace = trace_->currentText().toStdString();
  return s;
}

void WhatIfDialog::set_output_directory(const QString& dir) {
  out_->setText(dir);
}
QString WhatIfDialog::output_directory() const {
  return out_->text().trimmed();
}
bool WhatIfDialog::running() const {
  return process_->state() != QProcess::NotRunning;
}
QString WhatIfDialog::error_text() const {
  return errors_->toPlainText();
}
QString WhatIfDialog::status_text() const {
  return status_->text();
}

bool WhatIfDialog::start() {
  if (running()) return false;
  errors_->clear();
  stderr_.clear();
  cancelling_ = false;
  const QString out = output_directory();
  if (out.isEmpty()) return fail(tr("choose an output directory")), false;
  if (!QDir().mkpath(out)) return fail(tr("cannot create the output directory %1").arg(out)), false;
  const QString experiment = QDir(out).filePath(QStringLiteral("experiment.yaml"));
  QFile file(experiment);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
    return fail(tr("cannot write %1: %2").arg(experiment, file.errorString())), false;
  file.write(QByteArray::fromStdString(experiment_yaml(spec())));
  file.close();
  const QString program = dmlsim_program();
  if (program.isEmpty())
    return fail(tr("dmlsim not found: set DMLSIM_BIN, or put dmlsim beside dmlsim-gui or on the PATH")),
           false;
  QStringList args;
  for (const std::string& a : run_arguments(experiment.toStdString(), out.toStdString()))
    args << QString::fromStdString(a);
  run_directory_ = out;
  set_running(true);
  process_->start(program, args);
  return true;
}

void WhatIfDialog::cancel() {
  if (!running()) {
    reject();
    return;
  }
  cancelling_ = true;
  status_->setText(tr("cancelling…"));
  process_->terminate();
  QTimer::singleShot(kKillAfterMilliseconds, process_, [p = process_] {
    if (p->state() != QProcess::NotRunning) p->kill();
  });
}

void WhatIfDialog::read_stderr() {
  stderr_ += QString::fromLocal8Bit(process_->readAllStandardError());
}

void WhatIfDialog::process_finished(int exit_code, QProcess::ExitStatus status) {
  read_stderr();
  set_running(false);
  if (cancelling_) {
    status_->setText(tr("cancelled"));
    emit run_cancelled();
    return;
  }
  if (status == QProcess::NormalExit && exit_code == 0) {
    status_->setText(tr("done in %1 s: %2").arg(clock_.elapsed() / 1000.0, 0, 'f', 1).arg(run_directory_));
    emit run_finished(run_directory_);
    return;
  }
  const QString printed = QString::fromStdString(without_progress(stderr_.toStdString()));
  const QString message =
      status == QProcess::CrashExit
          ? tr("dmlsim crashed\n%1").arg(printed)
          : (printed.isEmpty() ? tr("dmlsim exited with code %1").arg(exit_code) : printed);
  fail(message);
}

void WhatIfDialog::fail(const QString& message) {
  set_running(false);
  errors_->setPlainText(message);
  status_->setText(tr("failed"));
  emit run_failed(message);
}

void WhatIfDialog::set_running(bool running) {
  run_button_->setEnabled(!running);
  cancel_button_->setText(running ? tr("Cancel") : tr("Close"));
  progress_->setRange(0, running ? 0 : 1);  // a busy bar: dmlsim cannot say how far it is
  progress_->setValue(0);
  if (running) {
    clock_.start();
    ticker_->start();
  } else {
    ticker_->stop();
  }
}

}  // namespace dmlsim::gui
