#include "gui/event_text.hpp"

#include <fmt/format.h>

#include "core/trace_fields.hpp"
#include "core/units.hpp"
#include "gui/time_axis.hpp"

namespace dmlsim::gui {
namespace {

std::string escape_html(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_flops(double flops) {
  constexpr std::pair<double, const char*> kScales[] = {
      {1e15, "PFLOP"}, {1e12, "TFLOP"}, {1e9, "GFLOP"}, {1e6, "MFLOP"}, {1e3, "kFLOP"}};
  for (const auto& [scale, unit] : kScales) {
    if (flops >= scale) return fmt::format("{:.3g} {}", flops / scale, unit);
  }
  return fmt::format("{:.3g} FLOP", flops);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> describe_event(const RunModel& run, std::uint32_t i) {
  const core::Trace& trace = run.trace();
  const core::TraceEvent& e = run.event(i);
  std::vector<std::pair<std::string, std::string>> out;
  // Every field of the table (core/trace_fields.hpp) that is set, in its order; the end is left to
  // start and duration, and a category that only repeats the name is left out.
  for (const core::TraceField& f : core::kTraceFields) {
    const core::FieldValue v = f.get(e);
    if (!f.required && v == core::unset_value(f)) continue;
    if (f.column == "end_s") continue;
    if (f.column == "category" && trace.text(e.category) == trace.text(e.name)) continue;
    std::string label(f.label);
    if (f.column == "peer") label = e.lane == core::Lane::send ? "to rank" : "from rank";
    std::string text;
    switch (f.unit) {
      case core::FieldUnit::text:
        text = trace.text(static_cast<std::uint32_t>(v.integer));
        break;
      case core::FieldUnit::lane:
        text = core::to_string(static_cast<core::Lane>(v.integer));
        break;
      case core::FieldUnit::seconds:
        text = format_duration(v.real);
        break;
      case core::FieldUnit::bytes:
        text = fmt::format("{} ({} B)", core::format_bytes(static_cast<double>(v.integer)), v.integer);
        break;
      case core::FieldUnit::flops:
        text = format_flops(v.real);
        break;
      case core::FieldUnit::number:
        text = fmt::format("{:.6g}", v.real);
        break;
      case core::FieldUnit::integer:
      case core::FieldUnit::rank:
        text = std::to_string(v.integer);
        break;
    }
    out.emplace_back(std::move(label), std::move(text));
  }
  for (std::size_t a = 0; a < core::kAttributeCount; ++a) {
    if (e.attributes.at(a) >= 0)
      out.emplace_back(std::string(core::kAttributes[a].label), std::to_string(e.attributes.at(a)));
  }
  return out;
}

std::string event_tooltip(const RunModel& run, std::uint32_t event) {
  std::string html = "<table>";
  for (const auto& [field, value] : describe_event(run, event)) {
    html += fmt::format("<tr><td><b>{}</b></td><td>{}</td></tr>", escape_html(field), escape_html(value));
  }
  return html + "</table>";
}

std::string event_label(const core::Trace& trace, const core::TraceEvent& event) {
  std::string label(trace.text(event.name));
  const int micro_batch = event.attributes.get(core::Attribute::micro_batch);
  if (micro_batch < 0) return label;
  label += fmt::format(" {}", micro_batch);
  if (const int chunk = event.attributes.get(core::Attribute::chunk); chunk > 0)
    label += fmt::format(".{}", chunk);
  return label;
}

}  // namespace dmlsim::gui
