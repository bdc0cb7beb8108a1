#pragma once
// The visible timeline as an image: PNG through QImage, SVG through QSvgGenerator, both painted by
// paint_timeline() at the canvas size, so the file shows what the window shows.
#include <QImage>
#include <QSize>
#include <QString>

#include "gui/timeline.hpp"

namespace dmlsim::gui {

QImage render_timeline(const Timeline& timeline, const QSize& size);
// Both return an error message, empty on success.
QString export_png(const Timeline& timeline, const QSize& size, const QString& file);
QString export_svg(const Timeline& timeline, const QSize& size, const QString& file);

}  // namespace dmlsim::gui
