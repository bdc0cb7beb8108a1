#include "core/trace_writer.hpp"

#include <fmt/format.h>

#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <tuple>
#include <utility>

#include "core/trace_fields.hpp"

namespace dmlsim::core {
namespace {

using nlohmann::json;

constexpr double kMicrosecondsPerSecond = 1e6;
// Thread ids: fixed lanes first, then packed sub-lanes per kind.
constexpr int kPhaseTid = 0;
constexpr int kComputeTid = 1;
constexpr int kCollectiveTidBase = 100;
constexpr int kSendTidBase = 1000;
constexpr int kRecvTidBase = 2000;

int tid_base(Lane lane) {
  switch (lane) {
    case Lane::phase:
      return kPhaseTid;
    case Lane::compute:
      return kComputeTid;
    case Lane::collective:
      return kCollectiveTidBase;
    case Lane::send:
      return kSendTidBase;
    case Lane::recv:
      return kRecvTidBase;
    case Lane::mark:
      return kPhaseTid;  // instants sit on the phases' thread
    case Lane::counter:
      return -1;  // counters belong to the process, not a thread
  }
  return kComputeTid;
}

bool packs_into_sublanes(Lane lane) {
  return lane == Lane::collective || lane == Lane::send || lane == Lane::recv;
}

// Assigns each event a thread id: phases and compute keep one thread each (they nest by
// construction); concurrent collectives and messages go to the first sub-lane that is free.
std::vector<int> assign_threads(const Trace& trace) {
  const auto& events = trace.events();
  std::vector<int> tid(events.size());
  std::map<std::pair<int, Lane>, std::vector<double>> sublane_end;  // (rank, lane) → end of each sub-lane
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    if (!packs_into_sublanes(e.lane)) {
      tid[i] = tid_base(e.lane);
      continue;
    }
    auto& ends = sublane_end[{e.rank, e.lane}];
    std::size_t k = 0;
    while (k < ends.size() && ends[k] > e.start) ++k;
    if (k == ends.size()) ends.push_back(e.end);
    ends[k] = e.end;
    tid[i] = tid_base(e.lane) + static_cast<int>(k);
  }
  return tid;
}

std::string thread_name(int tid) {
  if (tid == kPhaseTid) return "phases";
  if (tid == kComputeTid) return "compute";
  if (tid >= kRecvTidBase) return fmt::format("recv {}", tid - kRecvTidBase);
  if (tid >= kSendTidBase) return fmt::format("send {}", tid - kSendTidBase);
  return fmt::format("collective {}", tid - kCollectiveTidBase);
}

// The fields that trace.json carries in "args": the required ones always, the others where they are
// set; the reader fills in the rest with their unset values, so the file reads back whole.
json event_args(const Trace& trace, const TraceEvent& e) {
  json args = json::object();
  for (const TraceField& f : kTraceFields) {
    if (f.chrome != InChrome::args) continue;
    const FieldValue v = f.get(e);
    if (!f.required && v == unset_value(f)) continue;
    const std::string key(f.column);
    switch (f.unit) {
      case FieldUnit::text:
        args[key] = trace.text(static_cast<std::uint32_t>(v.integer));
        break;
      case FieldUnit::lane:
        args[key] = to_string(static_cast<Lane>(v.integer));
        break;
      case FieldUnit::flops:
      case FieldUnit::number:
      case FieldUnit::seconds:
        args[key] = v.real;
        break;
      case FieldUnit::bytes:
        args[key] = static_cast<std::uint64_t>(v.integer);
        break;
      case FieldUnit::integer:
      case FieldUnit::rank:
        args[key] = v.integer;
        break;
    }
  }
  for (std::size_t i = 0; i < kAttributeCount; ++i) {
    if (e.attributes.at(i) >= 0) args[std::string(kAttributes[i].name)] = e.attributes.at(i);
  }
  return args;
}

}  // namespace

