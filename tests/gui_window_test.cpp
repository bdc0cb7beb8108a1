// The GUI's view half on Qt's offscreen platform: keyboard, wheel and mouse change the visible range
// as they should, a click selects the event under it, a range selection fills the summary panel,
// the demo renders with its lane colours, exports work, bad files get an error dialog, drag and
// drop and recent files open runs, and the compare view shows validate's per-phase numbers.
#include <QApplication>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QHelpEvent>
#include <QMimeData>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QTest>
#include <QToolTip>
#include <QUrl>
#include <QWheelEvent>
#include <cmath>
#include <map>
#include <tuple>

#include "core/phase_stats.hpp"
#include "core/trace_reader.hpp"
#include "gui/compare_panel.hpp"
#include "gui/export.hpp"
#include "gui/legend_widget.hpp"
#include "gui/main_window.hpp"
#include "gui/palette.hpp"
#include "gui/summary_panel.hpp"
#include "gui/timeline_painter.hpp"
#include "gui/timeline_widget.hpp"
#include "gui_test_support.hpp"
#include "gui_window_support.hpp"

namespace dmlsim::gui {
namespace {

using testing::open_and_wait;
using testing::test_run;

using testing::qpath;

using Window = testing::TestWindow;

void send_mouse(QWidget* w, QEvent::Type type, QPoint pos, Qt::MouseButton button, Qt::MouseButtons buttons,
                Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
  QMouseEvent e(type, QPointF(pos), w->mapToGlobal(QPointF(pos)), button, buttons, modifiers);
  QApplication::sendEvent(w, &e);
}

void drag(QWidget* w, QPoint from, QPoint to, Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
  send_mouse(w, QEvent::MouseButtonPress, from, Qt::LeftButton, Qt::LeftButton, modifiers);
  const QPoint mid = (from + to) / 2;
  send_mouse(w, QEvent::MouseMove, mid, Qt::NoButton, Qt::LeftButton, modifiers);
  send_mouse(w, QEvent::MouseMove, to, Qt::NoButton, Qt::LeftButton, modifiers);
  send_mouse(w, QEvent::MouseButtonRelease, to, Qt::LeftButton, Qt::NoButton, modifiers);
}

void click(QWidget* w, QPoint at) {
  send_mouse(w, QEvent::MouseButtonPress, at, Qt::LeftButton, Qt::LeftButton);
  send_mouse(w, QEvent::MouseButtonRelease, at, Qt::LeftButton, Qt::NoButton);
}

void wheel(QWidget* w, QPoint at, QPoint angle, Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
  QWheelEvent e(QPointF(at), w->mapToGlobal(QPointF(at)), QPoint(), angle, Qt::NoButton, modifiers,
                Qt::NoScrollPhase, false);
  QApplication::sendEvent(w, &e);
}

// The row of a rank's track of `lane`, and the widget point at time t on it.
const Row* track_row(const Timeline& t, int run, int rank, core::Lane lane) {
  for (const Row& row : t.layout().rows()) {
    if (row.kind == RowKind::track && row.run == run && row.rank == rank &&
        t.run(run).tracks()[row.track].lane() == lane)
      return &row;
  }
  return nullptr;
}
QPoint point_at(const Timeline& t, const Row& row, double display_time) {
  return {kGutterWidth + static_cast<int>(std::lround(t.axis().to_x(display_time))),
          kRulerHeight + row.y + row.height / 2 - t.scroll_y()};
}

// The longest event of a track.
std::size_t longest(const Track& track) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < track.size(); ++i) {
    if (track.end(i) - track.start(i) > track.end(best) - track.start(best)) best = i;
  }
  return best;
}

TEST(GuiWindow, KeyboardZoomAndPanChangeTheVisibleRange) {
  testing::gui_app();
  Window w("gui-keys");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  Timeline& t = w.timeline();
  const RunModel& run = t.run(0);
  // Opened zoomed to fit: the run with a 2 % margin.
  const double span = run.end_time() - run.start_time();
  EXPECT_NEAR(t.axis().start(), run.start_time() - 0.02 * span, 1e-9);
  EXPECT_NEAR(t.axis().end(), run.end_time() + 0.02 * span, 1e-9);

  const double d0 = t.axis().duration(), c0 = t.axis().start() + d0 / 2;
  QTest::keyClick(w.widget(), Qt::Key_W);
  EXPECT_NEAR(t.axis().duration(), d0 / Timeline::kZoomStep, 1e-12);
  EXPECT_NEAR(t.axis().start() + t.axis().duration() / 2, c0, 1e-9) << "zooms around the middle";
  QTest::keyClick(w.widget(), Qt::Key_Plus);
  EXPECT_NEAR(t.axis().duration(), d0 / (Timeline::kZoomStep * Timeline::kZoomStep), 1e-12);
  QTest::keyClick(w.widget(), Qt::Key_S);
  QTest::keyClick(w.widget(), Qt::Key_Minus);
  EXPECT_NEAR(t.axis().duration(), d0, 1e-12);

  const double s0 = t.axis().start();
  QTest::keyClick(w.widget(), Qt::Key_D);
  EXPECT_NEAR(t.axis().start(), s0 + Timeline::kPanStep * d0, 1e-12);
  EXPECT_NEAR(t.axis().duration(), d0, 1e-12);
  QTest::keyClick(w.widget(), Qt::Key_A);
  QTest::keyClick(w.widget(), Qt::Key_Left);
  EXPECT_NEAR(t.axis().start(), s0 - Timeline::kPanStep * d0, 1e-12);

  QTest::keyClick(w.widget(), Qt::Key_W);
  QTest::keyClick(w.widget(), Qt::Key_F);
  EXPECT_NEAR(t.axis().start(), s0, 1e-12) << "F zooms to fit again";
  EXPECT_NEAR(t.axis().duration(), d0, 1e-12);

  ASSERT_GT(t.max_scroll_y(), 0) << "64 ranks do not fit in 900 pixels";
  QTest::keyClick(w.widget(), Qt::Key_End);
  EXPECT_EQ(t.scroll_y(), t.max_scroll_y());
  QTest::keyClick(w.widget(), Qt::Key_Home);
  EXPECT_EQ(t.scroll_y(), 0);
  QTest::keyClick(w.widget(), Qt::Key_PageDown);
  EXPECT_EQ(t.scroll_y(), t.viewport_height());
}

