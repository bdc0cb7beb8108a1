#pragma once
// Shared by the GUI tests that drive a MainWindow: runs load in the background, so opening waits
// for MainWindow::open_finished (the state after it, not a time, is what the tests check).
#include <gtest/gtest.h>

#include <QProgressBar>
#include <QSignalSpy>
#include <QStatusBar>
#include <QStringList>
#include <QTest>
#include <filesystem>
#include <string>

#include "gui/main_window.hpp"
#include "gui/timeline_widget.hpp"
#include "gui_test_support.hpp"

namespace dmlsim::testing {

// Generous: a loaded 2-core machine may take a while, and a pass never waits this long.
constexpr int kLoadTimeoutMs = 120'000;

// Opens `paths` and returns how many opened, -1 (and a failure) if loading never finished.
inline int open_and_wait(gui::MainWindow& window, const QStringList& paths) {
  QSignalSpy finished(&window, &gui::MainWindow::open_finished);
  window.open_paths(paths);
  if (finished.isEmpty() && !finished.wait(kLoadTimeoutMs)) {
    ADD_FAILURE() << "loading " << paths.join(QStringLiteral(", ")).toStdString() << " never finished";
    return -1;
  }
  return finished.last().at(0).toInt();
}

inline QString qpath(const std::filesystem::path& p) {
  return QString::fromStdString(p.string());
}

// A shown main window with its own settings file.
struct TestWindow {
  explicit TestWindow(const std::string& name)
      : scratch(name), dir(scratch.path()), window(qpath(dir / "settings.ini")) {
    window.resize(1400, 900);
    window.show();
    EXPECT_TRUE(QTest::qWaitForWindowExposed(&window));
  }
  gui::TimelineWidget* widget() { return window.timeline_widget(); }
  gui::Timeline& timeline() { return window.timeline(); }
  QProgressBar* progress_bar() { return window.statusBar()->findChild<QProgressBar*>(); }

  ScratchDir scratch;  // removed last, after the window
  std::filesystem::path dir;
  gui::MainWindow window;
};

}  // namespace dmlsim::testing