void write_chrome_trace(const Trace& trace, std::ostream& out) {
  const auto& events = trace.events();
  const std::vector<int> tids = assign_threads(trace);
  bool first = true;
  auto emit = [&](const json& j) {
    out << (first ? "\n" : ",\n") << j.dump();
    first = false;
  };
  out << "{\"displayTimeUnit\":\"ns\",\"otherData\":"
      << json{{"label", trace.label}, {"generator", "dmlsim"}}.dump() << ",\"traceEvents\":[";

  // Process and thread names, in rank order so lanes sort by rank.
  std::map<int, std::vector<int>> threads_of_rank;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (tids[i] >= 0) threads_of_rank[events[i].rank].push_back(tids[i]);
  }
  for (std::size_t r = 0; r < trace.ranks.size(); ++r) {
    const RankPlacement& p = trace.ranks[r];
    const int pid = static_cast<int>(r);
    emit({{"ph", "M"},
          {"name", "process_name"},
          {"pid", pid},
          {"args", {{"name", fmt::format("rank {} (node {}, {})", r, p.node, p.host_name)}}}});
    emit({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid}, {"args", {{"sort_index", pid}}}});
    auto& tid_list = threads_of_rank[pid];
    std::sort(tid_list.begin(), tid_list.end());
    tid_list.erase(std::unique(tid_list.begin(), tid_list.end()), tid_list.end());
    for (int tid : tid_list) {
      emit({{"ph", "M"},
            {"name", "thread_name"},
            {"pid", pid},
            {"tid", tid},
            {"args", {{"name", thread_name(tid)}}}});
      emit({{"ph", "M"},
            {"name", "thread_sort_index"},
            {"pid", pid},
            {"tid", tid},
            {"args", {{"sort_index", tid}}}});
    }
  }

  // Complete events; counter samples (ph C: their only arg is the value, which Perfetto plots as the
  // series `name`) and instants (ph i, thread-scoped).
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    if (e.lane == Lane::counter) {
      emit({{"ph", "C"},
            {"name", trace.text(e.name)},
            {"pid", e.rank},
            {"ts", e.start * kMicrosecondsPerSecond},
            {"args", {{"value", e.value}}}});
      continue;
    }
    if (e.lane == Lane::mark) {
      emit({{"ph", "i"},
            {"s", "t"},
            {"name", trace.text(e.name)},
            {"cat", to_string(e.lane)},
            {"pid", e.rank},
            {"tid", tids[i]},
            {"ts", e.start * kMicrosecondsPerSecond},
            {"args", event_args(trace, e)}});
      continue;
    }
    emit({{"ph", "X"},
          {"name", trace.text(e.name)},
          {"cat", to_string(e.lane)},
          {"pid", e.rank},
          {"tid", tids[i]},
          {"ts", e.start * kMicrosecondsPerSecond},
          {"dur", e.duration() * kMicrosecondsPerSecond},
          {"args", event_args(trace, e)}});
  }

  // Flow arrows: the k-th send from a to b on a communicator's tag is received by the k-th receive
  // at b.
  std::map<std::tuple<int, int, std::uint32_t, int, std::uint32_t>, std::size_t> receives;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    if (e.lane == Lane::recv) receives[{e.peer, e.rank, e.comm, e.tag, e.seq}] = i;
  }
  std::uint64_t flow_id = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& s = events[i];
    if (s.lane != Lane::send) continue;
    const auto it = receives.find({s.rank, s.peer, s.comm, s.tag, s.seq});
    if (it == receives.end()) continue;
    const TraceEvent& r = events[it->second];
    ++flow_id;
    emit({{"ph", "s"},
          {"name", "message"},
          {"cat", "message"},
          {"id", flow_id},
          {"pid", s.rank},
          {"tid", tids[i]},
          {"ts", s.start * kMicrosecondsPerSecond}});
    // Bound to the enclosing receive slice ("bp": "e"), at its midpoint so it is surely inside.
    emit({{"ph", "f"},
          {"bp", "e"},
          {"name", "message"},
          {"cat", "message"},
          {"id", flow_id},
          {"pid", r.rank},
          {"tid", tids[it->second]},
          {"ts", 0.5 * (r.start + r.end) * kMicrosecondsPerSecond}});
  }
  out << "\n]}\n";
}

namespace {
std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}
}  // namespace

void write_csv_trace(const Trace& trace, std::ostream& out) {
  const char* separator = "";
  for (const TraceField& f : kTraceFields) out << std::exchange(separator, ",") << f.column;
  for (const AttributeSpec& a : kAttributes) out << ',' << a.name;
  out << '\n';
  std::string row;
  for (const TraceEvent& e : trace.events()) {
    row.clear();
    auto it = std::back_inserter(row);
    for (std::size_t k = 0; k < kTraceFieldCount; ++k) {
      const TraceField& f = kTraceFields[k];
      const FieldValue v = f.get(e);
      if (k > 0) row += ',';
      if (f.unit == FieldUnit::text) {
        row += csv_field(trace.text(static_cast<std::uint32_t>(v.integer)));
      } else if (f.unit == FieldUnit::lane) {
        row += to_string(static_cast<Lane>(v.integer));
      } else if (is_real(f.unit)) {
        fmt::format_to(it, "{}", v.real);
      } else if (f.unit == FieldUnit::bytes) {
        fmt::format_to(it, "{}", static_cast<std::uint64_t>(v.integer));
      } else {
        fmt::format_to(it, "{}", v.integer);
      }
    }
    for (std::size_t i = 0; i < kAttributeCount; ++i) fmt::format_to(it, ",{}", e.attributes.at(i));
    row += '\n';
    out << row;
  }
}

}  // namespace dmlsim::core
