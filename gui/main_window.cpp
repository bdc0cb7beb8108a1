#include "gui/main_window.hpp"

#include <QActionGroup>

#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QVBoxLayout>

#include "gui/compare_panel.hpp"
#include "gui/export.hpp"
#include "gui/legend_widget.hpp"
#include "gui/summary_panel.hpp"
#include "gui/timeline_widget.hpp"
#include "gui/whatif_dialog.hpp"

namespace dmlsim::gui {
namespace {
const QString kRecentKey = QStringLiteral("recent_files");

// An action whose key is handled by the timeline widget: the menu shows the key, the action
// does not grab it (single letters must reach the widget).
QAction* add_view_action(QMenu* menu, const QString& text, const QString& key, QObject* context,
                         std::function<void()> slot) {
  QAction* action = menu->addAction(key.isEmpty() ? text : text + QLatin1Char('\t') + key);
  QObject::connect(action, &QAction::triggered, context, std::move(slot));
  return action;
}

// The size of the trace a path names (a trace.json or a run directory), 0 if unknown.
qint64 trace_size(const QString& path) {
  const QFileInfo info(path);
  return info.isDir() ? QFileInfo(QDir(path).filePath(QStringLiteral("trace.json"))).size() : info.size();
}

}  // namespace

MainWindow::MainWindow(const QString& settings_file, QWidget* parent)
    : QMainWindow(parent),
      settings_(settings_file.isEmpty()
                    ? new QSettings(QStringLiteral("dmlsim"), QStringLiteral("dmlsim-gui"), this)
                    : new QSettings(settings_file, QSettings::IniFormat, this)),
      timeline_widget_(new TimelineWidget(timeline_, this)),
      summary_panel_(new SummaryPanel(timeline_, this)),
      compare_panel_(new ComparePanel(timeline_, this)),
      compare_dock_(new QDockWidget(tr("Compare"), this)),
      loading_label_(new QLabel(this)),
      loading_bar_(new QProgressBar(this)),
      loader_([this](std::unique_ptr<RunModel> run, const QString& path, double seconds) {
        add_loaded(std::move(run), path, seconds);
      }) {
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(timeline_widget_, 1);
  layout->addWidget(new LegendWidget(central));
  setCentralWidget(central);

  auto* summary_dock = new QDockWidget(tr("Selection"), this);
  summary_dock->setObjectName(QStringLiteral("selection_dock"));
  summary_dock->setWidget(summary_panel_);
  addDockWidget(Qt::RightDockWidgetArea, summary_dock);
  compare_dock_->setObjectName(QStringLiteral("compare_dock"));
  compare_dock_->setWidget(compare_panel_);
  addDockWidget(Qt::BottomDockWidgetArea, compare_dock_);
  compare_dock_->hide();

  // core's reader cannot say how far it got: a busy bar (range 0..0) beside the file's name.
  loading_bar_->setRange(0, 0);
  loading_bar_->setMaximumWidth(120);
  statusBar()->addPermanentWidget(loading_label_);
  statusBar()->addPermanentWidget(loading_bar_);
  connect(&loader_, &RunLoader::state_changed, this, &MainWindow::update_progress);
  connect(&loader_, &RunLoader::batch_finished, this, &MainWindow::finish_batch);
  update_progress();

  build_menus();
  setAcceptDrops(true);
  connect(&timeline_, &Timeline::runs_changed, this, [this] {
    update_title();
    if (timeline_.run_count() >= 2) compare_dock_->show();
  });
  update_title();
  resize(1500, 900);
}

MainWindow::~MainWindow() = default;

void MainWindow::build_menus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open…"), this, &MainWindow::open_dialog);
  open->setShortcut(QKeySequence::Open);
  recent_menu_ = file->addMenu(tr("Open &Recent"));
  connect(recent_menu_, &QMenu::aboutToShow, this, &MainWindow::fill_recent_menu);
  file->addSeparator();
  QAction* what_if = file->addAction(tr("&What if… (run the simulator)"), this, &MainWindow::show_what_if);
  what_if->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  file->addSeparator();
  QAction* png = file->addAction(tr("Export &PNG…"), this, [this] { export_dialog(false); });
  png->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  file->addAction(tr("Export &SVG…"), this, [this] { export_dialog(true); });
  file->addSeparator();
  file->addAction(tr("&Close all runs"), this, [this] { timeline_.clear_runs(); });
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  add_view_action(view, tr("Zoom in"), QStringLiteral("W"), this, [this] { timeline_.zoom_in(); });
  add_view_action(view, tr("Zoom out"), QStringLiteral("S"), this, [this] { timeline_.zoom_out(); });
  add_view_action(view, tr("Pan left"), QStringLiteral("A"), this, [this] { timeline_.pan_left(); });
  add_view_action(view, tr("Pan right"), QStringLiteral("D"), this, [this] { timeline_.pan_right(); });
  add_view_action(view, tr("Zoom to fit"), QStringLiteral("F"), this, [this] { timeline_.zoom_to_fit(); });
  view->addSeparator();
  QAction* arrows = add_view_action(view, tr("Message arrows"), QStringLiteral("M"), this, [] {});
  arrows->setCheckable(true);
  arrows->setChecked(timeline_.arrows_visible());
  connect(arrows, &QAction::toggled, &timeline_, &Timeline::set_arrows_visible);
  connect(&timeline_, &Timeline::view_changed, arrows, [this, arrows] {
    if (arrows->isChecked() != timeline_.arrows_visible()) arrows->setChecked(timeline_.arrows_visible());
  });
  // Lanes by node (an edge platform's clients by class), or by a dimension of the run's mesh.
  QMenu* group_by = view->addMenu(tr("Group lanes by"));
  auto* grouping = new QActionGroup(group_by);
  for (const auto& [label, how] : {std::pair{tr("Node (client class)"), LaneGrouping::node},
                                   std::pair{tr("Pipeline stage"), LaneGrouping::stage},
                                   std::pair{tr("Tensor-parallel group"), LaneGrouping::tensor_group}}) {
    QAction* action = group_by->addAction(label);
    action->setCheckable(true);
    action->setChecked(timeline_.grouping() == how);
    grouping->addAction(action);
    connect(action, &QAction::triggered, this, [this, how] { timeline_.set_grouping(how); });
    connect(&timeline_, &Timeline::view_changed, action, [this, action, how] {
      if (timeline_.grouping() == how && !action->isChecked()) action->setChecked(true);
    });
  }
  add_view_action(view, tr("Collapse all nodes"), {}, this, [this] { timeline_.set_all_collapsed(true); });
  add_view_action(view, tr("Expand all nodes"), {}, this, [this] { timeline_.set_all_collapsed(false); });
  add_view_action(view, tr("Clear selection"), QStringLiteral("Esc"), this, [this] {
    timeline_.select(std::nullopt);
    timeline_.set_range(std::nullopt);
  });

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&Keyboard and mouse"), this, [this] {
    auto* box = new QMessageBox(QMessageBox::Information, tr("Keyboard and mouse"),
                                QString::fromUtf8(kShortcutHelp), QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
  });
}

