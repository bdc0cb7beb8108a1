#include "gui/timeline_widget.hpp"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>
#include <cmath>

#include "gui/event_text.hpp"
#include "gui/timeline_painter.hpp"

namespace dmlsim::gui {
namespace {

constexpr int kClickSlopPixels = 3;        // a press that moves less is a click
constexpr double kWheelZoomBase = 1.0015;  // per 1/8 degree: one notch (120) zooms by ~1.2
constexpr int kKeyScrollPixels = 40;

}  // namespace

TimelineWidget::TimelineWidget(Timeline& timeline, QWidget* parent)
    : QWidget(parent), timeline_(timeline), scroll_bar_(new QScrollBar(Qt::Vertical, this)) {
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setMinimumSize(kGutterWidth + 200, kRulerHeight + 100);
  connect(&timeline_, &Timeline::view_changed, this, [this] {
    sync_scroll_bar();
    update();
  });
  connect(scroll_bar_, &QScrollBar::valueChanged, &timeline_, &Timeline::set_scroll_y);
  update_viewport();
}

QSize TimelineWidget::canvas_size() const {
  // The scroll bar's room is always kept, so the canvas does not jump when it appears.
  return {std::max(kGutterWidth + 1, width() - scroll_bar_->sizeHint().width()), height()};
}

void TimelineWidget::update_viewport() {
  const QSize canvas = canvas_size();
  timeline_.set_viewport(canvas.width() - kGutterWidth, canvas.height() - kRulerHeight);
}

void TimelineWidget::sync_scroll_bar() {
  const QSignalBlocker block(scroll_bar_);
  scroll_bar_->setRange(0, timeline_.max_scroll_y());
  scroll_bar_->setPageStep(timeline_.viewport_height());
  scroll_bar_->setSingleStep(timeline_.metrics().track * 3);
  scroll_bar_->setValue(timeline_.scroll_y());
}

double TimelineWidget::event_x(const QPoint& pos) const {
  return pos.x() - kGutterWidth;
}
int TimelineWidget::viewport_y(const QPoint& pos) const {
  return pos.y() - kRulerHeight;
}

QString TimelineWidget::tooltip_at(const QPoint& pos) const {
  if (pos.x() < kGutterWidth || pos.y() < kRulerHeight) return {};
  const auto hit = timeline_.hit_test(event_x(pos), viewport_y(pos));
  if (!hit) return {};
  return QString::fromStdString(event_tooltip(timeline_.run(hit->run), hit->event));
}

bool TimelineWidget::event(QEvent* e) {
  if (e->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(e);
    const QString text = tooltip_at(help->pos());
    if (text.isEmpty()) {
      QToolTip::hideText();
      e->ignore();
    } else {
      QToolTip::showText(help->globalPos(), text, this);
    }
    return true;
  }
  return QWidget::event(e);
}

void TimelineWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QSize canvas = canvas_size();
  paint_timeline(p, timeline_, canvas);
  // The corner above the scroll bar, beside the ruler.
  p.fillRect(QRect(canvas.width(), 0, width() - canvas.width(), kRulerHeight), QColor(0xf8, 0xf9, 0xfa));
}

void TimelineWidget::resizeEvent(QResizeEvent*) {
  const int bar = scroll_bar_->sizeHint().width();
  scroll_bar_->setGeometry(width() - bar, kRulerHeight, bar, std::max(0, height() - kRulerHeight));
  update_viewport();
  sync_scroll_bar();
}

void TimelineWidget::wheelEvent(QWheelEvent* e) {
  const QPoint delta = e->angleDelta();
  if (e->modifiers() & Qt::ShiftModifier) {
    timeline_.set_scroll_y(timeline_.scroll_y() - (delta.y() != 0 ? delta.y() : delta.x()));
  } else if (delta.y() != 0) {
    const double x = std::max(0.0, event_x(e->position().toPoint()));
    timeline_.zoom(std::pow(kWheelZoomBase, delta.y()), x);
  } else if (delta.x() != 0) {
    timeline_.pan_pixels(-delta.x());
  }
  e->accept();
}

std::optional<RangeSelection> TimelineWidget::range_between(const QPoint& a, const QPoint& b) const {
  if (timeline_.run_count() == 0) return std::nullopt;
  const Row* row = timeline_.row_at(viewport_y(a));
  const int run = row ? row->run : 0;
  return RangeSelection{run, timeline_.axis().to_time(std::max(0.0, event_x(a))),
                        timeline_.axis().to_time(std::max(0.0, event_x(b)))};
}

