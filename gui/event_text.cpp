#include "gui/event_text.hpp"

#include <fmt/format.h>

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
  out.emplace_back("name", std::string(trace.text(e.name)));
  out.emplace_back("rank", std::to_string(e.rank));
  out.emplace_back("lane", std::string(core::to_string(e.lane)));
  if (e.category != 0 && trace.text(e.category) != trace.text(e.name))
    out.emplace_back("category", std::string(trace.text(e.category)));
  out.emplace_back("start", format_duration(e.start));
  out.emplace_back("duration", format_duration(e.duration()));
  if (e.bytes > 0)
    out.emplace_back("bytes",
                     fmt::format("{} ({} B)", core::format_bytes(static_cast<double>(e.bytes)), e.bytes));
  if (e.flops > 0) out.emplace_back("flops", format_flops(e.flops));
  if (e.peer >= 0)
    out.emplace_back(e.lane == core::Lane::send ? "to rank" : "from rank", std::to_string(e.peer));
  if (e.iteration >= 0) out.emplace_back("iteration", std::to_string(e.iteration));
  if (e.group_size > 0) out.emplace_back("group size", std::to_string(e.group_size));
  for (std::size_t a = 0; a < core::kAttributeCount; ++a) {
    if (e.attributes.at(a) >= 0)
      out.emplace_back(std::string(core::kAttributes[a].label), std::to_string(e.attributes.at(a)));
  }
  if (e.lane == core::Lane::send || e.lane == core::Lane::recv) {
    if (e.comm != 0) out.emplace_back("communicator", std::string(trace.text(e.comm)));
    out.emplace_back("tag", std::to_string(e.tag));
    out.emplace_back("seq", std::to_string(e.seq));
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

}  // namespace dmlsim::gui