TEST(GuiWindow, WheelZoomsAroundTheCursorAndDragPans) {
  testing::gui_app();
  Window w("gui-wheel");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  Timeline& t = w.timeline();
  const QPoint at(kGutterWidth + 300, 200);
  const double under = t.axis().to_time(300);
  const double d0 = t.axis().duration();
  wheel(w.widget(), at, QPoint(0, 120));
  EXPECT_NEAR(t.axis().to_time(300), under, 1e-12) << "the time under the cursor stays";
  EXPECT_NEAR(t.axis().duration(), d0 / std::pow(1.0015, 120), 1e-12);
  EXPECT_LT(t.axis().duration(), d0);
  wheel(w.widget(), at, QPoint(0, -120));
  EXPECT_NEAR(t.axis().duration(), d0, 1e-12);
  EXPECT_NEAR(t.axis().to_time(300), under, 1e-12);

  wheel(w.widget(), at, QPoint(0, -120), Qt::ShiftModifier);
  EXPECT_EQ(t.scroll_y(), 120) << "Shift+wheel scrolls";
  EXPECT_NEAR(t.axis().duration(), d0, 1e-12);

  const double s0 = t.axis().start(), spp = t.axis().seconds_per_pixel();
  drag(w.widget(), QPoint(kGutterWidth + 500, 400), QPoint(kGutterWidth + 380, 350));
  EXPECT_NEAR(t.axis().start(), s0 + 120 * spp, 1e-12) << "dragging left shows later times";
  EXPECT_NEAR(t.axis().duration(), d0, 1e-12);
  EXPECT_EQ(t.scroll_y(), 170) << "and dragging up scrolls down";
}

TEST(GuiWindow, ClickSelectsTheEventAndHoverDescribesIt) {
  testing::gui_app();
  Window w("gui-click");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  Timeline& t = w.timeline();
  const Row* row = track_row(t, 0, 2, core::Lane::compute);
  ASSERT_NE(row, nullptr);
  const Track& track = t.run(0).tracks()[row->track];
  const std::size_t i = longest(track);
  const std::uint32_t event = track.event(i);
  const core::TraceEvent& e = t.run(0).event(event);
  t.set_visible_range(e.start - e.duration(), e.end + e.duration());
  const QPoint at = point_at(t, *row, (e.start + e.end) / 2);

  click(w.widget(), at);
  ASSERT_TRUE(t.selected().has_value());
  EXPECT_EQ(*t.selected(), (Hit{0, event}));
  const QString name = QString::fromUtf8(t.run(0).trace().text(e.name).data());
  EXPECT_TRUE(w.window.summary_panel()->event_text().contains(name))
      << w.window.summary_panel()->event_text().toStdString();

  const QString tip = w.widget()->tooltip_at(at);
  for (const char* field : {"name", "rank", "start", "duration", "bytes", "flops", "iteration"})
    EXPECT_TRUE(tip.contains(QString::fromUtf8(field))) << field << " missing in " << tip.toStdString();
  EXPECT_TRUE(tip.contains(name));
  EXPECT_TRUE(tip.contains(QStringLiteral("<td>2</td>"))) << "rank 2";
  QHelpEvent help(QEvent::ToolTip, at, w.widget()->mapToGlobal(at));
  QApplication::sendEvent(w.widget(), &help);
  EXPECT_TRUE(QToolTip::isVisible());
  EXPECT_EQ(QToolTip::text(), tip);

  // A double click zooms to the event (with a 10 % margin each side).
  send_mouse(w.widget(), QEvent::MouseButtonDblClick, at, Qt::LeftButton, Qt::LeftButton);
  EXPECT_NEAR(t.axis().start(), e.start - 0.1 * e.duration(), 1e-12);
  EXPECT_NEAR(t.axis().end(), e.end + 0.1 * e.duration(), 1e-12);

  // A click where there is no event (after the run's end) clears the selection.
  t.set_visible_range(t.run(0).end_time() + 1, t.run(0).end_time() + 2);
  click(w.widget(), at);
  EXPECT_FALSE(t.selected().has_value());
  EXPECT_TRUE(w.widget()->tooltip_at(at).isEmpty());
}

