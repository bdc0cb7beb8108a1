#include "gui/timeline_painter.hpp"

#include <QFontMetrics>
#include <QPainterPath>
#include <algorithm>
#include <cmath>
#include <map>

#include "core/summary.hpp"
#include "core/units.hpp"
#include "gui/event_text.hpp"
#include "gui/lod.hpp"
#include "gui/palette.hpp"
#include "gui/time_axis.hpp"

namespace dmlsim::gui {
namespace {

constexpr QRgb kRunHeader = 0xffdde3ea;
constexpr QRgb kNodeHeader = 0xffeef1f4;
constexpr QRgb kRuler = 0xfff8f9fa;
constexpr QRgb kGridLine = 0x1e000000;
constexpr QRgb kIterationLine = 0x80404850;
constexpr QRgb kRangeFill = 0x302f6fdf;
constexpr QRgb kRangeEdge = 0xff2f6fdf;
constexpr QRgb kArrow = 0xb0202830;
constexpr double kOpaqueArrows = 100;  // up to this many arrows are drawn at full opacity
constexpr int kFadedArrowAlpha = 50;
constexpr int kLabelMinPixels = 44;       // events narrower than this get no text
constexpr int kNodeBandColumnPixels = 3;  // resolution of a collapsed node's activity band
constexpr double kTickSpacingPixels = 100;
constexpr QRgb kEpochLine = 0xff1f4e79;      // an elastic epoch's start: dark blue
constexpr QRgb kLostWorkTint = 0x30c00000;   // lost work: a light red wash...
constexpr QRgb kLostWorkHatch = 0x90c00000;  // ...hatched
constexpr int kRunTitleHeight = 18;          // the run header's first line; iteration labels go below it

QString qstr(std::string_view s) {
  return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
}

class Painter {
 public:
  Painter(QPainter& p, const Timeline& t, const QSize& size)
      : p_(p), t_(t), size_(size), axis_(t.axis()), events_left_(kGutterWidth), events_top_(kRulerHeight) {
    small_ = p_.font();
    small_.setPointSizeF(7.5);
    bold_ = p_.font();
    bold_.setPointSizeF(8.5);
    bold_.setBold(true);
  }

  PaintStats paint() {
    p_.fillRect(QRect(QPoint(0, 0), size_), Qt::white);
    if (t_.run_count() == 0) {
      p_.setPen(QColor(0x60, 0x68, 0x70));
      p_.drawText(
          QRect(QPoint(0, 0), size_), Qt::AlignCenter,
          QStringLiteral("Open a run: File ▸ Open (Ctrl+O), or drop a trace.json or run directory here"));
      return stats_;
    }
    p_.save();
    p_.setClipRect(QRect(0, events_top_, size_.width(), size_.height() - events_top_));
    rows();
    grid();
    iterations();
    elastic();
    if (t_.arrows_visible()) arrows();
    selection();
    p_.restore();
    ruler();
    range();
    p_.setPen(QColor(0xc0, 0xc6, 0xcc));
    p_.drawLine(events_left_ - 1, 0, events_left_ - 1, size_.height());
    return stats_;
  }

 private:
  int y_of(int content_y) const { return events_top_ + content_y - t_.scroll_y(); }
  double x_of(double display_time) const { return events_left_ + axis_.to_x(display_time); }
  int events_width() const { return size_.width() - events_left_; }

  void rows() {
    const auto [first, last] = t_.layout().rows_between(t_.scroll_y(), t_.scroll_y() + size_.height());
    for (std::size_t i = first; i < last; ++i) {
      const Row& row = t_.layout().rows()[i];
      ++stats_.rows;
      switch (row.kind) {
        case RowKind::run:
          run_header(row);
          break;
        case RowKind::node:
          node_header(row);
          break;
        case RowKind::track:
          track(row);
          break;
      }
    }
  }

