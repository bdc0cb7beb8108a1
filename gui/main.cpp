// dmlsim-gui [TRACE_OR_RUN_DIR ...]: the timeline of one or more dmlsim runs.
// --screenshot FILE renders the window offscreen into FILE and exits (scripts/gui-screenshot.sh).
#include <QApplication>
#include <QCommandLineParser>
#include <QFontMetrics>
#include <QMessageBox>
#include <QTimer>
#include <cstdio>
#include <map>
#include <string_view>

#include "gui/main_window.hpp"
#include "gui/timeline_widget.hpp"

namespace {

bool parse_size(const QString& text, QSize& size) {
  const QStringList parts = text.split(QLatin1Char('x'));
  bool ok_w = false, ok_h = false;
  if (parts.size() == 2) size = QSize(parts[0].toInt(&ok_w), parts[1].toInt(&ok_h));
  return ok_w && ok_h && size.width() > 0 && size.height() > 0;
}

void apply_view_options(dmlsim::gui::MainWindow& window, const QString& expand, const QString& select,
                        const QString& select_iteration) {
  dmlsim::gui::Timeline& timeline = window.timeline();
  if (!expand.isEmpty()) timeline.collapse_nodes_from(expand.toInt());
  if (!select.isEmpty() && timeline.run_count() > 0) {
    const QStringList range = select.split(QLatin1Char(':'));
    if (range.size() == 2)
      timeline.set_range(dmlsim::gui::RangeSelection{0, range[0].toDouble(), range[1].toDouble()});
  }
  if (!select_iteration.isEmpty() && timeline.run_count() > 0) {
    const int k = select_iteration.toInt();
    for (const dmlsim::gui::IterationSpan& it : timeline.run(0).iterations()) {
      if (it.iteration == k) timeline.set_range(dmlsim::gui::RangeSelection{0, it.start, it.end});
    }
  }
}

// Returns the exit code.
int save_screenshot(dmlsim::gui::MainWindow& window, bool all_opened, const QString& file) {
  if (!all_opened) {
    // The error dialog names each file that failed and why: say it here too, one line per file.
    QString why = window.error_dialog() ? window.error_dialog()->text() : QString();
    why.replace(QStringLiteral("\n\n"), QStringLiteral("\n  "));
    std::fprintf(stderr, "dmlsim-gui: cannot open a run for the screenshot%s%s\n",
                 why.isEmpty() ? "" : ":\n  ", qPrintable(why));
    return 1;
  }
  if (!QFontMetrics(QFont()).inFont(QChar(u'A'))) {
    std::fprintf(stderr,
                 "dmlsim-gui: no usable font (install fonts-dejavu-core): the screenshot would show boxes\n");
    return 1;
  }
  QApplication::processEvents();
  if (!window.grab().save(file)) {
    std::fprintf(stderr, "dmlsim-gui: cannot write %s\n", qPrintable(file));
    return 1;
  }
  return 0;
}

// The command line, shared by --help (answered without a display) and the application.
struct CommandLine {
  QCommandLineParser parser;
  const QCommandLineOption screenshot{QStringLiteral("screenshot"),
                                      QStringLiteral("Save the window to FILE and exit"),
                                      QStringLiteral("FILE")};
  const QCommandLineOption size{QStringLiteral("size"), QStringLiteral("Window size, e.g. 1600x1000"),
                                QStringLiteral("WxH"), QStringLiteral("1600x1000")};
  const QCommandLineOption expand{QStringLiteral("expand-nodes"),
                                  QStringLiteral("Expand only the first N nodes of each run (default: all)"),
                                  QStringLiteral("N")};
  const QCommandLineOption group_by{QStringLiteral("group-by"),
                                    QStringLiteral("Group the lanes by node (client class), stage or tp"),
                                    QStringLiteral("node|stage|tp"), QStringLiteral("node")};
  const QCommandLineOption select{QStringLiteral("select"),
                                  QStringLiteral("Select the time range T0:T1 (seconds)"),
                                  QStringLiteral("T0:T1")};
  const QCommandLineOption select_iteration{QStringLiteral("select-iteration"),
                                            QStringLiteral("Select iteration K of the first run"),
                                            QStringLiteral("K")};

  CommandLine() {
    parser.setApplicationDescription(
        QStringLiteral("Timeline of dmlsim runs: trace.json files or run directories"));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("runs"),
                                 QStringLiteral("trace.json files or run directories"),
                                 QStringLiteral("[TRACE_OR_RUN_DIR ...]"));
    parser.addOptions({screenshot, size, group_by, expand, select, select_iteration});
  }
};

bool asks_for_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help" || a == "--help-all" || a == "-?") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // A QApplication needs a display; the help text does not: answer it from a QCoreApplication.
  if (asks_for_help(argc, argv)) {
    QCoreApplication core(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("dmlsim-gui"));
    CommandLine cli;
    cli.parser.process(core);  // prints the help and exits
    return 0;
  }
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("dmlsim-gui"));
  QApplication::setOrganizationName(QStringLiteral("dmlsim"));
  CommandLine cli;
  QCommandLineParser& parser = cli.parser;
  const QCommandLineOption &screenshot = cli.screenshot, &size = cli.size, &expand = cli.expand,
                           &select = cli.select, &select_iteration = cli.select_iteration;
  parser.process(app);

  const std::map<QString, dmlsim::gui::LaneGrouping> groupings = {
      {QStringLiteral("node"), dmlsim::gui::LaneGrouping::node},
      {QStringLiteral("stage"), dmlsim::gui::LaneGrouping::stage},
      {QStringLiteral("tp"), dmlsim::gui::LaneGrouping::tensor_group}};
  const auto grouping = groupings.find(parser.value(cli.group_by));
  if (grouping == groupings.end()) {
    std::fprintf(stderr, "dmlsim-gui: --group-by %s: expected node, stage or tp\n",
                 qPrintable(parser.value(cli.group_by)));
    return 2;
  }

  QSize window_size;
  if (!parse_size(parser.value(size), window_size)) {
    std::fprintf(stderr, "dmlsim-gui: --size %s: expected WIDTHxHEIGHT, e.g. 1600x1000\n",
                 qPrintable(parser.value(size)));
    return 2;
  }
  dmlsim::gui::MainWindow window;
  window.timeline().set_grouping(grouping->second);
  window.resize(window_size);
  window.show();
  const QStringList runs = parser.positionalArguments();
  // Runs load in the background: what needs them (the view options, the screenshot) waits for them.
  auto when_open = [&](int opened) {
    apply_view_options(window, parser.isSet(expand) ? parser.value(expand) : QString(),
                       parser.isSet(select) ? parser.value(select) : QString(),
                       parser.isSet(select_iteration) ? parser.value(select_iteration) : QString());
    if (parser.isSet(screenshot))
      QApplication::exit(save_screenshot(window, opened == runs.size(), parser.value(screenshot)));
  };
  if (runs.isEmpty()) {
    QTimer::singleShot(0, &window, [&] { when_open(0); });
  } else {
    QObject::connect(&window, &dmlsim::gui::MainWindow::open_finished, &window, when_open,
                     Qt::SingleShotConnection);
    window.open_paths(runs);
  }
  return QApplication::exec();
}