TEST(GuiWindow, RangeSelectionFillsTheSummaryPanel) {
  testing::gui_app();
  Window w("gui-range");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  Timeline& t = w.timeline();
  const QPoint from(kGutterWidth + 200, 150), to(kGutterWidth + 600, 300);
  drag(w.widget(), from, to, Qt::ShiftModifier);
  ASSERT_TRUE(t.range().has_value());
  EXPECT_NEAR(t.range()->start, t.axis().to_time(200), 1e-12);
  EXPECT_NEAR(t.range()->end, t.axis().to_time(600), 1e-12);
  const RangeSummaryModel& model = w.window.summary_panel()->range_model();
  ASSERT_EQ(model.rowCount(), 64);
  const RangeSummary expected = summarize_range(t.run(0), t.range()->start, t.range()->end);
  for (int r = 0; r < 64; ++r) {
    EXPECT_DOUBLE_EQ(model.summary().ranks[static_cast<std::size_t>(r)].compute_s,
                     expected.ranks[static_cast<std::size_t>(r)].compute_s);
    EXPECT_DOUBLE_EQ(model.summary().ranks[static_cast<std::size_t>(r)].idle_s,
                     expected.ranks[static_cast<std::size_t>(r)].idle_s);
  }
  const QString totals = w.window.summary_panel()->totals_text();
  EXPECT_TRUE(totals.contains(QStringLiteral("idle share %1 %").arg(100 * expected.idle_share, 0, 'f', 1)))
      << totals.toStdString();
  EXPECT_FALSE(totals.contains(QStringLiteral("bubble"))) << "data parallel: no pipeline bubble";
  EXPECT_TRUE(totals.contains(QStringLiteral("busy (compute) %1 %").arg(expected.busy_percent, 0, 'f', 1)));

  // A drag on the ruler selects too; Escape clears.
  drag(w.widget(), QPoint(kGutterWidth + 100, 10), QPoint(kGutterWidth + 50, 12));
  ASSERT_TRUE(t.range().has_value());
  EXPECT_NEAR(t.range()->start, t.axis().to_time(50), 1e-12) << "start and end are ordered";
  EXPECT_NEAR(t.range()->end, t.axis().to_time(100), 1e-12);
  QTest::keyClick(w.widget(), Qt::Key_Escape);
  EXPECT_FALSE(t.range().has_value());
  EXPECT_EQ(model.rowCount(), 0);
}

TEST(GuiWindow, ClickOnANodeHeaderCollapsesIt) {
  testing::gui_app();
  Window w("gui-collapse");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  Timeline& t = w.timeline();
  const int rows = static_cast<int>(t.layout().rows().size());
  const Row& node = t.layout().rows()[static_cast<std::size_t>(t.layout().row_of_node(0, 0))];
  click(w.widget(), QPoint(20, kRulerHeight + node.y + node.height / 2));
  EXPECT_TRUE(t.collapsed(0, 0));
  EXPECT_EQ(static_cast<int>(t.layout().rows().size()), rows - 8 * 5) << "8 ranks × 5 tracks hidden";
  click(w.widget(), QPoint(20, kRulerHeight + node.y + node.height / 2));
  EXPECT_FALSE(t.collapsed(0, 0));
}

// Pixels of exactly this colour.
int count_colour(const QImage& image, QColor colour) {
  const QRgb want = colour.rgb();
  int n = 0;
  for (int y = 0; y < image.height(); ++y) {
    const auto* line = reinterpret_cast<const QRgb*>(image.constScanLine(y));
    for (int x = 0; x < image.width(); ++x) n += (line[x] | 0xff000000u) == want;
  }
  return n;
}

// Every row of `t` painted at 1600 pixels wide, zoomed to fit: the image and what was drawn.
struct Painted {
  QImage image;
  PaintStats stats;
};
Painted paint_whole(Timeline& t) {
  const QSize size(1600, kRulerHeight + t.layout().height() + 10);
  t.set_viewport(size.width() - kGutterWidth, size.height() - kRulerHeight);
  t.zoom_to_fit();
  Painted out{QImage(size, QImage::Format_RGB32), {}};
  QPainter p(&out.image);
  out.stats = paint_timeline(p, t, size);
  return out;
}