  void run_header(const Row& row) {
    const int y = y_of(row.y);
    const RunModel& run = t_.run(row.run);
    p_.fillRect(QRect(0, y, size_.width(), row.height), QColor::fromRgba(kRunHeader));
    p_.setPen(Qt::black);
    p_.setFont(bold_);
    QString text = QStringLiteral("%1   ·   %2 ranks, %3 events")
                       .arg(qstr(t_.display_label(row.run)))
                       .arg(run.rank_count())
                       .arg(static_cast<qulonglong>(run.event_count()));
    // From summary.json, when it is beside the trace: the measured mean and the closed form.
    const nlohmann::json& summary = run.summary();
    if (summary.is_object() && summary.contains("iteration_s") && summary["iteration_s"].is_number()) {
      text += QStringLiteral("   ·   iteration %1")
                  .arg(qstr(format_duration(summary["iteration_s"].get<double>())));
      if (summary.contains("predicted_iteration_s") && summary["predicted_iteration_s"].is_number()) {
        text += QStringLiteral(" (closed form %1)")
                    .arg(qstr(format_duration(summary["predicted_iteration_s"].get<double>())));
      }
    }
    if (t_.offset(row.run) != 0) {
      text += QStringLiteral("   ·   shifted %1 to align iteration %2")
                  .arg(qstr(format_duration(-t_.offset(row.run))))
                  .arg(t_.align_iteration());
    }
    p_.drawText(QRect(6, y, size_.width() - 12, kRunTitleHeight), Qt::AlignVCenter | Qt::AlignLeft, text);
  }

  void node_header(const Row& row) {
    const int y = y_of(row.y);
    const RunModel& run = t_.run(row.run);
    const NodeGroup& node = run.nodes()[static_cast<std::size_t>(row.node)];
    const bool collapsed = t_.collapsed(row.run, row.node);
    p_.fillRect(QRect(0, y, size_.width(), row.height), QColor::fromRgba(kNodeHeader));
    p_.setPen(QColor(0x30, 0x36, 0x3c));
    p_.setFont(small_);
    // A node, an edge platform's client class ("phone-4g · 300 clients") or a mesh group ("stage 2").
    const bool clients = !node.host_class.empty();
    const bool one = node.ranks.size() == 1;
    const QString title = clients                    ? qstr(node.host_class)
                          : !node.mesh_group.empty() ? qstr(node.mesh_group)
                                                     : QStringLiteral("node %1").arg(node.node);
    const QString text = QStringLiteral("%1 %2 · %3 %4")
                             .arg(collapsed ? QStringLiteral("▸") : QStringLiteral("▾"))
                             .arg(title)
                             .arg(node.ranks.size())
                             .arg(clients ? (one ? QStringLiteral("client") : QStringLiteral("clients"))
                                          : (one ? QStringLiteral("rank") : QStringLiteral("ranks")));
    p_.drawText(QRect(6, y, kGutterWidth - 10, row.height), Qt::AlignVCenter | Qt::AlignLeft, text);
    if (collapsed) {
      node_band(row, y);
      if (clients) collapsed_task_ticks(row, y);
    }
    if (clients) task_counts(row, y);
  }

  // A client class's tasks by outcome, each count in its marker's colour, at the header's right end:
  // "412 reported · 23 late · 10 dropped".
  void task_counts(const Row& row, int y) {
    const RunModel& run = t_.run(row.run);
    const TaskCounts counts = run.task_counts(run.nodes()[static_cast<std::size_t>(row.node)]);
    std::vector<std::pair<QString, QColor>> parts;
    for (std::size_t k = 0; k < kTaskOutcomeCount; ++k) {
      if (counts[k] == 0) continue;
      if (!parts.empty()) parts.emplace_back(QStringLiteral(" · "), QColor(0x58, 0x60, 0x68));
      const auto outcome = static_cast<TaskOutcome>(k);
      parts.emplace_back(QStringLiteral("%1 %2").arg(counts[k]).arg(qstr(to_string(outcome))),
                         colour_of(outcome));
    }
    if (parts.empty()) return;
    p_.setFont(small_);
    const QFontMetrics fm(small_);
    int width = 0;
    for (const auto& part : parts) width += fm.horizontalAdvance(part.first);
    int x = size_.width() - width - 8;
    if (x < events_left_) return;
    p_.fillRect(QRect(x - 3, y + 1, width + 6, row.height - 2), QColor(255, 255, 255, 225));
    for (const auto& [part, colour] : parts) {
      p_.setPen(colour);
      p_.drawText(QRect(x, y, fm.horizontalAdvance(part), row.height), Qt::AlignVCenter | Qt::AlignLeft,
                  part);
      x += fm.horizontalAdvance(part);
    }
  }

