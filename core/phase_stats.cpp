#include "core/phase_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "core/errors.hpp"

namespace dmlsim::core {

int iteration_count(const Trace& trace) {
  std::set<int> marked, any;
  for (const TraceEvent& e : trace.events()) {
    if (e.iteration < 0) continue;
    any.insert(e.iteration);
    if (e.lane == Lane::phase && trace.text(e.name) == "iteration") marked.insert(e.iteration);
  }
  if (!marked.empty()) return static_cast<int>(marked.size());
  if (!any.empty()) return static_cast<int>(any.size());
  return 1;
}

// Exact, so that two sizes never share a label: "64 MiB", "1536 B" (the largest unit that
// divides the size).
std::string phase_label(std::string_view name, std::uint64_t bytes) {
  if (bytes == 0) return std::string(name);
  constexpr std::string_view units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < std::size(units) && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{} {} {}", name, bytes, units[unit]);
}

std::vector<PhaseTime> phase_times(const Trace& trace) {
  struct Accumulator {
    PhaseTime time;
    double first_start = std::numeric_limits<double>::infinity();
    std::map<int, double> per_rank;  // rank → total seconds
  };
  // (collective, text id, message size of a phase)
  std::map<std::tuple<bool, std::uint32_t, std::uint64_t>, Accumulator> phases;
  for (const TraceEvent& e : trace.events()) {
    std::uint32_t key = 0;
    std::uint64_t bytes = 0;
    bool collective = false;
    if (e.lane == Lane::phase && trace.text(e.name) != "iteration") {
      key = e.name;
      bytes = e.bytes;
    } else if (e.lane == Lane::collective && !is_collective_part(e)) {
      key = e.category;
      collective = true;
    } else {
      continue;
    }
    Accumulator& a = phases[{collective, key, bytes}];
    if (a.time.phase.empty()) a.time.phase = phase_label(trace.text(key), bytes);
    a.time.collective = collective;
    a.first_start = std::min(a.first_start, e.start);
    a.per_rank[e.rank] += e.duration();
  }

  const double iterations = iteration_count(trace);
  std::vector<std::pair<double, PhaseTime>> ordered;
  for (auto& [key, a] : phases) {
    double sum = 0;
    for (const auto& [rank, seconds] : a.per_rank) sum += seconds / iterations;
    a.time.ranks = static_cast<int>(a.per_rank.size());
    a.time.seconds = sum / static_cast<double>(a.per_rank.size());
    ordered.emplace_back(a.first_start, a.time);
  }
  std::sort(ordered.begin(), ordered.end(), [](const auto& x, const auto& y) {
    return std::tie(x.first, x.second.phase, x.second.collective) <
           std::tie(y.first, y.second.phase, y.second.collective);
  });
  std::vector<PhaseTime> out;
  for (auto& [start, time] : ordered) out.push_back(std::move(time));
  return out;
}

std::vector<PhaseDifference> compare_phases(const std::vector<PhaseTime>& predicted,
                                            const std::vector<PhaseTime>& measured) {
  std::vector<PhaseDifference> out;
  std::vector<std::pair<std::string, bool>> keys;
  auto find = [](const std::vector<PhaseTime>& times, const std::pair<std::string, bool>& key) {
    for (const PhaseTime& t : times) {
      if (t.phase == key.first && t.collective == key.second) return t.seconds;
    }
    return 0.0;
  };
  for (const auto* run : {&predicted, &measured}) {
    for (const PhaseTime& t : *run) {
      std::pair<std::string, bool> key{t.phase, t.collective};
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    }
  }
  for (const auto& key : keys) {
    PhaseDifference d;
    d.phase = key.first;
    d.predicted_seconds = find(predicted, key);
    d.measured_seconds = find(measured, key);
    d.error_percent = d.measured_seconds != 0
                          ? (d.predicted_seconds - d.measured_seconds) / d.measured_seconds * 100
                          : std::nan("");
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<PhaseDifference> compare_phases(const Trace& predicted, const Trace& measured) {
  return compare_phases(phase_times(predicted), phase_times(measured));
}

nlohmann::json to_json(const std::vector<PhaseDifference>& differences) {
  nlohmann::json out = nlohmann::json::array();
  for (const PhaseDifference& d : differences) {
    nlohmann::json row = {
        {"phase", d.phase}, {"predicted_s", d.predicted_seconds}, {"measured_s", d.measured_seconds}};
    row["error_percent"] =
        std::isfinite(d.error_percent) ? nlohmann::json(d.error_percent) : nlohmann::json();
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<PhaseDifference> phase_differences_from_json(const nlohmann::json& phases) {
  if (!phases.is_array())
    throw ValueError(fmt::format("'phases' must be an array, found {}", phases.type_name()));
  std::vector<PhaseDifference> out;
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const nlohmann::json& row = phases[i];
    auto field = [&](const char* name) -> const nlohmann::json& {
      if (!row.is_object() || !row.contains(name))
        throw ValueError(fmt::format("phases[{}]: missing field '{}'", i, name));
      return row[name];
    };
    auto number = [&](const char* name) {
      const nlohmann::json& v = field(name);
      if (v.is_null()) return std::nan("");
      if (!v.is_number()) throw ValueError(fmt::format("phases[{}]: field '{}' must be a number", i, name));
      return v.get<double>();
    };
    PhaseDifference d;
    const nlohmann::json& phase = field("phase");
    if (!phase.is_string()) throw ValueError(fmt::format("phases[{}]: field 'phase' must be a string", i));
    d.phase = phase.get<std::string>();
    d.predicted_seconds = number("predicted_s");
    d.measured_seconds = number("measured_s");
    d.error_percent = number("error_percent");
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace dmlsim::core
