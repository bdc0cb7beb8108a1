// Runs load in the background: opening returns to the event loop before the file is read, the
// window keeps zooming the runs already open meanwhile, the run appears whole when read, several
// runs keep the order they were asked in, a bad file still gets the error dialog naming it, and
// closing the window while a load runs is safe. The tests hold the worker with the loader's hook
// where they need a load to be in progress: they check states and order, never durations.
#include <QKeyEvent>
#include <QProgressBar>
#include <QSemaphore>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTest>
#include <QTimer>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "core/trace_writer.hpp"
#include "gui/main_window.hpp"
#include "gui/timeline_widget.hpp"
#include "gui_test_support.hpp"
#include "gui_window_support.hpp"

namespace dmlsim::gui {
namespace {

using testing::kLoadTimeoutMs;
using testing::open_and_wait;
using testing::test_run;

using testing::qpath;

// Holds the loader's worker at the start of each load until the test lets it go.
struct Gate {
  QSemaphore entered, open;
  std::atomic<int> loads{0};
  RunLoader::WorkerHook hook() {
    return [this](const QString&) {
      ++loads;
      entered.release();
      open.tryAcquire(1, kLoadTimeoutMs);  // bounded: a failing test must not hang
    };
  }
};

// A synthetic run: `ranks` ranks on nodes of 8, each with one iteration phase over `kernels`
// back-to-back kernels; ranks × (kernels + 1) events in all. Returns its directory.
std::filesystem::path write_run(const std::filesystem::path& dir, int ranks, int kernels) {
  std::filesystem::create_directories(dir);
  core::Trace t;
  t.label = "synthetic " + std::to_string(ranks) + " ranks";
  const std::uint32_t iteration = t.intern("iteration"), gemm = t.intern("gemm"),
                      forward = t.intern("forward");
  for (int r = 0; r < ranks; ++r) {
    t.ranks.push_back({r, r / 8, "node" + std::to_string(r / 8)});
    core::TraceEvent phase;
    phase.rank = r;
    phase.lane = core::Lane::phase;
    phase.name = phase.category = iteration;
    phase.iteration = 0;
    phase.end = kernels * 1e-5;
    t.add(phase);
    for (int k = 0; k < kernels; ++k) {
      core::TraceEvent e;
      e.rank = r;
      e.lane = core::Lane::compute;
      e.name = gemm;
      e.category = forward;
      e.start = k * 1e-5;
      e.end = e.start + 0.8e-5;
      e.flops = 1e9;
      e.iteration = 0;
      t.add(e);
    }
  }
  t.sort();
  std::ofstream out(dir / "trace.json", std::ios::binary);
  core::write_chrome_trace(t, out);
  return dir;
}

using Window = testing::TestWindow;

constexpr int kRanks = 64, kKernels = 3125;  // 200 064 events, about 45 MB

TEST(GuiLoading, OpenReturnsAtOnceTheWindowKeepsWorkingAndTheRunAppearsWhenRead) {
  testing::gui_app();
  Gate gate;  // outlives the window, whose destructor waits for the worker
  Window w("gui-loading-open");
  const auto big = write_run(w.dir / "big", kRanks, kKernels);
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  Timeline& t = w.timeline();
  w.window.loader().set_worker_hook(gate.hook());

  QSignalSpy finished(&w.window, &MainWindow::open_finished);
  QSignalSpy runs(&t, &Timeline::runs_changed);
  // What a listener of open_finished sees (the screenshot is taken then): the progress gone.
  bool idle_when_finished = false;
  QObject::connect(&w.window, &MainWindow::open_finished, &w.window, [&] {
    idle_when_finished = !w.window.loading() && !w.progress_bar()->isVisible() && t.run_count() == 2;
  });
  w.window.open_paths({qpath(big)});
  // Back here before the file is read: the old run only, and the status bar says what loads.
  EXPECT_EQ(t.run_count(), 1);
  EXPECT_TRUE(w.window.loading());
  EXPECT_TRUE(w.window.loading_text().startsWith(QStringLiteral("loading ") + qpath(big)))
      << w.window.loading_text().toStdString();
  ASSERT_NE(w.progress_bar(), nullptr);
  EXPECT_TRUE(w.progress_bar()->isVisible());
  ASSERT_TRUE(gate.entered.tryAcquire(1, kLoadTimeoutMs)) << "the worker started";

  // The worker is held inside the load: the event loop still runs timers and input, and a key
  // posted to the timeline zooms the open run.
  bool fired = false;
  QTimer::singleShot(0, &w.window, [&] { fired = true; });
  const double d0 = t.axis().duration();
  QCoreApplication::postEvent(w.window.timeline_widget(), new QKeyEvent(QEvent::KeyPress, Qt::Key_W,
                                                                        Qt::NoModifier, QStringLiteral("w")));
  ASSERT_TRUE(QTest::qWaitFor([&] { return fired && t.axis().duration() < d0; }, kLoadTimeoutMs));
  EXPECT_NEAR(t.axis().duration(), d0 / Timeline::kZoomStep, 1e-12);
  EXPECT_EQ(t.run_count(), 1) << "still loading";
  EXPECT_TRUE(w.window.loading());
  EXPECT_TRUE(finished.isEmpty());
  EXPECT_EQ(runs.count(), 0);

  gate.open.release();
  ASSERT_TRUE(finished.wait(kLoadTimeoutMs));
  EXPECT_EQ(finished.front().front().toInt(), 1);
  ASSERT_EQ(t.run_count(), 2);
  const RunModel& run = t.run(1);
  EXPECT_EQ(run.label(), "synthetic 64 ranks");
  EXPECT_EQ(run.event_count(), static_cast<std::size_t>(kRanks) * (kKernels + 1));
  ASSERT_EQ(run.rank_count(), kRanks);
  EXPECT_EQ(run.nodes().size(), static_cast<std::size_t>(kRanks / 8));
  for (int r = 0; r < kRanks; ++r) EXPECT_EQ(run.tracks_of_rank(r).size(), 2u) << "phases and compute";
  EXPECT_NEAR(t.axis().duration(), d0 / Timeline::kZoomStep, 1e-12) << "the zoom is kept";
  EXPECT_TRUE(idle_when_finished);
  EXPECT_FALSE(w.window.loading());
  EXPECT_TRUE(w.window.loading_text().isEmpty());
  EXPECT_FALSE(w.progress_bar()->isVisible());
  EXPECT_EQ(w.window.recent_files().front(), QFileInfo(qpath(big)).absoluteFilePath());
  EXPECT_EQ(gate.loads, 1);
}

TEST(GuiLoading, SeveralRunsOpenInTheOrderAskedAndAFailureNamesItsFile) {
  testing::gui_app();
  Window w("gui-loading-order");
  // The largest first: a loader that let the small ones overtake it would reorder them.
  const auto big = write_run(w.dir / "big", kRanks, kKernels);
  const auto malformed = w.dir / "malformed.json";
  std::ofstream(malformed) << "{\"traceEvents\": [\n  {\"ph\": \"X\",, }\n]}";
  QSignalSpy finished(&w.window, &MainWindow::open_finished);
  w.window.open_paths(
      {qpath(big), qpath(malformed), qpath(test_run("demo-tree")), qpath(test_run("demo-ring"))});
  w.window.open_paths({qpath(test_run("allreduce-star"))});  // asked while the first batch loads
  EXPECT_EQ(w.timeline().run_count(), 0);
  EXPECT_TRUE(w.window.loading_text().contains(QStringLiteral("+ 4 more")))
      << w.window.loading_text().toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return finished.count() == 2; }, kLoadTimeoutMs));
  EXPECT_EQ(finished[0][0].toInt(), 3);
  EXPECT_EQ(finished[1][0].toInt(), 1);

  const std::vector<std::filesystem::path> expected = {
      big / "trace.json", test_run("demo-tree") / "trace.json", test_run("demo-ring") / "trace.json",
      test_run("allreduce-star") / "trace.json"};
  ASSERT_EQ(w.timeline().run_count(), static_cast<int>(expected.size()));
  for (int i = 0; i < w.timeline().run_count(); ++i)
    EXPECT_EQ(w.timeline().run(i).trace_file(), expected[static_cast<std::size_t>(i)]) << i;

  QMessageBox* box = w.window.error_dialog();
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->isVisible());
  const std::string text = box->text().toStdString();
  EXPECT_NE(text.find(malformed.string() + ":2:"), std::string::npos) << text;
  EXPECT_NE(text.find("malformed JSON"), std::string::npos) << text;
  EXPECT_EQ(text.find("demo-tree"), std::string::npos) << "names the bad file only: " << text;
}