  // The visible tasks of a client, as [first, last) positions in its time-ordered list.
  std::pair<std::size_t, std::size_t> visible_tasks(const RunModel& run, int rank, double offset) const {
    const std::vector<std::uint32_t>& tasks = run.tasks_of_client(rank);
    const auto time_of = [&](std::uint32_t i) { return run.client_tasks()[i].time; };
    const double t0 = axis_.start() + offset, t1 = axis_.end() + offset;
    const auto first = std::lower_bound(tasks.begin(), tasks.end(), t0,
                                        [&](std::uint32_t i, double t) { return time_of(i) < t; });
    const auto last =
        std::upper_bound(first, tasks.end(), t1, [&](double t, std::uint32_t i) { return t < time_of(i); });
    return {static_cast<std::size_t>(first - tasks.begin()), static_cast<std::size_t>(last - tasks.begin())};
  }

  // A collapsed class still shows where its clients' tasks went wrong: a tick per late, dropped,
  // offline or stale task across the band (reports are counted in the header, not ticked).
  void collapsed_task_ticks(const Row& row, int y) {
    const RunModel& run = t_.run(row.run);
    const double offset = t_.offset(row.run);
    for (int rank : run.nodes()[static_cast<std::size_t>(row.node)].ranks) {
      const auto [first, last] = visible_tasks(run, rank, offset);
      for (std::size_t k = first; k < last; ++k) {
        const ClientTask& task = run.client_tasks()[run.tasks_of_client(rank)[k]];
        if (task.outcome == TaskOutcome::report) continue;
        p_.fillRect(QRectF(x_of(task.time - offset) - 0.5, y + 1, 2, row.height - 2),
                    colour_of(task.outcome));
        ++stats_.task_marks;
      }
    }
  }

  // Each task of a client on its first track: a small triangle at the time the server recorded it,
  // in its outcome's colour.
  void task_markers(const Row& row, int y) {
    const RunModel& run = t_.run(row.run);
    const double offset = t_.offset(row.run);
    const auto [first, last] = visible_tasks(run, row.rank, offset);
    p_.setPen(Qt::NoPen);
    for (std::size_t k = first; k < last; ++k) {
      const ClientTask& task = run.client_tasks()[run.tasks_of_client(row.rank)[k]];
      const double x = x_of(task.time - offset);
      const double h = std::min(7, row.height - 3);
      QPainterPath triangle;
      triangle.moveTo(x - h / 2, y + 1);
      triangle.lineTo(x + h / 2, y + 1);
      triangle.lineTo(x, y + 1 + h);
      triangle.closeSubpath();
      p_.fillPath(triangle, colour_of(task.outcome));
      ++stats_.task_marks;
    }
  }

