#include "core/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <ostream>
#include <set>

#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::core {

double bus_factor(std::string_view collective, int n) {
  if (n <= 1) return 0;
  const double nd = n;
  if (collective == "all-reduce") return 2 * (nd - 1) / nd;
  if (collective == "reduce-scatter" || collective == "all-gather") return (nd - 1) / nd;
  return 1;  // broadcast, reduce, point-to-point
}

namespace {

// The samples of each iteration where the trace counts them (kSamplesTrained), from the events of
// the ranks that mark iterations; and RunSummary::iteration_marks when those ranks do not train
// (a federated server's reports, late updates, dropouts — a training rank's zero-length phases are
// work that took no time, such as a gradient sync already done, not events to count).
void count_iteration_marks(const Trace& trace, const std::set<int>& clock_ranks, bool clocks_train,
                           const std::map<int, double>& iterations, RunSummary& s) {
  std::map<int, std::size_t> index;  // iteration number → position
  for (const auto& [iteration, end] : iterations) index.emplace(iteration, index.size());
  std::vector<std::map<std::string, int>> marks(index.size());
  double samples = 0;
  bool counted = false, marked = false;
  for (const TraceEvent& e : trace.events()) {
    if (!clock_ranks.contains(e.rank)) continue;
    const auto at = index.find(e.iteration);
    if (at == index.end()) continue;
    const std::string_view name = trace.text(e.name);
    if (e.lane == Lane::counter && name == kSamplesTrained) {
      samples += e.value;
      counted = true;
    } else if (!clocks_train && e.lane == Lane::phase && e.start == e.end) {
      ++marks[at->second][std::string(name)];
      marked = true;
    }
  }
  if (marked) s.iteration_marks = std::move(marks);
  if (counted && !index.empty())
    s.samples_per_iteration = std::llround(samples / static_cast<double>(index.size()));
}

}  // namespace

bool is_pass_phase(std::string_view name) {
  return name == kForwardPhase || name == kBackwardPhase || name == kWeightGradientPhase;
}

bool is_elastic_phase(std::string_view name) {
  return std::find(std::begin(kElasticPhases), std::end(kElasticPhases), name) != std::end(kElasticPhases);
}

bool kept_at_every_detail(Lane lane, std::string_view name) {
  switch (lane) {
    case Lane::phase:
      return name == "iteration" || is_elastic_phase(name);
    case Lane::mark:
      return name == kFailureMark;
    case Lane::counter:
      return std::find(std::begin(kElasticCounters), std::end(kElasticCounters), name) !=
             std::end(kElasticCounters);
    default:
      return false;
  }
}

namespace {

// Each elastic phase's time in the stats, under its key in summary.json's time_lost_s, and how the
// printed summary names it.
struct ElasticCause {
  std::string_view phase;
  double ElasticStats::*seconds;
  const char* key;
  const char* label;
};
constexpr ElasticCause kElasticCauses[] = {
    {kCheckpointPhase, &ElasticStats::checkpoint_s, "checkpoint_write", "checkpoint writes"},
    {kCheckpointLoadPhase, &ElasticStats::load_s, "checkpoint_load", "load"},
    {kFailureDetectionPhase, &ElasticStats::detection_s, "failure_detection", "detection"},
    {kRestartPhase, &ElasticStats::restart_s, "restart", "restart"},
    {kRendezvousPhase, &ElasticStats::rendezvous_s, "rendezvous", "rendezvous"},
    {kStateTransferPhase, &ElasticStats::transfer_s, "state_transfer", "state transfer"},
    {kWaitingForNodesPhase, &ElasticStats::waiting_s, "waiting_for_nodes", "waiting for nodes"}};
static_assert(std::size(kElasticCauses) == std::size(kElasticPhases));

// The elastic section, from the first rank's events, when the trace has kIterationsKept.
std::optional<ElasticStats> elastic_stats(const Trace& trace, double makespan,
                                          std::int64_t samples_per_iteration) {
  ElasticStats st;
  bool elastic = false;
  for (const TraceEvent& e : trace.events()) {
    if (e.rank != 0) continue;
    const std::string_view name = trace.text(e.name);
    if (e.lane == Lane::counter) {
      if (name == kIterationsKept) {
        st.iterations_kept = std::llround(e.value);
        elastic = true;
      } else if (name == kSamplesKept) {
        st.samples_kept = std::llround(e.value);
      } else if (name == kLostWorkSeconds) {
        st.lost_work_s += e.value;
      } else if (name == kRanksInJob) {
        // The membership's changes: a restart of the same ranks (checkpoint-restart) is not one.
        const int ranks = static_cast<int>(std::llround(e.value));
        if (st.membership.empty() || st.membership.back().second != ranks)
          st.membership.emplace_back(e.start, ranks);
      }
    } else if (e.lane == Lane::phase) {
      for (const ElasticCause& c : kElasticCauses) {
        if (name == c.phase) st.*c.seconds += e.duration();
      }
      if (name == kCheckpointPhase) ++st.checkpoint_writes;
    } else if (e.lane == Lane::mark && name == kFailureMark) {
      ++st.failures;
    }
  }
  if (!elastic) return std::nullopt;
  if (st.samples_kept == 0) st.samples_kept = st.iterations_kept * samples_per_iteration;
  if (makespan > 0) st.goodput = static_cast<double>(st.samples_kept) / makespan;
  return st;
}

}  // namespace

