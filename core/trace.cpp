#include "core/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "core/errors.hpp"

namespace dmlsim::core {

namespace {
constexpr std::pair<Lane, std::string_view> kLaneNames[] = {
    {Lane::phase, "phase"}, {Lane::compute, "compute"}, {Lane::collective, "collective"},
    {Lane::send, "send"},   {Lane::recv, "recv"},       {Lane::counter, "counter"},
    {Lane::mark, "mark"}};
}

std::string_view to_string(Lane lane) {
  for (const auto& [l, name] : kLaneNames) {
    if (l == lane) return name;
  }
  return "?";
}

Lane parse_lane(std::string_view name) {
  for (const auto& [l, n] : kLaneNames) {
    if (n == name) return l;
  }
  throw ValueError(fmt::format("unknown lane '{}'", name));
}

std::uint32_t Trace::intern(std::string_view text) {
  const auto it = ids_.find(text);
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(texts_.size());
  texts_.emplace_back(text);
  ids_.emplace(std::string(text), id);
  return id;
}

void Trace::sort() {
  std::stable_sort(events_.begin(), events_.end(), [](const TraceEvent& a, const TraceEvent& b) {
    return std::tuple(a.rank, a.lane, a.start, -a.end) < std::tuple(b.rank, b.lane, b.start, -b.end);
  });
}

}  // namespace dmlsim::core
