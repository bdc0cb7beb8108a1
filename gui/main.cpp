// dmlsim-gui [TRACE_OR_RUN_DIR ...]: the timeline of one or more dmlsim runs.
// --screenshot FILE renders the window offscreen into FILE and exits (scripts/gui-screenshot.sh).
#include <QApplication>
#include <QCommandLineParser>
#include <QFontMetrics>
#include <QTimer>
#include <cstdio>

#include "gui/main_window.hpp"
#include "gui/timeline_widget.hpp"

namespace {

bool parse_size(const QString& text, QSize& size) {
  const QStringList parts = text.split(QLatin1Char('x'));
  bool ok_w = false, ok_h = false;
  if (parts.size() == 2) size = QSize(parts[0].toInt(&ok_w), parts[1].toInt(&ok_h));
  return ok_w && ok_h && size.width() > 0 && size.height() > 0;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("dmlsim-gui"));
  QApplication::setOrganizationName(QStringLiteral("dmlsim"));
  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("Timeline of dmlsim runs: trace.json files or run directories"));
  parser.addHelpOption();
  parser.addPositionalArgument(QStringLiteral("runs"), QStringLiteral("trace.json files or run directories"),
                               QStringLiteral("[TRACE_OR_RUN_DIR ...]"));
  const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                      QStringLiteral("Save the window to FILE and exit"),
                                      QStringLiteral("FILE"));
  const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size, e.g. 1600x1000"),
                                QStringLiteral("WxH"), QStringLiteral("1600x1000"));
  const QCommandLineOption expand(QStringLiteral("expand-nodes"),
                                  QStringLiteral("Expand only the first N nodes of each run (default: all)"),
                                  QStringLiteral("N"));
  const QCommandLineOption select(QStringLiteral("select"),
                                  QStringLiteral("Select the time range T0:T1 (seconds)"),
                                  QStringLiteral("T0:T1"));
  const QCommandLineOption select_iteration(QStringLiteral("select-iteration"),
                                            QStringLiteral("Select iteration K of the first run"),
                                            QStringLiteral("K"));
  parser.addOptions({screenshot, size, expand, select, select_iteration});
  parser.process(app);

  QSize window_size;
  if (!parse_size(parser.value(size), window_size)) {
    std::fprintf(stderr, "dmlsim-gui: --size %s: expected WIDTHxHEIGHT, e.g. 1600x1000\n",
                 qPrintable(parser.value(size)));
    return 2;
  }
  dmlsim::gui::MainWindow window;
  window.resize(window_size);
  const int opened = window.open_paths(parser.positionalArguments());
  if (parser.isSet(expand)) window.timeline().collapse_nodes_from(parser.value(expand).toInt());
  if (parser.isSet(select) && window.timeline().run_count() > 0) {
    const QStringList range = parser.value(select).split(QLatin1Char(':'));
    if (range.size() == 2)
      window.timeline().set_range(dmlsim::gui::RangeSelection{0, range[0].toDouble(), range[1].toDouble()});
  }
  if (parser.isSet(select_iteration) && window.timeline().run_count() > 0) {
    const int k = parser.value(select_iteration).toInt();
    for (const dmlsim::gui::IterationSpan& it : window.timeline().run(0).iterations()) {
      if (it.iteration == k) window.timeline().set_range(dmlsim::gui::RangeSelection{0, it.start, it.end});
    }
  }
  window.show();

  if (!parser.isSet(screenshot)) return QApplication::exec();
  if (opened != parser.positionalArguments().size()) {
    std::fprintf(stderr, "dmlsim-gui: cannot open a run for the screenshot\n");
    return 1;
  }
  if (!QFontMetrics(QFont()).inFont(QChar(u'A'))) {
    std::fprintf(stderr,
                 "dmlsim-gui: no usable font (install fonts-dejavu-core): the screenshot would show boxes\n");
    return 1;
  }
  QApplication::processEvents();
  if (!window.grab().save(parser.value(screenshot))) {
    std::fprintf(stderr, "dmlsim-gui: cannot write %s\n", qPrintable(parser.value(screenshot)));
    return 1;
  }
  return 0;
}
