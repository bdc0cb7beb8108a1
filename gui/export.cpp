#include "gui/export.hpp"

#include <QFile>
#include <QPainter>
#include <QSvgGenerator>

#include "gui/timeline_painter.hpp"

namespace dmlsim::gui {

QImage render_timeline(const Timeline& timeline, const QSize& size) {
  QImage image(size, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::white);
  QPainter p(&image);
  paint_timeline(p, timeline, size);
  return image;
}

QString export_png(const Timeline& timeline, const QSize& size, const QString& file) {
  if (!render_timeline(timeline, size).save(file, "PNG")) return QObject::tr("cannot write %1").arg(file);
  return {};
}

QString export_svg(const Timeline& timeline, const QSize& size, const QString& file) {
  QSvgGenerator svg;
  svg.setFileName(file);
  svg.setSize(size);
  svg.setViewBox(QRect(QPoint(0, 0), size));
  svg.setTitle(QStringLiteral("dmlsim timeline"));
  QPainter p;
  if (!p.begin(&svg)) return QObject::tr("cannot write %1").arg(file);
  paint_timeline(p, timeline, size);
  p.end();
  if (!QFile::exists(file)) return QObject::tr("cannot write %1").arg(file);
  return {};
}

}  // namespace dmlsim::gui