  // A collapsed node still shows how busy its ranks are: compute on the top half, communication on
  // the bottom half, opacity = mean busy fraction over the node's ranks.
  void node_band(const Row& row, int y) {
    const RunModel& run = t_.run(row.run);
    const NodeGroup& node = run.nodes()[static_cast<std::size_t>(row.node)];
    const double column_seconds = kNodeBandColumnPixels * axis_.seconds_per_pixel();
    const std::size_t columns = static_cast<std::size_t>(events_width() / kNodeBandColumnPixels) + 1;
    const double t0 = axis_.start() + t_.offset(row.run);
    busy_[0].assign(columns, 0.0);
    busy_[1].assign(columns, 0.0);
    for (int rank : node.ranks) {
      for (std::uint32_t ti : run.tracks_of_rank(rank)) {
        const Track& track = run.tracks()[ti];
        if (track.lane() == core::Lane::phase) continue;
        track.add_busy_columns(t0, column_seconds, busy_[track.lane() == core::Lane::compute ? 0 : 1]);
      }
    }
    const QColor colours[2] = {colour_of(EventKind::other_compute), colour_of(EventKind::all_reduce)};
    const int half = (row.height - 2) / 2;
    const double capacity = column_seconds * static_cast<double>(node.ranks.size());
    for (int k = 0; k < 2; ++k) {
      for (std::size_t c = 0; c < columns; ++c) {
        const double fraction = std::min(1.0, busy_[k][c] / capacity);
        if (fraction <= 0) continue;
        QColor colour = colours[k];
        colour.setAlphaF(static_cast<float>(0.15 + 0.85 * fraction));
        p_.fillRect(QRect(events_left_ + static_cast<int>(c) * kNodeBandColumnPixels, y + 1 + k * half,
                          kNodeBandColumnPixels, half),
                    colour);
      }
    }
  }

  void track(const Row& row) {
    const int y = y_of(row.y);
    const RunModel& run = t_.run(row.run);
    const Track& track = run.tracks()[row.track];
    // Label: the rank on its first track, the sub-lane's name on every track.
    p_.setPen(QColor(0x20, 0x24, 0x28));
    if (row.first_of_rank) {
      p_.setFont(bold_);
      p_.drawText(QRect(14, y, 70, row.height), Qt::AlignVCenter | Qt::AlignLeft,
                  QStringLiteral("rank %1").arg(row.rank));
    }
    p_.setFont(small_);
    p_.setPen(QColor(0x58, 0x60, 0x68));
    // A rank's first track says what it does unless it simply trains, and where it sits in the
    // mesh when the mesh splits along several dimensions ("stage 1 · dp 0 · tp 2 · pp 1 · phases").
    std::string name = run.track_name(row.track);
    if (row.first_of_rank) {
      const std::string coordinates = run.mesh_coordinates_of(row.rank);
      if (!coordinates.empty()) name = coordinates + " · " + name;
      const std::string role = run.role_of(row.rank);
      if (!role.empty() && role != "worker") name = role + " · " + name;
      const std::string host_class = run.host_class_of(row.rank);
      if (!host_class.empty()) name = host_class + " · " + name;
      const std::string job = run.job_of(row.rank);
      if (!job.empty()) name = "job " + job + " · " + name;
    }
    p_.drawText(QRect(84, y, kGutterWidth - 90, row.height), Qt::AlignVCenter | Qt::AlignLeft, qstr(name));

    const QRect lane(events_left_, y, events_width(), row.height - 1);
    p_.fillRect(lane, colour_of(EventKind::idle));
    bubbles(row, y);
    if (track.lane() == core::Lane::counter) {
      counter_lines(row, y);
    } else {
      event_spans(row, y, lane);
    }
    if (row.first_of_rank && !run.tasks_of_client(row.rank).empty()) task_markers(row, y);
  }

  // A pipeline rank's bubble under each of its tracks: its waits between passes hatched, so the
  // gaps of the schedule stand out from the idle background.
  void bubbles(const Row& row, int y) {
    const RunModel& run = t_.run(row.run);
    const std::vector<TimeSpan>& spans = run.bubbles_of(row.rank);
    if (spans.empty()) return;
    const double offset = t_.offset(row.run);
    const double t0 = axis_.start() + offset, t1 = axis_.end() + offset;
    auto it = std::lower_bound(spans.begin(), spans.end(), t0,
                               [](const TimeSpan& s, double t) { return s.end < t; });
    for (; it != spans.end() && it->start <= t1; ++it) {
      const double x0 = std::max<double>(events_left_, x_of(it->start - offset));
      const double x1 = std::min<double>(size_.width(), x_of(it->end - offset));
      if (x1 <= x0) continue;
      const QRectF area(x0, y + 1, std::max(1.0, x1 - x0), row.height - 3);
      p_.fillRect(area, bubble_tint());
      p_.fillRect(area, QBrush(bubble_hatch(), Qt::FDiagPattern));
      ++stats_.bubble_spans;
    }
  }