RunSummary summarize(const Trace& trace, std::vector<LinkUsage> links, const Roles& roles) {
  RunSummary s;
  s.label = trace.label;
  s.ranks = static_cast<int>(trace.ranks.size());
  s.training_ranks = roles.training_ranks(s.ranks);
  s.samples_per_iteration = roles.samples_per_iteration;
  const auto trains = [&](int rank) { return roles.of(rank).trains(); };
  const auto& events = trace.events();
  for (const TraceEvent& e : events) s.makespan = std::max(s.makespan, e.end);

  // Iteration boundaries: iteration i ends when its last training rank ends it.
  std::map<int, double> iteration_end, iteration_start;
  const std::uint32_t iteration_id = [&] {
    for (const TraceEvent& e : events) {
      if (e.lane == Lane::phase && trace.text(e.name) == "iteration") return e.name;
    }
    return std::uint32_t{0};
  }();
  // Where no training rank marks iterations, the rank that does keeps them (a federated server's
  // rounds: its clients train tasks, not iterations).
  const bool training_ranks_mark = std::any_of(events.begin(), events.end(), [&](const TraceEvent& e) {
    return e.lane == Lane::phase && e.name == iteration_id && iteration_id != 0 && trains(e.rank);
  });
  std::set<int> clock_ranks;  // the ranks whose marks make the iterations
  for (const TraceEvent& e : events) {
    if (e.lane != Lane::phase || e.name != iteration_id || iteration_id == 0) continue;
    if (training_ranks_mark && !trains(e.rank)) continue;
    clock_ranks.insert(e.rank);
    auto [end_it, new_end] = iteration_end.try_emplace(e.iteration, e.end);
    if (!new_end) end_it->second = std::max(end_it->second, e.end);
    auto [start_it, new_start] = iteration_start.try_emplace(e.iteration, e.start);
    if (!new_start) start_it->second = std::min(start_it->second, e.start);
  }
  double previous_end = iteration_start.empty() ? 0 : iteration_start.begin()->second;
  // An iteration lasts from the previous one's end, or from its own start after a gap in which no
  // iteration ran (an elastic run's steady stretches and restarts).
  for (const auto& [iteration, end] : iteration_end) {
    s.iteration_seconds.push_back(end - std::max(previous_end, iteration_start.at(iteration)));
    previous_end = end;
  }
  for (const auto& [iteration, end] : iteration_end) s.iteration_ends.push_back(end);
  if (s.iteration_seconds.empty()) {  // no marks: the run is one
    s.iteration_seconds.push_back(s.makespan);
    s.iteration_ends.push_back(s.makespan);
  }
  // The clients' updates averaged in, by the end of each iteration.
  std::vector<double> aggregated;  // when each was
  for (const TraceEvent& e : events) {
    if (e.lane != Lane::phase || e.start != e.end) continue;
    const std::string_view name = trace.text(e.name);
    const int client = e.attributes.get(Attribute::client);
    if ((name == kTaskReport || name == kTaskUpdate) && client >= 0 && client < s.ranks &&
        roles.of(client).kind == RoleKind::client)
      aggregated.push_back(e.end);
  }
  if (!aggregated.empty()) {
    std::sort(aggregated.begin(), aggregated.end());
    for (const double end : s.iteration_ends) {
      s.updates_aggregated.push_back(std::upper_bound(aggregated.begin(), aggregated.end(), end) -
                                     aggregated.begin());
    }
  }
  count_iteration_marks(trace, clock_ranks, training_ranks_mark, iteration_end, s);
  for (double t : s.iteration_seconds) s.iteration_mean += t;
  s.iteration_mean /= static_cast<double>(s.iteration_seconds.size());
  const double iterations = static_cast<double>(s.iteration_seconds.size());

  s.per_rank.resize(static_cast<std::size_t>(s.ranks));
  for (int r = 0; r < s.ranks; ++r) {
    s.per_rank[static_cast<std::size_t>(r)].rank = r;
    s.per_rank[static_cast<std::size_t>(r)].role = roles.of(r);
  }
  std::map<std::tuple<std::string, std::uint64_t, int>, CollectiveStats> collectives;
  // Compute comes from kernel events; a trace recorded with `trace: phases` has none, and then the
  // forward, backward (and weight-gradient), optimizer and local-training phases stand for it. With `trace:
  // none` only the iteration marks exist: the breakdown is unknown, not zero.
  bool kernels = false;
  std::vector<double> phase_compute(static_cast<std::size_t>(s.ranks), 0.0);
  // A rank's iterations, by start: the per-iteration communication is its collectives inside them
  // (an elastic run's state transfers between epochs are not part of an iteration).
  std::vector<std::vector<std::pair<double, double>>> iteration_spans(static_cast<std::size_t>(s.ranks));
  for (const TraceEvent& e : events) {
    if (e.lane == Lane::phase && e.name == iteration_id && iteration_id != 0 && e.rank >= 0 &&
        e.rank < s.ranks)
      iteration_spans[static_cast<std::size_t>(e.rank)].emplace_back(e.start, e.end);
  }
  for (auto& spans : iteration_spans) std::sort(spans.begin(), spans.end());
  const auto in_an_iteration = [&](const TraceEvent& e) {
    const auto& spans = iteration_spans[static_cast<std::size_t>(e.rank)];
    if (spans.empty()) return true;  // a rank that marks no iterations: all of its time counts
    auto it = std::upper_bound(spans.begin(), spans.end(),
                               std::pair{e.start, std::numeric_limits<double>::infinity()});
    return it != spans.begin() && e.start <= std::prev(it)->second;
  };
  s.breakdown_recorded = false;
  for (const TraceEvent& e : events) {
    if (e.rank < 0 || e.rank >= s.ranks) continue;
    RankStats& rs = s.per_rank[static_cast<std::size_t>(e.rank)];
    // A trace with more than what every detail keeps records the breakdown.
    if (!s.breakdown_recorded && !kept_at_every_detail(e.lane, trace.text(e.name)))
      s.breakdown_recorded = true;
    if (e.lane == Lane::compute) {
      rs.compute_seconds += e.duration();
      kernels = true;
    }
    if (e.lane == Lane::phase) {
      const std::string_view name = trace.text(e.name);
      // ZB-H1 splits backward into input-gradient ("backward") and weight-gradient passes.
      // A federated client's local training is all compute.
      if (is_pass_phase(name) || name == kOptimizerPhase || name == kLocalTrainingPhase)
        phase_compute[static_cast<std::size_t>(e.rank)] += e.duration();
    }
    if (e.lane == Lane::collective && !is_collective_part(e)) {
      if (in_an_iteration(e)) rs.communication_seconds += e.duration();
      CollectiveStats& c = collectives[{std::string(trace.text(e.name)), e.bytes, e.group_size}];
      c.collective = trace.text(e.category);
      c.name = trace.text(e.name);
      c.bytes = e.bytes;
      c.group_size = e.group_size;
      ++c.count;
      c.mean_seconds += e.duration();
    }
  }
  for (RankStats& rs : s.per_rank) {
    if (!kernels) rs.compute_seconds = phase_compute[static_cast<std::size_t>(rs.rank)];
    rs.compute_seconds /= iterations;
    rs.communication_seconds /= iterations;
    rs.exposed_seconds = std::max(0.0, s.iteration_mean - rs.compute_seconds);
    rs.busy_fraction = s.iteration_mean > 0 ? rs.compute_seconds / s.iteration_mean : 0;
    if (!rs.role.trains()) continue;
    s.compute_mean += rs.compute_seconds;
    s.communication_mean += rs.communication_seconds;
    s.exposed_mean += rs.exposed_seconds;
    s.hidden_mean += std::max(0.0, rs.communication_seconds - rs.exposed_seconds);
  }
  if (s.training_ranks > 0) {
    s.compute_mean /= s.training_ranks;
    s.communication_mean /= s.training_ranks;
    s.exposed_mean /= s.training_ranks;
    s.hidden_mean /= s.training_ranks;
  }
  for (auto& [key, c] : collectives) {
    c.mean_seconds /= static_cast<double>(c.count);
    c.algbw = c.mean_seconds > 0 ? static_cast<double>(c.bytes) / c.mean_seconds : 0;
    c.busbw = c.algbw * bus_factor(c.collective, c.group_size);
    s.collectives.push_back(c);
  }
  // Busiest first; equally busy links (every link of a ring) by name, whatever order they were used in.
  std::sort(links.begin(), links.end(), [](const LinkUsage& a, const LinkUsage& b) {
    if (a.busy_seconds() != b.busy_seconds()) return a.busy_seconds() > b.busy_seconds();
    return a.name < b.name;
  });
  s.links = std::move(links);
  s.elastic = elastic_stats(trace, s.makespan, s.samples_per_iteration);
  return s;
}

