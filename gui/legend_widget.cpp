#include "gui/legend_widget.hpp"

#include <QFontMetrics>
#include <QPainter>

#include "gui/palette.hpp"

namespace dmlsim::gui {
namespace {
constexpr int kSwatch = 12, kGap = 6, kItemGap = 16, kMargin = 6;
}

LegendWidget::LegendWidget(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

template <typename Draw>
int LegendWidget::flow(int width, Draw&& draw) const {
  const QFontMetrics fm(font());
  const int line = std::max(kSwatch, fm.height()) + 4;
  int x = kMargin, y = kMargin;
  const auto& kinds = legend_kinds();
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const int item = kSwatch + kGap + fm.horizontalAdvance(legend_label(kinds[i]));
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
    p.fillRect(swatch, colour_of(kinds[i]));
    p.setPen(QColor(0x80, 0x88, 0x90));
    p.drawRect(swatch.adjusted(0, 0, -1, -1));
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(label, Qt::AlignVCenter | Qt::AlignLeft, legend_label(kinds[i]));
  });
  if (h != minimumHeight()) setMinimumHeight(h);
}

}  // namespace dmlsim::gui