  // A track's events as laid out for the zoom: spans with their labels where wide enough, bins of
  // merged events as density.
  void event_spans(const Row& row, int y, const QRect& lane) {
    const RunModel& run = t_.run(row.run);
    const Track& track = run.tracks()[row.track];
    layout_track(track, axis_, t_.offset(row.run), spans_);
    const QFontMetrics metrics(small_);
    for (const Span& s : spans_) {
      QColor c = colour_of(s.kind);
      if (s.is_bin()) {
        ++stats_.bins;
        // Instants (marks) cover no time: a full tick, never a faint bin.
        const bool instant = s.kind == EventKind::mark;
        c.setAlphaF(instant ? 1.0f : static_cast<float>(0.2 + 0.8 * s.coverage));
        p_.fillRect(QRectF(events_left_ + s.x0, y + 1, s.x1 - s.x0, row.height - 3), c);
        continue;
      }
      ++stats_.spans;
      const QRectF r(events_left_ + s.x0, y + 1, s.x1 - s.x0, row.height - 3);
      p_.fillRect(r, c);
      if (r.width() >= 4) p_.fillRect(QRectF(r.left(), r.top(), 1, r.height()), c.lighter(135));
      if (r.width() >= kLabelMinPixels) {
        const core::TraceEvent& e = run.event(track.event(static_cast<std::size_t>(s.position)));
        const QRectF text_rect = r.adjusted(3, 0, -2, 0).intersected(QRectF(lane));
        p_.setPen(text_colour_on(c));
        p_.drawText(text_rect, Qt::AlignVCenter | Qt::AlignLeft,
                    metrics.elidedText(qstr(event_label(run.trace(), e)), Qt::ElideRight,
                                       static_cast<int>(text_rect.width())));
      }
    }
  }

  // A counter sub-lane as step lines, one per series, each scaled to the series' peak over the run
  // (so that ranks compare), the peaks written at the lane's right end: "memory in use ≤ 37.2 GiB".
  // The samples that fall in one pixel column draw one vertical stroke over their range.
  void counter_lines(const Row& row, int y) {
    const RunModel& run = t_.run(row.run);
    const Track& track = run.tracks()[row.track];
    const double offset = t_.offset(row.run);
    std::size_t first = track.first_ending_after(axis_.start() + offset);
    if (first > 0) --first;  // the sample before the view holds the value at its left edge
    const std::size_t last = std::min(track.size(), track.first_starting_from(axis_.end() + offset) + 1);
    const double top = y + 2, height = row.height - 5;
    const double left = events_left_, right = size_.width();
    struct Column {
      double x = 0, first = 0, low = 0, high = 0, last = 0;  // levels in pixels (larger is lower)
    };
    struct Series {
      double peak = 0;
      std::vector<Column> columns;
    };
    std::map<std::uint32_t, Series> series;  // by interned name
    for (std::size_t i = first; i < last; ++i) {
      const core::TraceEvent& e = run.event(track.event(i));
      Series& s = series[e.name];
      if (s.columns.empty()) s.peak = run.counter_peak(e.name);
      const double x = std::clamp(x_of(e.start - offset), left, right);
      const double level = top + height * (1 - (s.peak > 0 ? std::clamp(e.value / s.peak, 0.0, 1.0) : 0.0));
      if (!s.columns.empty() && std::floor(s.columns.back().x) == std::floor(x)) {
        Column& c = s.columns.back();
        c.low = std::max(c.low, level);
        c.high = std::min(c.high, level);
        c.last = level;
        continue;
      }
      s.columns.push_back({x, level, level, level, level});
      ++stats_.counter_samples;
    }
    p_.setPen(QPen(colour_of(EventKind::counter), 1));
    QStringList peaks;
    for (const auto& [name, s] : series) {
      QPolygonF line;
      for (const Column& c : s.columns) {
        if (!line.isEmpty()) line << QPointF(c.x, line.back().y());  // the previous value holds
        line << QPointF(c.x, c.first) << QPointF(c.x, c.low) << QPointF(c.x, c.high) << QPointF(c.x, c.last);
      }
      // The last value holds until the next sample, or the run's end.
      line << QPointF(std::clamp(x_of(run.end_time() - offset), left, right), line.back().y());
      p_.drawPolyline(line);
      const std::string_view text = run.trace().text(name);
      peaks << QStringLiteral("%1 ≤ %2")
                   .arg(qstr(text))
                   .arg(text == core::kMemoryInUse ? qstr(core::format_bytes(s.peak))
                                                   : QString::number(s.peak, 'g', 4));
    }
    if (peaks.isEmpty()) return;
    p_.setFont(small_);
    const QString label = peaks.join(QStringLiteral(" · "));
    const int width = QFontMetrics(small_).horizontalAdvance(label);
    const QRect box(size_.width() - width - 10, y, width + 6, row.height - 1);
    if (box.left() < events_left_) return;
    p_.fillRect(box, QColor(255, 255, 255, 200));
    p_.setPen(QColor(0x30, 0x36, 0x3c));
    p_.drawText(box, Qt::AlignCenter, label);
  }