nlohmann::json RunSummary::to_json(std::size_t max_links) const {
  nlohmann::json j;
  j["schema_version"] = kSummarySchemaVersion;
  j["label"] = label;
  j["ranks"] = ranks;
  j["training_ranks"] = training_ranks;
  auto& role_counts = j["roles"] = nlohmann::json::object();
  for (const RankStats& r : per_rank) {
    const std::string kind(to_string(r.role.kind));
    role_counts[kind] = role_counts.value(kind, 0) + 1;
  }
  j["samples_per_iteration"] = samples_per_iteration;
  j["samples_per_s"] = samples_per_iteration > 0 ? nlohmann::json(samples_per_second()) : nlohmann::json();
  j["makespan_s"] = makespan;
  j["iteration_s"] = iteration_mean;
  j["iterations_s"] = iteration_seconds;
  j["iteration_ends_s"] = iteration_ends;
  if (!updates_aggregated.empty()) j["updates_aggregated"] = updates_aggregated;
  if (!iteration_marks.empty()) j["marks_per_iteration"] = iteration_marks;
  // Unknown (null) rather than zero when the trace did not record them (trace: none).
  const auto known = [&](double v) { return breakdown_recorded ? nlohmann::json(v) : nlohmann::json(); };
  j["compute_s"] = known(compute_mean);
  j["communication_s"] = known(communication_mean);
  j["exposed_communication_s"] = known(exposed_mean);
  j["hidden_communication_s"] = known(hidden_mean);
  j["messages"] = messages;
  if (elastic) {
    nlohmann::json membership = nlohmann::json::array();
    for (const auto& [at, members] : elastic->membership)
      membership.push_back({{"from_s", at}, {"ranks", members}});
    j["elastic"] = {{"iterations_kept", elastic->iterations_kept},
                    {"samples_kept", elastic->samples_kept},
                    {"failures", elastic->failures},
                    {"membership", membership},
                    {"checkpoint_writes", elastic->checkpoint_writes},
                    {"goodput_samples_per_s", elastic->goodput},
                    {"time_lost_s", {{"lost_work", elastic->lost_work_s}}}};
    for (const ElasticCause& c : kElasticCauses) j["elastic"]["time_lost_s"][c.key] = (*elastic).*c.seconds;
  }
  auto& rank_list = j["per_rank"] = nlohmann::json::array();
  for (const RankStats& r : per_rank) {
    rank_list.push_back({{"rank", r.rank},
                         {"role", r.role.label()},
                         {"compute_s", known(r.compute_seconds)},
                         {"communication_s", known(r.communication_seconds)},
                         {"exposed_communication_s", known(r.exposed_seconds)},
                         {"busy_percent", known(100 * r.busy_fraction)}});
  }
  auto& coll = j["collectives"] = nlohmann::json::array();
  for (const CollectiveStats& c : collectives) {
    coll.push_back({{"collective", c.collective},
                    {"name", c.name},
                    {"bytes", c.bytes},
                    {"group_size", c.group_size},
                    {"count", c.count},
                    {"time_s", c.mean_seconds},
                    {"algbw_GBps", c.algbw / 1e9},
                    {"busbw_GBps", c.busbw / 1e9}});
  }
  j["links_total"] = links.size();
  auto& link_list = j["links"] = nlohmann::json::array();
  for (std::size_t i = 0; i < links.size() && i < max_links; ++i) {
    const LinkUsage& l = links[i];
    link_list.push_back({{"link", l.name},
                         {"bandwidth_GBps", l.bandwidth / 1e9},
                         {"bytes", l.bytes},
                         {"busy_s", l.busy_seconds()},
                         {"utilization_percent", makespan > 0 ? 100 * l.busy_seconds() / makespan : 0}});
  }
  return j;
}