WhatIfDialog* MainWindow::what_if_dialog() {
  if (!what_if_) {
    what_if_ = new WhatIfDialog(this);
    connect(what_if_, &WhatIfDialog::run_finished, this, [this](const QString& dir) { open_paths({dir}); });
  }
  return what_if_;
}

void MainWindow::show_what_if() {
  WhatIfDialog* dialog = what_if_dialog();
  dialog->show();
  dialog->raise();
}

void MainWindow::open_paths(const QStringList& paths) {
  loader_.load(paths);
}

void MainWindow::add_loaded(std::unique_ptr<RunModel> run, const QString& path, double seconds) {
  const std::size_t events = run->event_count();
  timeline_.add_run(std::move(run));
  remember(QFileInfo(path).absoluteFilePath());
  statusBar()->showMessage(tr("opened %1: %2 events in %3 s")
                               .arg(path)
                               .arg(static_cast<qulonglong>(events))
                               .arg(seconds, 0, 'f', 2));
}

void MainWindow::finish_batch(int opened, const QStringList& errors) {
  if (!errors.isEmpty()) {
    show_error(errors.size() == 1 ? tr("Cannot open this run") : tr("Cannot open these runs"),
               errors.join(QStringLiteral("\n\n")));
  }
  emit open_finished(opened);
}