  void grid() {
    const Ticks ticks = make_ticks(axis_, kTickSpacingPixels);
    p_.setPen(QColor::fromRgba(kGridLine));
    for (const Tick& tick : ticks.ticks) {
      const double x = x_of(tick.time);
      p_.drawLine(QPointF(x, events_top_), QPointF(x, size_.height()));
    }
  }

  void iterations() {
    QPen pen(QColor::fromRgba(kIterationLine));
    pen.setStyle(Qt::DashLine);
    p_.setFont(small_);
    for (int r = 0; r < t_.run_count(); ++r) {
      const auto [top, bottom] = t_.layout().run_extent(r);
      const int y0 = std::max(events_top_, y_of(top)), y1 = std::min(size_.height(), y_of(bottom));
      if (y1 <= y0) continue;
      for (const IterationSpan& it : t_.run(r).iterations()) {
        const double x = x_of(it.start - t_.offset(r));
        if (x < events_left_ || x > size_.width()) continue;
        p_.setPen(pen);
        p_.drawLine(QPointF(x, y0), QPointF(x, y1));
        if (y_of(top) >= events_top_) {
          p_.setPen(QColor(0x30, 0x36, 0x3c));
          p_.drawText(QPointF(x + 3, y_of(top) + t_.metrics().run_header - 3),
                      QStringLiteral("%1 %2").arg(qstr(t_.run(r).iteration_noun())).arg(it.iteration));
        }
      }
    }
  }

  // An elastic run's lost work hatched across its rows, and each membership epoch's start as a solid
  // line labelled with its ranks in the first row below the header.
  void elastic() {
    for (int r = 0; r < t_.run_count(); ++r) {
      const RunModel& run = t_.run(r);
      if (run.epochs().empty() && run.lost_work().empty()) continue;
      const auto [top, bottom] = t_.layout().run_extent(r);
      const int header_end = y_of(top) + t_.metrics().run_header;
      const int y0 = std::max(events_top_, header_end), y1 = std::min(size_.height(), y_of(bottom));
      if (y1 <= y0) continue;
      const double offset = t_.offset(r);
      for (const TimeSpan& lost : run.lost_work()) {
        const double x0 = std::max<double>(events_left_, x_of(lost.start - offset));
        const double x1 = std::min<double>(size_.width(), x_of(lost.end - offset));
        if (x1 <= x0) continue;
        const QRectF area(x0, y0, std::max(1.0, x1 - x0), y1 - y0);
        p_.fillRect(area, QColor::fromRgba(kLostWorkTint));
        p_.fillRect(area, QBrush(QColor::fromRgba(kLostWorkHatch), Qt::BDiagPattern));
        ++stats_.lost_spans;
      }
      p_.setFont(small_);
      const QFontMetrics fm(small_);
      for (std::size_t k = 0; k < run.epochs().size(); ++k) {
        const EpochStart& epoch = run.epochs()[k];
        const double x = x_of(epoch.start - offset);
        if (x < events_left_ || x > size_.width()) continue;
        p_.setPen(QPen(QColor::fromRgba(kEpochLine), 2));
        p_.drawLine(QPointF(x, y0), QPointF(x, y1));
        const QString label = QStringLiteral("epoch %1 · %2 ranks").arg(k).arg(epoch.ranks);
        const QRectF box(x + 3, y0 + 2, fm.horizontalAdvance(label) + 6, fm.height() + 2);
        p_.fillRect(box, QColor(255, 255, 255, 220));
        p_.setPen(QColor::fromRgba(kEpochLine));
        p_.drawText(box, Qt::AlignCenter, label);
        ++stats_.epochs;
      }
    }
  }