RunSummary RunSummary::from_json(const nlohmann::json& j) {
  const auto fail = [](std::string_view key, std::string_view why) -> ValueError {
    return ValueError(fmt::format("summary.json: '{}' {}", key, why));
  };
  const int version = j.contains("schema_version") ? j["schema_version"].get<int>() : 1;
  if (version > kSummarySchemaVersion) {
    throw ValueError(fmt::format("summary.json: schema_version {} is newer than this dmlsim reads ({})",
                                 version, kSummarySchemaVersion));
  }
  // A number that may be null (not recorded): 0, and breakdown_recorded says which.
  const auto number = [&](const nlohmann::json& o, const char* key) -> double {
    if (!o.contains(key)) throw fail(key, "is missing");
    const nlohmann::json& v = o[key];
    if (v.is_null()) return 0;
    if (!v.is_number()) throw fail(key, "is not a number");
    return v.get<double>();
  };
  try {
    RunSummary s;
    s.label = j.at("label").get<std::string>();
    s.ranks = j.at("ranks").get<int>();
    s.training_ranks = j.at("training_ranks").get<int>();
    s.makespan = number(j, "makespan_s");
    s.iteration_seconds = j.at("iterations_s").get<std::vector<double>>();
    if (j.contains("iteration_ends_s"))
      s.iteration_ends = j.at("iteration_ends_s").get<std::vector<double>>();
    if (j.contains("updates_aggregated"))
      s.updates_aggregated = j.at("updates_aggregated").get<std::vector<std::int64_t>>();
    s.iteration_mean = number(j, "iteration_s");
    if (j.contains("marks_per_iteration"))
      s.iteration_marks = j.at("marks_per_iteration").get<std::vector<std::map<std::string, int>>>();
    s.breakdown_recorded = !j.at("compute_s").is_null();
    s.compute_mean = number(j, "compute_s");
    s.communication_mean = number(j, "communication_s");
    s.exposed_mean = number(j, "exposed_communication_s");
    s.hidden_mean = version >= 3 ? number(j, "hidden_communication_s")
                                 : std::max(0.0, s.communication_mean - s.exposed_mean);
    s.messages = j.at("messages").get<std::uint64_t>();
    if (j.contains("elastic")) {
      const nlohmann::json& el = j.at("elastic");
      const nlohmann::json& lost = el.at("time_lost_s");
      ElasticStats st;
      st.iterations_kept = el.at("iterations_kept").get<std::int64_t>();
      st.samples_kept = el.at("samples_kept").get<std::int64_t>();
      for (const auto& m : el.at("membership"))
        st.membership.emplace_back(number(m, "from_s"), m.at("ranks").get<int>());
      st.failures = el.at("failures").get<int>();
      st.checkpoint_writes = el.at("checkpoint_writes").get<int>();
      st.goodput = number(el, "goodput_samples_per_s");
      for (const ElasticCause& c : kElasticCauses) st.*c.seconds = number(lost, c.key);
      st.lost_work_s = number(lost, "lost_work");
      s.elastic = st;
    }
    if (version >= 3) s.samples_per_iteration = j.at("samples_per_iteration").get<std::int64_t>();
    for (const auto& r : j.at("per_rank")) {
      const int rank = r.at("rank").get<int>();
      // Before layout 3 the first training_ranks ranks trained and the others served.
      const Role role = version >= 3              ? Role::parse(r.at("role").get<std::string>())
                        : rank < s.training_ranks ? Role{}
                                                  : Role{RoleKind::server, rank - s.training_ranks};
      s.per_rank.push_back({rank, role, number(r, "compute_s"), number(r, "communication_s"),
                            number(r, "exposed_communication_s"), number(r, "busy_percent") / 100});
    }
    for (const auto& c : j.at("collectives")) {
      s.collectives.push_back({c.at("collective").get<std::string>(), c.at("name").get<std::string>(),
                               c.at("bytes").get<std::uint64_t>(), c.at("group_size").get<int>(),
                               c.at("count").get<std::size_t>(), number(c, "time_s"),
                               number(c, "algbw_GBps") * 1e9, number(c, "busbw_GBps") * 1e9});
    }
    for (const auto& l : j.at("links")) {
      s.links.push_back({l.at("link").get<std::string>(), number(l, "bandwidth_GBps") * 1e9,
                         l.at("bytes").get<std::uint64_t>()});
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(fmt::format("summary.json: {}", e.what()));
  }
}

void write_links_csv(const RunSummary& s, std::ostream& out) {
  out << "link,bandwidth_Bps,bytes,busy_s,utilization\n";
  for (const LinkUsage& l : s.links) {
    out << fmt::format("{},{},{},{},{}\n", l.name, l.bandwidth, l.bytes, l.busy_seconds(),
                       s.makespan > 0 ? l.busy_seconds() / s.makespan : 0);
  }
}

void print_summary(const RunSummary& s, std::ostream& out, std::size_t max_links) {
  out << fmt::format("{}: {} ranks, {} iteration(s)\n", s.label, s.ranks, s.iteration_seconds.size());
  if (s.training_ranks < s.ranks) {
    Roles roles;
    for (const RankStats& r : s.per_rank) roles.ranks.push_back(r.role);
    out << fmt::format("  roles: {}; the means are over the {} that train\n", roles.describe(s.ranks),
                       s.training_ranks);
  }
  out << fmt::format("  iteration time        {:>12}\n", format_duration(s.iteration_mean));
  if (s.samples_per_iteration > 0) {
    out << fmt::format("  throughput            {:>12.1f} samples/s ({} per iteration)\n",
                       s.samples_per_second(), s.samples_per_iteration);
  }
  if (s.elastic) {
    const ElasticStats& el = *s.elastic;
    out << fmt::format("  elastic               {} iterations kept in {}; goodput {:.1f} samples/s\n",
                       el.iterations_kept, format_duration(s.makespan), el.goodput);
    std::string causes = fmt::format("{} failures: detection {}, lost work {}", el.failures,
                                     format_duration(el.detection_s), format_duration(el.lost_work_s));
    for (const ElasticCause& c : kElasticCauses) {
      // Detection is always named (above), checkpoint writes with their count (below).
      if (c.phase == kFailureDetectionPhase || c.phase == kCheckpointPhase || !(el.*c.seconds > 0)) continue;
      causes += fmt::format(", {} {}", c.label, format_duration(el.*c.seconds));
    }
    if (el.checkpoint_writes > 0)
      causes +=
          fmt::format("; {} checkpoint writes {}", el.checkpoint_writes, format_duration(el.checkpoint_s));
    out << fmt::format("  time lost             {} ({})\n", format_duration(el.lost_s()), causes);
    if (el.membership.size() > 1) {
      std::string line;
      for (const auto& [at, ranks] : el.membership)
        line += fmt::format("{}{} from {}", line.empty() ? "" : ", ", ranks, format_duration(at));
      out << fmt::format("  ranks in the job      {}\n", line);
    }
  }
  if (!s.iteration_marks.empty()) {
    // "report 98.5, late 1.5, dropped 9.9" per iteration, in order of first appearance.
    std::vector<std::pair<std::string, double>> means;
    for (const auto& counts : s.iteration_marks) {
      for (const auto& [name, n] : counts) {
        const std::string& mark = name;  // clang 14 cannot capture a structured binding
        auto it = std::find_if(means.begin(), means.end(), [&](const auto& m) { return m.first == mark; });
        if (it == means.end()) it = means.insert(means.end(), {name, 0.0});
        it->second += n;
      }
    }
    std::string line;
    for (const auto& [name, total] : means) {
      line += fmt::format("{}{} {:.4g}", line.empty() ? "" : ", ", name,
                          total / static_cast<double>(s.iteration_marks.size()));
    }
    out << fmt::format("  per iteration         {}\n", line);
  }
  if (!s.updates_aggregated.empty() && !s.iteration_ends.empty()) {
    out << fmt::format("  updates aggregated    {} by the end of iteration {} at {}\n",
                       s.updates_aggregated.back(), s.updates_aggregated.size(),
                       format_duration(s.iteration_ends.back()));
  }
  if (s.breakdown_recorded) {
    out << fmt::format("  compute               {:>12}  ({:.1f} % of the iteration)\n",
                       format_duration(s.compute_mean),
                       s.iteration_mean > 0 ? 100 * s.compute_mean / s.iteration_mean : 0);
    out << fmt::format("  communication         {:>12}\n", format_duration(s.communication_mean));
    out << fmt::format("  exposed communication {:>12}\n", format_duration(s.exposed_mean));
    out << fmt::format("  hidden communication  {:>12}  (overlapped with compute)\n",
                       format_duration(s.hidden_mean));
  } else {
    out << "  compute, communication: not recorded (trace: none; use trace: phases or more)\n";
  }
  if (!s.collectives.empty()) {
    out << fmt::format("  {:<36} {:>6} {:>12} {:>11} {:>11}\n", "collective", "count", "time", "algbw GB/s",
                       "busbw GB/s");
    for (const CollectiveStats& c : s.collectives) {
      out << fmt::format("  {:<36} {:>6} {:>12} {:>11.3f} {:>11.3f}\n", c.name, c.count,
                         format_duration(c.mean_seconds), c.algbw / 1e9, c.busbw / 1e9);
    }
  }
  if (!s.links.empty()) {
    // Per iteration, as compare shows them; links.csv and summary.json keep the run's totals.
    const double iterations = std::max<double>(1, static_cast<double>(s.iteration_seconds.size()));
    out << fmt::format("  busiest links ({} of {}), per iteration:\n", std::min(max_links, s.links.size()),
                       s.links.size());
    for (std::size_t i = 0; i < s.links.size() && i < max_links; ++i) {
      const LinkUsage& l = s.links[i];
      out << fmt::format("    {:<30} {:>12} busy {:>10} ({:.1f} %)\n", l.name,
                         format_bytes(static_cast<double>(l.bytes) / iterations),
                         format_duration(l.busy_seconds() / iterations),
                         s.makespan > 0 ? 100 * l.busy_seconds() / s.makespan : 0);
    }
  }
}

}  // namespace dmlsim::core