TEST(GuiRender, DemoRendersOffscreenWithTheLaneColours) {
  testing::gui_app();
  ASSERT_TRUE(testing::fonts_work()) << "no font: install fonts-dejavu-core";
  Timeline t;
  t.add_run(RunModel::load(test_run("demo-ring")));
  const QSize size(1600, 1000);
  t.set_viewport(size.width() - kGutterWidth, size.height() - kRulerHeight);
  t.zoom_to_fit();
  const QImage image = render_timeline(t, size).convertToFormat(QImage::Format_RGB32);
  const auto file = testing::output_dir() / "demo-timeline.png";
  ASSERT_TRUE(image.save(qpath(file))) << file;

  int not_white = 0, dark = 0;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < image.width(); ++x) {
      const QColor c = image.pixelColor(x, y);
      not_white += c != QColor(Qt::white);
      dark += c.lightness() < 60;
    }
  }
  EXPECT_GT(not_white, image.width() * image.height() / 2) << "mostly lanes, not blank";
  EXPECT_GT(dark, 2000) << "labels were drawn";
  for (EventKind kind : {EventKind::forward, EventKind::backward, EventKind::optimizer, EventKind::all_reduce,
                         EventKind::gradient_sync, EventKind::iteration, EventKind::idle}) {
    EXPECT_GT(count_colour(image, colour_of(kind)), 1000) << to_string(kind) << " is missing from " << file;
  }
  EXPECT_EQ(count_colour(image, colour_of(EventKind::send)), 0) << "the demo traces kernels, not messages";
}

TEST(GuiRender, ElasticRunsShowEpochsLostWorkAndDowntime) {
  testing::gui_app();
  Timeline t;
  t.add_run(RunModel::load(test_run("elastic-live")));
  Painted painted = paint_whole(t);
  EXPECT_EQ(painted.stats.epochs, 5);
  EXPECT_EQ(painted.stats.lost_spans, 1);
  const auto file = testing::output_dir() / "elastic-timeline.png";
  ASSERT_TRUE(painted.image.save(qpath(file))) << file;
  EXPECT_GT(count_colour(painted.image, colour_of(EventKind::downtime)), 100) << file;
  // Nothing is lost before the failure: zoomed on the first epoch, no span is shaded.
  t.set_visible_range(0, t.run(0).epochs()[1].start);
  QPainter p(&painted.image);
  EXPECT_EQ(paint_timeline(p, t, painted.image.size()).lost_spans, 0);
}

// A thousand phones: collapsed, each class is one band with a tick for every late, dropped or
// offline task; expanded, every visible client lane marks each of its tasks.
TEST(GuiRender, FederatedClassesMarkTheirClientsTasks) {
  testing::gui_app();
  Timeline t;
  t.add_run(RunModel::load(test_run("federated-phones")));
  const RunModel& run = t.run(0);
  t.set_all_collapsed(true);
  int troubled = 0;
  for (const ClientTask& task : run.client_tasks()) troubled += task.outcome != TaskOutcome::report;
  ASSERT_GT(troubled, 0);
  const Painted painted = paint_whole(t);
  EXPECT_EQ(painted.stats.task_marks, troubled) << "one tick per task gone wrong";
  const auto file = testing::output_dir() / "federated-classes.png";
  ASSERT_TRUE(painted.image.save(qpath(file))) << file;
  EXPECT_GT(count_colour(painted.image, colour_of(TaskOutcome::late)), 20) << file;
  EXPECT_GT(count_colour(painted.image, colour_of(TaskOutcome::dropped)), 20) << file;

  // Expanded: a marker per task of every client whose first lane is in view.
  t.set_all_collapsed(false);
  const QSize window(1600, 900);
  t.set_viewport(window.width() - kGutterWidth, window.height() - kRulerHeight);
  t.zoom_to_fit();
  int expected = 0;
  const auto [first, last] = t.layout().rows_between(t.scroll_y(), t.scroll_y() + window.height());
  for (std::size_t i = first; i < last; ++i) {
    const Row& row = t.layout().rows()[i];
    if (row.kind == RowKind::track && row.first_of_rank)
      expected += static_cast<int>(run.tasks_of_client(row.rank).size());
  }
  ASSERT_GT(expected, 0) << "some of the first clients in view ran a task";
  // A marker under the pointer is the server's record of that task: its outcome, round and client.
  for (std::size_t i = first; i < last; ++i) {
    const Row& row = t.layout().rows()[i];
    if (row.kind != RowKind::track || !row.first_of_rank || run.tasks_of_client(row.rank).empty()) continue;
    const ClientTask& task = run.client_tasks()[run.tasks_of_client(row.rank).front()];
    const auto hit = t.hit_test(t.axis().to_x(task.time - t.offset(0)), row.y - t.scroll_y() + 2);
    ASSERT_TRUE(hit.has_value()) << "rank " << row.rank;
    EXPECT_EQ(hit->event, task.event);
    const core::TraceEvent& record = run.event(hit->event);
    EXPECT_EQ(record.attributes.get(core::Attribute::client), row.rank);
    EXPECT_EQ(record.iteration, task.round);
    EXPECT_EQ(record.rank, 1000) << "the server's";
  }
  QImage top(window, QImage::Format_RGB32);
  QPainter p(&top);
  EXPECT_EQ(paint_timeline(p, t, window).task_marks, expected);
}

