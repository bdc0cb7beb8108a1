#pragma once
// Colours of event kinds (Okabe–Ito based, distinguishable with the common colour-vision
// deficiencies) and the legend's order.
#include <QColor>
#include <QString>
#include <vector>

#include "gui/client_task.hpp"
#include "gui/event_kind.hpp"

namespace dmlsim::gui {

QColor colour_of(EventKind kind);
// A federated client task's marker: reported green, late orange, dropped red, offline grey, stale
// violet.
QColor colour_of(TaskOutcome outcome);
// A pipeline's bubble: a light wash under a hatch of the darker colour (Qt::FDiagPattern).
QColor bubble_tint();
QColor bubble_hatch();
// Black or white, whichever reads better on `background`.
QColor text_colour_on(const QColor& background);
// The kinds the legend lists, in order.
const std::vector<EventKind>& legend_kinds();
QString legend_label(EventKind kind);

}  // namespace dmlsim::gui
