#pragma once
// The main window: the timeline with its legend, the selection panel, the compare panel; File ▸ Open
// (also recent files and drag and drop), What-if, Export PNG/SVG; View ▸ zoom, pan, arrows, nodes.
// Runs load in the background (RunLoader) with progress in the status bar; a file that cannot be
// read gets an error dialog naming the file and the problem.
#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>
#include <QStringList>

#include "gui/run_loader.hpp"
#include "gui/timeline.hpp"

class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;
class QSettings;

namespace dmlsim::gui {

class ComparePanel;
class SummaryPanel;
class TimelineWidget;
class WhatIfDialog;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  static constexpr int kMaxRecentFiles = 10;

  // `settings_file`: an INI file for the recent-files list (tests use their own); empty: the
  // user's settings.
  explicit MainWindow(const QString& settings_file = {}, QWidget* parent = nullptr);
  ~MainWindow() override;

  Timeline& timeline() { return timeline_; }
  TimelineWidget* timeline_widget() { return timeline_widget_; }
  SummaryPanel* summary_panel() { return summary_panel_; }
  ComparePanel* compare_panel() { return compare_panel_; }
  WhatIfDialog* what_if_dialog();
  // The last error dialog, while it is open.
  QMessageBox* error_dialog() const { return error_dialog_; }

  // Opens each trace.json or run directory beside the runs already open, in this order, after
  // those still loading. Returns at once: the runs load in a worker thread and appear when read;
  // open_finished follows, after the error dialog naming the paths that failed.
  void open_paths(const QStringList& paths);
  bool loading() const { return loader_.busy(); }
  // The status bar's progress text ("loading …"), empty when idle.
  QString loading_text() const;
  RunLoader& loader() { return loader_; }  // tests hold its worker with set_worker_hook
  QStringList recent_files() const;

  // The timeline canvas as shown; the exports write it. Return an error message, empty on success.
  QSize canvas_size() const;
  QString export_png(const QString& file);
  QString export_svg(const QString& file);

 signals:
  // One open_paths call is done: `opened` of its paths opened.
  void open_finished(int opened);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void build_menus();
  void open_dialog();
  void export_dialog(bool svg);
  void show_what_if();
  void show_error(const QString& title, const QString& text);
  void remember(const QString& path);
  void fill_recent_menu();
  void update_title();
  void add_loaded(std::unique_ptr<RunModel> run, const QString& path, double seconds);
  void finish_batch(int opened, const QStringList& errors);
  void update_progress();

  QSettings* settings_;
  Timeline timeline_;
  TimelineWidget* timeline_widget_;
  SummaryPanel* summary_panel_;
  ComparePanel* compare_panel_;
  QDockWidget* compare_dock_;
  QMenu* recent_menu_ = nullptr;
  QPointer<QMessageBox> error_dialog_;
  WhatIfDialog* what_if_ = nullptr;
  QLabel* loading_label_;
  QProgressBar* loading_bar_;
  // Last: destroyed first, so that no run arrives while the rest of the window goes away.
  RunLoader loader_;
};

}  // namespace dmlsim::gui