// Memory in use is a line per rank, scaled to the run's peak (trace.csv's largest sample): one
// point per pixel column at most, and drawn for every rank in view.
TEST(GuiRender, MemoryCountersAreLinesUpToTheRunsPeak) {
  testing::gui_app();
  Timeline t;
  t.add_run(RunModel::load(test_run("demo-ring")));
  const RunModel& run = t.run(0);
  double peak = 0;
  std::map<int, int> samples;  // by rank
  for (const testing::CsvEvent& e : testing::read_trace_csv(test_run("demo-ring") / "trace.csv")) {
    if (e.lane != "counter" || e.name != "memory in use") continue;
    peak = std::max(peak, e.value);
    ++samples[e.rank];
  }
  ASSERT_GT(peak, 0);
  std::uint32_t name = 0;
  while (run.trace().text(name) != "memory in use") ++name;
  EXPECT_NEAR(run.counter_peak(name), peak, peak * 1e-12);

  t.collapse_nodes_from(1);  // node 0's eight ranks in view
  const Painted painted = paint_whole(t);
  int samples_in_view = 0;
  for (int r = 0; r < 8; ++r) samples_in_view += samples[r];
  EXPECT_GT(painted.stats.counter_samples, 8 * 20) << "every rank's line has its steps";
  EXPECT_LE(painted.stats.counter_samples,
            std::min(samples_in_view, 8 * (painted.image.width() - kGutterWidth + 1)));
  EXPECT_GT(count_colour(painted.image, colour_of(EventKind::counter)), 8 * 500) << "a line across each lane";
  const auto file = testing::output_dir() / "memory-lines.png";
  ASSERT_TRUE(painted.image.save(qpath(file))) << file;
}

// Grouped by stage, a pipeline's bubbles are hatched on its ranks' lanes; a run without a pipeline
// has none.
TEST(GuiRender, PipelineBubblesAreHatchedAndStagesGrouped) {
  testing::gui_app();
  Timeline t;
  t.set_grouping(LaneGrouping::stage);
  t.add_run(RunModel::load(test_run("hybrid")));
  ASSERT_EQ(t.run(0).nodes().size(), 4u) << "a run opened after the choice is grouped so too";
  t.collapse_nodes_from(1);  // stage 0's 16 ranks in view
  const Painted painted = paint_whole(t);
  std::size_t rows = 0;
  for (const Row& row : t.layout().rows())
    rows += row.kind == RowKind::track && !t.run(0).bubbles_of(row.rank).empty();
  ASSERT_GT(rows, 0u);
  const std::size_t waits = t.run(0).bubbles_of(0).size();
  EXPECT_GE(static_cast<std::size_t>(painted.stats.bubble_spans), rows) << "every lane of every rank in view";
  EXPECT_LE(static_cast<std::size_t>(painted.stats.bubble_spans), rows * waits);
  const auto file = testing::output_dir() / "pipeline-bubbles.png";
  ASSERT_TRUE(painted.image.save(qpath(file))) << file;

  Timeline demo;
  demo.add_run(RunModel::load(test_run("demo-ring")));
  EXPECT_EQ(paint_whole(demo).stats.bubble_spans, 0);
}

// A range of a pipeline run states its bubble's share beside the idle share.
TEST(GuiWindow, RangeOfAPipelineStatesItsBubble) {
  testing::gui_app();
  Window w("gui-bubble");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("hybrid"))}), 1);
  Timeline& t = w.timeline();
  const IterationSpan it = t.run(0).iterations().at(0);
  t.set_range(RangeSelection{0, it.start, it.end});
  const RangeSummary expected = summarize_range(t.run(0), it.start, it.end);
  ASSERT_GT(expected.bubble_share, 0);
  const QString totals = w.window.summary_panel()->totals_text();
  EXPECT_TRUE(
      totals.contains(QStringLiteral("pipeline bubble %1 %").arg(100 * expected.bubble_share, 0, 'f', 1)))
      << totals.toStdString();
}

// The legend lists, after the event kinds, what is drawn over them: the pipeline bubble's hatch and
// a counter's line (a step in the counter colour, which no event kind's swatch uses).
TEST(GuiRender, LegendShowsTheBubbleAndTheCounterLine) {
  testing::gui_app();
  LegendWidget legend;
  legend.resize(1200, legend.heightForWidth(1200));
  const QImage image = legend.grab().toImage().convertToFormat(QImage::Format_RGB32);
  EXPECT_GT(count_colour(image, colour_of(EventKind::forward)), 50) << "an event kind's swatch";
  EXPECT_GT(count_colour(image, colour_of(EventKind::counter)), 10) << "the counter's step";
  EXPECT_GT(legend.heightForWidth(300), legend.heightForWidth(1200)) << "items flow over lines";
}

