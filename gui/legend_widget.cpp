#include "gui/legend_widget.hpp"

#include <QFontMetrics>
#include <QPainter>
#include <QPolygon>

#include "gui/palette.hpp"

namespace dmlsim::gui {
namespace {
constexpr int kSwatch = 12, kGap = 6, kItemGap = 16, kMargin = 6;

// After the event kinds, what the timeline draws over them.
enum class Extra { bubble, counter_line };
constexpr Extra kExtras[] = {Extra::bubble, Extra::counter_line};

QString extra_label(Extra extra) {
  return extra == Extra::bubble ? QStringLiteral("pipeline bubble")
                                : QStringLiteral("counter (memory in use)");
}

}  // namespace

LegendWidget::LegendWidget(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

template <typename Draw>
int LegendWidget::flow(int width, Draw&& draw) const {
  const QFontMetrics fm(font());
  const int line = std::max(kSwatch, fm.height()) + 4;
  int x = kMargin, y = kMargin;
  const auto& kinds = legend_kinds();
  const std::size_t items = kinds.size() + std::size(kExtras);
  for (std::size_t i = 0; i < items; ++i) {
    const QString label = i < kinds.size() ? legend_label(kinds[i]) : extra_label(kExtras[i - kinds.size()]);
    const int item = kSwatch + kGap + fm.horizontalAdvance(label);
    if (x > kMargin && x + item > width - kMargin) {
      x = kMargin;
      y += line;
    }
    draw(QRect(x, y + (line - kSwatch) / 2, kSwatch, kSwatch), QRect(x + kSwatch + kGap, y, item, line), i);
    x += item + kItemGap;
  }
  return y + line + kMargin;
}

int LegendWidget::heightForWidth(int width) const {
  return flow(width, [](const QRect&, const QRect&, std::size_t) {});
}

QSize LegendWidget::sizeHint() const {
  return {600, heightForWidth(std::max(width(), 600))};
}

void LegendWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const auto& kinds = legend_kinds();
  const int h = flow(width(), [&](const QRect& swatch, const QRect& label, std::size_t i) {
    QString text;
    if (i < kinds.size()) {
      p.fillRect(swatch, colour_of(kinds[i]));
      text = legend_label(kinds[i]);
    } else {
      const Extra extra = kExtras[i - kinds.size()];
      p.fillRect(swatch, colour_of(EventKind::idle));
      if (extra == Extra::bubble) {
        p.fillRect(swatch, bubble_tint());
        p.fillRect(swatch, QBrush(bubble_hatch(), Qt::FDiagPattern));
      } else {
        // A step, as a counter's line rises.
        p.setPen(colour_of(EventKind::counter));
        const int mid = swatch.center().x(), low = swatch.bottom() - 2, high = swatch.top() + 2;
        p.drawPolyline(QPolygon({QPoint(swatch.left() + 1, low), QPoint(mid, low), QPoint(mid, high),
                                 QPoint(swatch.right() - 1, high)}));
      }
      text = extra_label(extra);
    }
    p.setPen(QColor(0x80, 0x88, 0x90));
    p.drawRect(swatch.adjusted(0, 0, -1, -1));
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(label, Qt::AlignVCenter | Qt::AlignLeft, text);
  });
  if (h != minimumHeight()) setMinimumHeight(h);
}

}  // namespace dmlsim::gui
