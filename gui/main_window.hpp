#pragma once
// The main window: the timeline with its legend, the selection panel, the compare panel; File ▸ Open
// (also recent files and drag and drop), What-if, Export PNG/SVG; View ▸ zoom, pan, arrows, nodes.
// A file that cannot be read gets an error dialog naming the file and the problem.
#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>
#include <QStringList>

#include "gui/timeline.hpp"

class QDockWidget;
class QMenu;
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

  // Opens each trace.json or run directory beside the runs already open; a path that fails gets
  // an error dialog. Returns how many opened.
  int open_paths(const QStringList& paths);
  QStringList recent_files() const;

  // The timeline canvas as shown; the exports write it. Return an error message, empty on success.
  QSize canvas_size() const;
  QString export_png(const QString& file);
  QString export_svg(const QString& file);

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

  QSettings* settings_;
  Timeline timeline_;
  TimelineWidget* timeline_widget_;
  SummaryPanel* summary_panel_;
  ComparePanel* compare_panel_;
  QDockWidget* compare_dock_;
  QMenu* recent_menu_ = nullptr;
  QPointer<QMessageBox> error_dialog_;
  WhatIfDialog* what_if_ = nullptr;
};

}  // namespace dmlsim::gui