TEST(GuiRender, MessageArrowsToggle) {
  testing::gui_app();
  const auto dir = test_run("allreduce-star");
  Timeline t;
  t.add_run(RunModel::load(dir));
  // A canvas tall enough for every row: each message in view gets its arrow.
  const QSize size(1400, kRulerHeight + t.layout().height() + 10);
  t.set_viewport(size.width() - kGutterWidth, size.height() - kRulerHeight);
  // Independently, from trace.csv: a send and its receive pair up by (sender, receiver, comm, tag,
  // seq); a message is in view when [send start, receive end] meets it.
  std::map<std::tuple<int, int, std::string, int, std::uint64_t>, std::pair<double, double>> messages;
  for (const testing::CsvEvent& e : testing::read_trace_csv(dir / "trace.csv")) {
    if (e.lane == "send") messages[{e.rank, e.peer, e.comm, e.tag, e.seq}].first = e.start;
    if (e.lane == "recv") messages[{e.peer, e.rank, e.comm, e.tag, e.seq}].second = e.end;
  }
  ASSERT_EQ(messages.size(), t.run(0).messages().size());
  double first = 1e9;
  for (const auto& [key, m] : messages) first = std::min(first, m.first);
  t.set_visible_range(first, first + 2e-3);
  int in_view = 0;
  for (const auto& [key, m] : messages) in_view += m.first < t.axis().end() && m.second >= t.axis().start();
  EXPECT_EQ(in_view, 16) << "the ring's first step: one message from each of the 16 ranks";
  QImage image(size, QImage::Format_RGB32);
  {
    QPainter p(&image);
    EXPECT_EQ(paint_timeline(p, t, size).arrows, in_view);
  }
  t.set_arrows_visible(false);
  QPainter p(&image);
  EXPECT_EQ(paint_timeline(p, t, size).arrows, 0);
}

TEST(GuiExport, WritesPngAndSvgOfTheVisibleTimeline) {
  testing::gui_app();
  Window w("gui-export");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring"))}), 1);
  const QString png = qpath(testing::output_dir() / "export.png");
  const QString svg = qpath(testing::output_dir() / "export.svg");
  QFile::remove(png);
  QFile::remove(svg);
  ASSERT_TRUE(w.window.export_png(png).isEmpty());
  ASSERT_TRUE(w.window.export_svg(svg).isEmpty());
  const QImage image(png);
  EXPECT_EQ(image.size(), w.window.canvas_size());
  EXPECT_EQ(image.size(), w.widget()->canvas_size());
  EXPECT_EQ(image.pixelColor(kGutterWidth + 5, 0), QColor(0xf8, 0xf9, 0xfa)) << "the ruler";
  QFile file(svg);
  ASSERT_TRUE(file.open(QIODevice::ReadOnly));
  const QString text = QString::fromUtf8(file.readAll());
  EXPECT_TRUE(text.contains(QStringLiteral("<svg")));
  EXPECT_TRUE(text.contains(QStringLiteral("rank 0")));
  EXPECT_TRUE(text.contains(colour_of(EventKind::forward).name())) << "forward's colour";
  EXPECT_TRUE(
      w.window.export_png(QStringLiteral("/nonexistent-dir/x.png")).contains(QStringLiteral("cannot write")));
}

struct BadRun {
  std::string what;
  std::filesystem::path path;
  std::vector<std::string> message_has;
};

