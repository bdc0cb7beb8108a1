#pragma once
// The timeline on screen: paints through paint_timeline() and turns input into Timeline calls.
// Mouse: wheel zooms around the cursor (Shift+wheel scrolls, a horizontal wheel pans), drag pans,
// Shift+drag or a drag on the ruler selects a range, click selects an event, double-click zooms to
// it, click on a node's header collapses or expands it. Keys: see kShortcutHelp.
#include <QPoint>
#include <QWidget>
#include <optional>

#include "gui/timeline.hpp"

class QScrollBar;

namespace dmlsim::gui {

inline constexpr const char* kShortcutHelp =
    "W / + : zoom in          S / − : zoom out\n"
    "A / ← : pan left         D / → : pan right\n"
    "F / 0 : zoom to fit      ↑ ↓ PgUp PgDn Home End : scroll\n"
    "M : message arrows on/off   Esc : clear the selection\n"
    "Wheel : zoom around the cursor   Shift+wheel : scroll\n"
    "Drag : pan   Shift+drag or drag on the ruler : select a range\n"
    "Click : select an event   Double-click : zoom to it\n"
    "Click a node's header : collapse / expand it";

class TimelineWidget : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineWidget(Timeline& timeline, QWidget* parent = nullptr);

  Timeline& timeline() { return timeline_; }
  // The tooltip for a widget position (empty where there is no event).
  QString tooltip_at(const QPoint& pos) const;
  // Widget position → event-area x / viewport y.
  double event_x(const QPoint& pos) const;
  int viewport_y(const QPoint& pos) const;
  // The canvas without the scroll bar, as exported.
  QSize canvas_size() const;

  QSize sizeHint() const override { return {1200, 700}; }

 protected:
  bool event(QEvent* event) override;
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  enum class Drag { none, pan, range };
  void sync_scroll_bar();
  void update_viewport();
  std::optional<RangeSelection> range_between(const QPoint& a, const QPoint& b) const;

  Timeline& timeline_;
  QScrollBar* scroll_bar_;
  Drag drag_ = Drag::none;
  QPoint press_pos_, last_pos_;
  bool moved_ = false;
};

}  // namespace dmlsim::gui
