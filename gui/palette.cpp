#include "gui/palette.hpp"

#include <array>

namespace dmlsim::gui {
namespace {

constexpr std::array<QRgb, kEventKindCount> kColours = {
    0xffc8cdd3,  // iteration: a quiet frame
    0xff0072b2,  // forward: blue
    0xffe69f00,  // backward: orange
    0xff009e73,  // optimizer: green
    0xffcc79a7,  // gradient sync: pink
    0xfff0e442,  // downtime: yellow
    0xff9aa5b1,  // other phase
    0xff6f7b87,  // other compute
    0xff7b3fa0,  // all-reduce: purple
    0xff4a2b86,  // reduce-scatter: indigo
    0xffa884c9,  // all-gather: lavender
    0xff8c564b,  // broadcast: brown
    0xffb07aa1,  // reduce: mauve
    0xff5f4b8b,  // other collective
    0xffd55e00,  // send: vermillion
    0xff56b4e9,  // recv: sky blue
    0xff2f3b45,  // counter: a dark line
    0xffc00000,  // mark: red
    0xfff1f3f5,  // idle: the track background
};

}  // namespace

QColor colour_of(EventKind kind) {
  return QColor::fromRgba(kind < EventKind::count ? kColours[static_cast<std::size_t>(kind)] : 0xff000000);
}

QColor colour_of(TaskOutcome outcome) {
  constexpr std::array<QRgb, kTaskOutcomeCount> colours = {0xff1b9e77, 0xffd95f02, 0xffc00000, 0xff7f7f7f,
                                                           0xff7570b3};
  return QColor::fromRgba(outcome < TaskOutcome::count ? colours[static_cast<std::size_t>(outcome)]
                                                       : 0xff000000);
}

QColor bubble_tint() {
  return QColor::fromRgba(0x30e69f00);  // a light amber wash...
}

QColor bubble_hatch() {
  return QColor::fromRgba(0x70b07800);  // ...hatched
}

QColor text_colour_on(const QColor& background) {
  const double luminance =
      0.299 * background.redF() + 0.587 * background.greenF() + 0.114 * background.blueF();
  return luminance > 0.6 ? QColor(Qt::black) : QColor(Qt::white);
}

const std::vector<EventKind>& legend_kinds() {
  static const std::vector<EventKind> kinds = {
      EventKind::forward,    EventKind::backward,      EventKind::optimizer,  EventKind::other_compute,
      EventKind::iteration,  EventKind::gradient_sync, EventKind::all_reduce, EventKind::reduce_scatter,
      EventKind::all_gather, EventKind::broadcast,     EventKind::reduce,     EventKind::send,
      EventKind::recv,       EventKind::downtime,      EventKind::idle};
  return kinds;
}

QString legend_label(EventKind kind) {
  if (kind == EventKind::idle) return QStringLiteral("idle");
  const std::string_view name = to_string(kind);
  return QString::fromUtf8(name.data(), static_cast<qsizetype>(name.size()));
}

}  // namespace dmlsim::gui