  void arrows() {
    const double view_height = size_.height();
    for (int r = 0; r < t_.run_count(); ++r) {
      const RunModel& run = t_.run(r);
      const auto& messages = run.messages();
      if (messages.empty()) continue;
      const double offset = t_.offset(r);
      const double from = axis_.start() + offset - run.longest_message(), to = axis_.end() + offset;
      auto it = std::lower_bound(messages.begin(), messages.end(), from,
                                 [&](const Message& m, double t) { return run.event(m.send).start < t; });
      std::vector<QLineF> lines;
      for (; it != messages.end() && run.event(it->send).start < to; ++it) {
        const core::TraceEvent& send = run.event(it->send);
        const core::TraceEvent& recv = run.event(it->recv);
        if (recv.end < from + run.longest_message()) continue;  // ended before the view
        const int send_row = t_.layout().row_of_track(r, run.locate(it->send).track);
        const int recv_row = t_.layout().row_of_track(r, run.locate(it->recv).track);
        if (send_row < 0 || recv_row < 0) continue;
        const Row& sr = t_.layout().rows()[static_cast<std::size_t>(send_row)];
        const Row& rr = t_.layout().rows()[static_cast<std::size_t>(recv_row)];
        const double y0 = y_of(sr.y) + sr.height / 2.0, y1 = y_of(rr.y) + rr.height / 2.0;
        if ((y0 < events_top_ && y1 < events_top_) || (y0 > view_height && y1 > view_height)) continue;
        lines.emplace_back(x_of(send.start - offset), y0, x_of(recv.end - offset), y1);
        if (static_cast<int>(lines.size()) > kMaxArrows) break;
      }
      if (static_cast<int>(lines.size()) > kMaxArrows) {
        p_.setPen(QColor(0x80, 0x30, 0x30));
        p_.setFont(small_);
        p_.drawText(
            QPointF(events_left_ + 6, events_top_ + 12),
            QStringLiteral("more than %1 messages in view: zoom in to see their arrows").arg(kMaxArrows));
        continue;
      }
      p_.save();
      p_.setRenderHint(QPainter::Antialiasing, true);
      // Many arrows fade so that the events under them stay readable.
      QColor colour = QColor::fromRgba(kArrow);
      colour.setAlpha(
          std::clamp(static_cast<int>(colour.alpha() * kOpaqueArrows / std::max<double>(1, lines.size())),
                     kFadedArrowAlpha, colour.alpha()));
      p_.setPen(QPen(colour, 1));
      p_.setBrush(colour);
      for (const QLineF& line : lines) {
        p_.drawLine(line);
        arrow_head(line);
      }
      p_.restore();
      stats_.arrows += static_cast<int>(lines.size());
    }
  }

  void arrow_head(const QLineF& line) {
    constexpr double kSize = 5;
    if (line.length() < 2 * kSize) return;
    const QPointF tip = line.p2();
    const QPointF back = tip - (line.p2() - line.p1()) * (kSize / line.length());
    const QPointF normal(-(line.dy()) * (kSize / 2 / line.length()), line.dx() * (kSize / 2 / line.length()));
    const QPointF head[3] = {tip, back + normal, back - normal};
    p_.drawPolygon(head, 3);
  }