void TimelineWidget::mousePressEvent(QMouseEvent* e) {
  setFocus(Qt::MouseFocusReason);
  press_pos_ = last_pos_ = e->position().toPoint();
  moved_ = false;
  if (e->button() != Qt::LeftButton) return;
  if (press_pos_.x() < kGutterWidth && press_pos_.y() >= kRulerHeight) {
    const Row* row = timeline_.row_at(viewport_y(press_pos_));
    if (row && row->kind == RowKind::node) {
      timeline_.set_collapsed(row->run, row->node, !timeline_.collapsed(row->run, row->node));
    }
    return;
  }
  const bool on_ruler = press_pos_.y() < kRulerHeight;
  drag_ = (on_ruler || (e->modifiers() & Qt::ShiftModifier)) ? Drag::range : Drag::pan;
  if (drag_ == Drag::pan) setCursor(Qt::ClosedHandCursor);
}

void TimelineWidget::mouseMoveEvent(QMouseEvent* e) {
  const QPoint pos = e->position().toPoint();
  if ((pos - press_pos_).manhattanLength() > kClickSlopPixels) moved_ = true;
  if (drag_ == Drag::pan && moved_) {
    const QPoint d = pos - last_pos_;
    timeline_.pan_pixels(-d.x());
    timeline_.set_scroll_y(timeline_.scroll_y() - d.y());
  } else if (drag_ == Drag::range && moved_) {
    // The range's run is the one under the press; the rows below the ruler pick it.
    QPoint anchor = press_pos_;
    if (anchor.y() < kRulerHeight) anchor.setY(kRulerHeight + timeline_.metrics().run_header / 2);
    auto range = range_between(anchor, pos);
    if (range) timeline_.set_range(range);
  }
  last_pos_ = pos;
}

void TimelineWidget::mouseReleaseEvent(QMouseEvent* e) {
  const Drag drag = drag_;
  drag_ = Drag::none;
  unsetCursor();
  if (e->button() != Qt::LeftButton || moved_ || drag == Drag::none) return;
  // A click: select what is under it (nothing clears the selection).
  timeline_.select(timeline_.hit_test(event_x(press_pos_), viewport_y(press_pos_)));
}

void TimelineWidget::mouseDoubleClickEvent(QMouseEvent* e) {
  const QPoint pos = e->position().toPoint();
  const auto hit = timeline_.hit_test(event_x(pos), viewport_y(pos));
  if (!hit) return;
  const core::TraceEvent& ev = timeline_.run(hit->run).event(hit->event);
  const double offset = timeline_.offset(hit->run);
  const double margin = std::max(ev.duration() * 0.1, 1e-9);
  timeline_.set_visible_range(ev.start - offset - margin, ev.end - offset + margin);
}

void TimelineWidget::keyPressEvent(QKeyEvent* e) {
  switch (e->key()) {
    case Qt::Key_W:
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      timeline_.zoom_in();
      break;
    case Qt::Key_S:
    case Qt::Key_Minus:
      timeline_.zoom_out();
      break;
    case Qt::Key_A:
    case Qt::Key_Left:
      timeline_.pan_left();
      break;
    case Qt::Key_D:
    case Qt::Key_Right:
      timeline_.pan_right();
      break;
    case Qt::Key_F:
    case Qt::Key_0:
      timeline_.zoom_to_fit();
      break;
    case Qt::Key_Up:
      timeline_.set_scroll_y(timeline_.scroll_y() - kKeyScrollPixels);
      break;
    case Qt::Key_Down:
      timeline_.set_scroll_y(timeline_.scroll_y() + kKeyScrollPixels);
      break;
    case Qt::Key_PageUp:
      timeline_.set_scroll_y(timeline_.scroll_y() - timeline_.viewport_height());
      break;
    case Qt::Key_PageDown:
      timeline_.set_scroll_y(timeline_.scroll_y() + timeline_.viewport_height());
      break;
    case Qt::Key_Home:
      timeline_.set_scroll_y(0);
      break;
    case Qt::Key_End:
      timeline_.set_scroll_y(timeline_.max_scroll_y());
      break;
    case Qt::Key_M:
      timeline_.set_arrows_visible(!timeline_.arrows_visible());
      break;
    case Qt::Key_Escape:
      timeline_.select(std::nullopt);
      timeline_.set_range(std::nullopt);
      break;
    default:
      QWidget::keyPressEvent(e);
      return;
  }
  e->accept();
}

}  // namespace dmlsim::gui
