#pragma once
// What the hover tooltip and the details panel say about an event: name, rank, start, duration,
// bytes, flops, peer, iteration, and the rest of its fields where they apply.
#include <string>
#include <utility>
#include <vector>

#include "gui/run_model.hpp"

namespace dmlsim::gui {

// (field, value) pairs in display order; times in the run's own clock.
std::vector<std::pair<std::string, std::string>> describe_event(const RunModel& run, std::uint32_t event);
// The same as one rich-text block (for QToolTip).
std::string event_tooltip(const RunModel& run, std::uint32_t event);
// The text drawn inside an event's box: its name, and the micro-batch it works on where it has
// one (a pipeline's "forward 3", "backward 3.1" for micro-batch 3 of model chunk 1).
std::string event_label(const core::Trace& trace, const core::TraceEvent& event);

}  // namespace dmlsim::gui