  void selection() {
    if (!t_.selected()) return;
    const Hit& hit = *t_.selected();
    if (hit.run >= t_.run_count()) return;
    const RunModel& run = t_.run(hit.run);
    const int row_index = t_.layout().row_of_track(hit.run, run.locate(hit.event).track);
    if (row_index < 0) return;
    const Row& row = t_.layout().rows()[static_cast<std::size_t>(row_index)];
    const core::TraceEvent& e = run.event(hit.event);
    double x0 = x_of(e.start - t_.offset(hit.run)), x1 = x_of(e.end - t_.offset(hit.run));
    if (x1 - x0 < 3) {
      const double mid = (x0 + x1) / 2;
      x0 = mid - 1.5;
      x1 = mid + 1.5;
    }
    p_.setPen(QPen(Qt::black, 2));
    p_.setBrush(Qt::NoBrush);
    p_.drawRect(QRectF(x0, y_of(row.y), x1 - x0, row.height - 1));
  }

  void ruler() {
    p_.fillRect(QRect(0, 0, size_.width(), events_top_), QColor::fromRgba(kRuler));
    p_.setPen(QColor(0xc0, 0xc6, 0xcc));
    p_.drawLine(0, events_top_ - 1, size_.width(), events_top_ - 1);
    const Ticks ticks = make_ticks(axis_, kTickSpacingPixels);
    p_.setFont(small_);
    p_.setPen(QColor(0x58, 0x60, 0x68));
    p_.drawText(
        QRect(6, 0, kGutterWidth - 12, events_top_), Qt::AlignVCenter | Qt::AlignLeft,
        ticks.origin.empty() ? QStringLiteral("time") : QStringLiteral("time − %1").arg(qstr(ticks.origin)));
    p_.save();
    p_.setClipRect(QRect(events_left_, 0, events_width(), events_top_));
    for (const Tick& tick : ticks.ticks) {
      const double x = x_of(tick.time);
      p_.setPen(QColor(0x80, 0x88, 0x90));
      p_.drawLine(QPointF(x, events_top_ - 8), QPointF(x, events_top_ - 1));
      p_.setPen(QColor(0x20, 0x24, 0x28));
      p_.drawText(QPointF(x + 3, events_top_ - 11), qstr(tick.label));
    }
    p_.restore();
  }

  void range() {
    if (!t_.range()) return;
    const RangeSelection& r = *t_.range();
    const double x0 = std::max<double>(events_left_, x_of(r.start));
    const double x1 = std::min<double>(size_.width(), x_of(r.end));
    if (x1 < x0) return;
    p_.fillRect(QRectF(x0, 0, x1 - x0, size_.height()), QColor::fromRgba(kRangeFill));
    p_.setPen(QColor::fromRgba(kRangeEdge));
    p_.drawLine(QPointF(x0, 0), QPointF(x0, size_.height()));
    p_.drawLine(QPointF(x1, 0), QPointF(x1, size_.height()));
    p_.setFont(bold_);
    const QString text = QStringLiteral("Δ %1").arg(qstr(format_duration(r.end - r.start)));
    const QRectF label(x0, 1, std::max(x1 - x0, 80.0), 12);
    p_.fillRect(
        QRectF(label.left(), label.top(), QFontMetrics(bold_).horizontalAdvance(text) + 8, label.height()),
        QColor::fromRgba(kRangeEdge));
    p_.setPen(Qt::white);
    p_.drawText(label.adjusted(4, 0, 0, 0), Qt::AlignVCenter | Qt::AlignLeft, text);
  }

  QPainter& p_;
  const Timeline& t_;
  QSize size_;
  const TimeAxis& axis_;
  int events_left_, events_top_;
  QFont small_, bold_;
  std::vector<Span> spans_;
  std::vector<double> busy_[2];  // per column of a node band: compute, communication
  PaintStats stats_;
};

}  // namespace

PaintStats paint_timeline(QPainter& painter, const Timeline& timeline, const QSize& size) {
  return Painter(painter, timeline, size).paint();
}

}  // namespace dmlsim::gui