TEST(GuiErrors, BadRunsGetAnErrorDialogNamingTheFileAndTheProblem) {
  testing::gui_app();
  Window w("gui-errors");
  const std::string good = [&] {
    std::ifstream in(test_run("demo-ring") / "trace.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(w.dir / name, std::ios::binary) << text;
    return w.dir / name;
  };
  std::filesystem::create_directories(w.dir / "empty-run");
  const std::vector<BadRun> bad = {
      {"truncated", write("truncated.json", good.substr(0, good.size() / 3)), {"truncated"}},
      {"malformed",
       write("malformed.json", "{\"traceEvents\": [\n  {\"ph\": \"X\",, }\n]}"),
       {":2:", "malformed JSON"}},
      {"missing field",
       write("missing.json",
             R"({"traceEvents":[{"ph":"X","name":"k","ts":1,"dur":2,"args":{"rank":0,"category":"x"}}]})"),
       {"traceEvents[0]", "missing field 'args.lane'"}},
      {"wrong type",
       write(
           "type.json",
           R"({"traceEvents":[{"ph":"X","name":"k","ts":"1","dur":2,"args":{"rank":0,"lane":"compute","category":"x"}}]})"),
       {"field 'ts' must be a number"}},
      {"not a trace", write("array.json", "[1, 2, 3]"), {"not a Chrome trace"}},
      {"binary garbage", write("garbage.json", std::string("\x89PNG\r\n\x1a\n\0\0", 10)), {"malformed JSON"}},
      {"empty", write("empty.json", ""), {"empty file"}},
      {"no trace in the directory", w.dir / "empty-run", {"no trace.json"}},
      {"missing file", w.dir / "does-not-exist.json", {"cannot open"}},
  };
  for (const BadRun& b : bad) {
    SCOPED_TRACE(b.what);
    EXPECT_EQ(open_and_wait(w.window, {qpath(b.path)}), 0);
    QMessageBox* box = w.window.error_dialog();
    ASSERT_NE(box, nullptr);
    EXPECT_TRUE(box->isVisible());
    const std::string text = box->text().toStdString();
    EXPECT_NE(text.find(b.path.string()), std::string::npos) << "names the file: " << text;
    for (const std::string& part : b.message_has) EXPECT_NE(text.find(part), std::string::npos) << text;
    EXPECT_EQ(w.timeline().run_count(), 0);
    box->close();
  }
  // A good run and a bad one: the good one opens, the dialog names the bad one only.
  EXPECT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring")), qpath(bad.front().path)}), 1);
  EXPECT_EQ(w.timeline().run_count(), 1);
  ASSERT_NE(w.window.error_dialog(), nullptr);
  EXPECT_TRUE(w.window.error_dialog()->text().contains(qpath(bad.front().path)));
  EXPECT_FALSE(w.window.error_dialog()->text().contains(qpath(test_run("demo-ring"))));
}

TEST(GuiWindow, OpensDroppedRunsAndRemembersRecentOnes) {
  testing::gui_app();
  Window w("gui-drop");
  auto* mime = new QMimeData;
  mime->setUrls({QUrl::fromLocalFile(qpath(test_run("demo-ring")))});
  QDragEnterEvent enter(QPoint(300, 300), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w.window, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QSignalSpy opened(&w.window, &MainWindow::open_finished);
  QDropEvent drop(QPointF(300, 300), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w.window, &drop);
  delete mime;
  ASSERT_TRUE(opened.wait(testing::kLoadTimeoutMs)) << "the dropped run loads in the background";
  EXPECT_EQ(opened.front().front().toInt(), 1);
  EXPECT_EQ(w.timeline().run_count(), 1);

  const QString ring = QFileInfo(qpath(test_run("demo-ring"))).absoluteFilePath();
  const QString tree = QFileInfo(qpath(test_run("demo-tree") / "trace.json")).absoluteFilePath();
  ASSERT_EQ(w.window.recent_files(), QStringList{ring});
  ASSERT_EQ(open_and_wait(w.window, {tree}), 1);
  EXPECT_EQ(w.window.recent_files(), (QStringList{tree, ring}));
  ASSERT_EQ(open_and_wait(w.window, {ring}), 1);
  EXPECT_EQ(w.window.recent_files(), (QStringList{ring, tree})) << "most recent first, no duplicates";
  // Kept across sessions.
  MainWindow again(qpath(w.dir / "settings.ini"));
  EXPECT_EQ(again.recent_files(), (QStringList{ring, tree}));
}

TEST(GuiCompare, PerPhaseDifferencesEqualValidatesAndIterationsAlign) {
  testing::gui_app();
  Window w("gui-compare");
  ASSERT_EQ(open_and_wait(w.window, {qpath(test_run("demo-ring")), qpath(test_run("demo-tree"))}), 2);
  ComparePanel* panel = w.window.compare_panel();
  EXPECT_TRUE(panel->isVisible()) << "the compare view opens with a second run";
  EXPECT_EQ(panel->run_a(), 0);
  EXPECT_EQ(panel->run_b(), 1);

  // What `dmlsim validate` computes: core::compare_phases on the two traces.
  const auto ring = core::read_chrome_trace(test_run("demo-ring") / "trace.json");
  const auto tree = core::read_chrome_trace(test_run("demo-tree") / "trace.json");
  const auto expected = core::compare_phases(ring, tree);
  const PhaseTableModel& model = panel->table_model();
  ASSERT_EQ(model.rowCount(), static_cast<int>(expected.size()));
  ASSERT_GE(model.rowCount(), 5) << "forward, backward, gradient-sync, optimizer, all-reduce";
  for (int i = 0; i < model.rowCount(); ++i) {
    const auto& e = expected[static_cast<std::size_t>(i)];
    EXPECT_EQ(model.data(model.index(i, PhaseTableModel::phase), Qt::UserRole).toString().toStdString(),
              e.phase);
    EXPECT_EQ(model.data(model.index(i, PhaseTableModel::predicted), Qt::UserRole).toDouble(),
              e.predicted_seconds);
    EXPECT_EQ(model.data(model.index(i, PhaseTableModel::measured), Qt::UserRole).toDouble(),
              e.measured_seconds);
    EXPECT_EQ(model.data(model.index(i, PhaseTableModel::error_percent), Qt::UserRole).toDouble(),
              e.error_percent);
  }
  // Tree all-reduce is slower than ring in the demo: its gradient sync is longer (A = ring is shorter).
  int all_reduce_rows = 0;
  for (const auto& e : expected) {
    if (e.phase == "all-reduce") {
      ++all_reduce_rows;
      EXPECT_LT(e.error_percent, 0) << "ring vs tree";
    }
  }
  EXPECT_EQ(all_reduce_rows, 1);

  // Stacked on one axis: the iterations are aligned; switch to aligning iteration 1.
  const auto iteration_start = [](const std::filesystem::path& dir, int iteration) {
    double start = 1e9;
    for (const auto& e : testing::read_trace_csv(dir / "trace.csv")) {
      if (e.lane == "phase" && e.name == "iteration" && e.iteration == iteration)
        start = std::min(start, e.start);
    }
    return start;
  };
  Timeline& t = w.timeline();
  EXPECT_NEAR(t.offset(1),
              iteration_start(test_run("demo-tree"), 0) - iteration_start(test_run("demo-ring"), 0), 1e-12);
  t.set_align_iteration(1);
  const double shift = iteration_start(test_run("demo-tree"), 1) - iteration_start(test_run("demo-ring"), 1);
  EXPECT_GT(shift, 0.05) << "tree's first iteration is longer";
  EXPECT_NEAR(t.offset(1), shift, 1e-12);
  EXPECT_NEAR(t.run(1).iterations()[1].start - t.offset(1), t.run(0).iterations()[1].start, 1e-12);
  int run_rows = 0;
  for (const Row& row : t.layout().rows()) run_rows += row.kind == RowKind::run;
  EXPECT_EQ(run_rows, 2);
}

// Two runs of one experiment carry one trace label: the GUI tells them apart by their directories,
// and calls each what it says it is (both simulated here, not "predicted" and "measured").
TEST(GuiCompare, RunsOfOneLabelAreToldApartAndSayWhatTheyAre) {
  testing::gui_app();
  Window w("gui-labels");
  for (const char* d : {"one", "two"}) {
    std::filesystem::create_directories(w.dir / d);
    std::filesystem::copy(test_run("demo-ring"), w.dir / d / "ring",
                          std::filesystem::copy_options::recursive);
  }
  ASSERT_EQ(open_and_wait(w.window, {qpath(w.dir / "one" / "ring"), qpath(w.dir / "two" / "ring")}), 2);
  Timeline& t = w.timeline();
  const std::string label = t.run(0).label();
  EXPECT_EQ(t.run(1).label(), label);
  EXPECT_EQ(t.display_label(0), label + " — one/ring");
  EXPECT_EQ(t.display_label(1), label + " — two/ring");
  ComparePanel* panel = w.window.compare_panel();
  EXPECT_EQ(panel->a_title(), QStringLiteral("A (simulated)"));
  EXPECT_EQ(panel->b_title(), QStringLiteral("B (simulated)"));
  EXPECT_TRUE(w.window.windowTitle().contains(QString::fromStdString(label + " — two/ring")))
      << w.window.windowTitle().toStdString();
}

TEST(GuiCompare, ReadsValidatesReportWhenPresent) {
  testing::gui_app();
  Window w("gui-report");
  const auto run = w.dir / "measured";
  std::filesystem::create_directories(run);
  std::filesystem::copy_file(test_run("demo-ring") / "trace.json", run / "trace.json");
  std::ofstream(run / std::string(core::kValidationReportFile))
      << R"({"phases": [{"phase": "forward", "predicted_s": 0.03, "measured_s": 0.024, "error_percent": 25.0},
                       {"phase": "backward", "predicted_s": 0.05, "measured_s": 0, "error_percent": null}]})";
  ASSERT_EQ(open_and_wait(w.window, {qpath(run), qpath(test_run("demo-tree"))}), 2);
  const PhaseTableModel& model = w.window.compare_panel()->table_model();
  ASSERT_EQ(model.rowCount(), 2);
  EXPECT_EQ(model.data(model.index(0, PhaseTableModel::error_percent), Qt::UserRole).toDouble(), 25.0);
  EXPECT_EQ(model.data(model.index(0, PhaseTableModel::error_percent)).toString(),
            QStringLiteral("+25.00 %"));
  EXPECT_EQ(model.data(model.index(1, PhaseTableModel::error_percent)).toString(), QStringLiteral("—"));
  EXPECT_TRUE(w.window.compare_panel()->source_text().contains(
      QString::fromUtf8(core::kValidationReportFile.data())));

  // An unreadable report: said so, and the table is computed from the traces.
  std::ofstream(run / std::string(core::kValidationReportFile)) << "{\"phases\": [{\"phase\": 3}]}";
  w.timeline().clear_runs();
  ASSERT_EQ(open_and_wait(w.window, {qpath(run), qpath(test_run("demo-tree"))}), 2);
  EXPECT_TRUE(w.window.compare_panel()->source_text().contains(QStringLiteral("unreadable")));
  EXPECT_GE(model.rowCount(), 5);

  // validate's layout: <case>/validation.json beside <case>/sim/trace.json.
  const auto sim = w.dir / "case" / "sim";
  std::filesystem::create_directories(sim);
  std::filesystem::copy_file(test_run("demo-ring") / "trace.json", sim / "trace.json");
  std::ofstream(w.dir / "case" / std::string(core::kValidationReportFile))
      << R"({"case": "x", "phases": [{"phase": "optimizer", "predicted_s": 0.5, "measured_s": 0.4, "error_percent": 25}]})";
  w.timeline().clear_runs();
  ASSERT_EQ(open_and_wait(w.window, {qpath(sim), qpath(test_run("demo-tree"))}), 2);
  ASSERT_EQ(model.rowCount(), 1);
  EXPECT_EQ(model.data(model.index(0, PhaseTableModel::phase), Qt::UserRole).toString(),
            QStringLiteral("optimizer"));
}

}  // namespace
}  // namespace dmlsim::gui