TEST(GuiLoading, ATruncatedTraceReadInTheBackgroundGetsTheErrorDialog) {
  testing::gui_app();
  Window w("gui-loading-truncated");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  const auto big = write_run(w.dir / "big", kRanks, kKernels) / "trace.json";
  const auto truncated = w.dir / "truncated.json";
  std::filesystem::copy_file(big, truncated);
  std::filesystem::resize_file(truncated, std::filesystem::file_size(big) * 3 / 5);

  QSignalSpy finished(&w.window, &MainWindow::open_finished);
  w.window.open_paths({qpath(truncated)});
  EXPECT_TRUE(w.window.loading());
  EXPECT_EQ(w.window.error_dialog(), nullptr) << "no verdict before the file is read";
  ASSERT_TRUE(finished.wait(kLoadTimeoutMs));
  EXPECT_EQ(finished.front().front().toInt(), 0);
  QMessageBox* box = w.window.error_dialog();
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->isVisible());
  const std::string text = box->text().toStdString();
  EXPECT_NE(text.find(truncated.string()), std::string::npos) << "names the file: " << text;
  EXPECT_NE(text.find("truncated"), std::string::npos) << text;
  EXPECT_EQ(w.timeline().run_count(), 1) << "the open run stays";
  EXPECT_FALSE(w.window.loading());
}

TEST(GuiLoading, ClosingTheWindowWhileALoadRunsIsSafe) {
  testing::gui_app();
  QApplication::setQuitOnLastWindowClosed(false);  // the test's event loops must keep working
  Gate gate;
  const testing::ScratchDir dir("gui-loading-close");
  const auto big = write_run(dir / "big", kRanks, kKernels);
  auto window = std::make_unique<MainWindow>(qpath(dir / "settings.ini"));
  window->show();
  window->loader().set_worker_hook(gate.hook());
  QObject receiver;
  bool finished = false;
  QObject::connect(window.get(), &MainWindow::open_finished, &receiver, [&] { finished = true; });
  window->open_paths({qpath(big), qpath(test_run("demo-ring"))});  // demo-ring waits behind big
  ASSERT_TRUE(gate.entered.tryAcquire(1, kLoadTimeoutMs));
  window->close();
  // The destructor waits for the running load; let it go from elsewhere, whenever that is.
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gate.open.release();
  });
  window.reset();
  release.join();
  QTest::qWait(50);  // any stray queued delivery would arrive now
  EXPECT_FALSE(finished) << "nothing is delivered once the window is gone";
  EXPECT_EQ(gate.loads, 1) << "the queued run is dropped, not read";
}

}  // namespace
}  // namespace dmlsim::gui
