#pragma once
// The colour legend: one swatch per event kind, flowing over as many lines as the width needs.
#include <QWidget>

namespace dmlsim::gui {

class LegendWidget : public QWidget {
  Q_OBJECT

 public:
  explicit LegendWidget(QWidget* parent = nullptr);
  bool hasHeightForWidth() const override { return true; }
  int heightForWidth(int width) const override;
  QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  // Lays the items out for `width`; calls `draw(swatch, label rect, index)` for each; returns the height.
  template <typename Draw>
  int flow(int width, Draw&& draw) const;
};

}  // namespace dmlsim::gui