QString MainWindow::loading_text() const {
  return loader_.busy() ? loading_label_->text() : QString();
}

void MainWindow::update_progress() {
  loading_label_->setVisible(loader_.busy());
  loading_bar_->setVisible(loader_.busy());
  if (!loader_.busy()) {
    loading_label_->clear();
    return;
  }
  const QString path = loader_.current();
  QString text = tr("loading %1 (%2) …").arg(path, QLocale().formattedDataSize(trace_size(path)));
  if (loader_.waiting() > 0) text += tr(" + %n more", nullptr, loader_.waiting());
  loading_label_->setText(text);
}

void MainWindow::show_error(const QString& title, const QString& text) {
  if (error_dialog_) error_dialog_->close();
  auto* box = new QMessageBox(QMessageBox::Critical, title, text, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("error_dialog"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_dialog_ = box;
  box->open();  // window-modal but not blocking
  statusBar()->showMessage(text.section(QLatin1Char('\n'), 0, 0));
}

void MainWindow::open_dialog() {
  const QString start =
      recent_files().isEmpty() ? QString() : QFileInfo(recent_files().front()).absolutePath();
  const QStringList files = QFileDialog::getOpenFileNames(
      this, tr("Open trace"), start, tr("dmlsim traces (trace.json *.json);;All files (*)"));
  if (!files.isEmpty()) open_paths(files);
}

void MainWindow::export_dialog(bool svg) {
  const QString file =
      QFileDialog::getSaveFileName(this, svg ? tr("Export SVG") : tr("Export PNG"),
                                   svg ? QStringLiteral("timeline.svg") : QStringLiteral("timeline.png"),
                                   svg ? tr("SVG (*.svg)") : tr("PNG (*.png)"));
  if (file.isEmpty()) return;
  const QString error = svg ? export_svg(file) : export_png(file);
  if (!error.isEmpty()) show_error(tr("Export failed"), error);
}

QSize MainWindow::canvas_size() const {
  return timeline_widget_->canvas_size();
}

QString MainWindow::export_png(const QString& file) {
  const QString error = gui::export_png(timeline_, canvas_size(), file);
  if (error.isEmpty()) statusBar()->showMessage(tr("wrote %1").arg(file));
  return error;
}

QString MainWindow::export_svg(const QString& file) {
  const QString error = gui::export_svg(timeline_, canvas_size(), file);
  if (error.isEmpty()) statusBar()->showMessage(tr("wrote %1").arg(file));
  return error;
}

QStringList MainWindow::recent_files() const {
  return settings_->value(kRecentKey).toStringList();
}

void MainWindow::remember(const QString& path) {
  QStringList recent = recent_files();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > kMaxRecentFiles) recent.removeLast();
  settings_->setValue(kRecentKey, recent);
  settings_->sync();
}

void MainWindow::fill_recent_menu() {
  recent_menu_->clear();
  const QStringList recent = recent_files();
  if (recent.isEmpty()) recent_menu_->addAction(tr("(none)"))->setEnabled(false);
  for (const QString& path : recent) {
    recent_menu_->addAction(path, this, [this, path] { open_paths({path}); });
  }
}

void MainWindow::update_title() {
  QStringList labels;
  for (int i = 0; i < timeline_.run_count(); ++i)
    labels << QString::fromStdString(timeline_.display_label(i));
  setWindowTitle(labels.isEmpty()
                     ? QStringLiteral("dmlsim-gui")
                     : QStringLiteral("%1 — dmlsim-gui").arg(labels.join(QStringLiteral(" vs "))));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  for (const QUrl& url : event->mimeData()->urls()) {
    if (url.isLocalFile()) {
      event->acceptProposedAction();
      return;
    }
  }
}

void MainWindow::dropEvent(QDropEvent* event) {
  QStringList paths;
  for (const QUrl& url : event->mimeData()->urls()) {
    if (url.isLocalFile()) paths << url.toLocalFile();
  }
  if (paths.isEmpty()) return;
  event->acceptProposedAction();
  open_paths(paths);
}

}  // namespace dmlsim::gui
