#include "gui/run_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/trace_reader.hpp"

namespace dmlsim::gui {
namespace {

constexpr core::Lane kLaneOrder[] = {core::Lane::phase, core::Lane::compute, core::Lane::collective,
                                     core::Lane::send,  core::Lane::recv,    core::Lane::counter,
                                     core::Lane::mark};

nlohmann::json read_summary(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return nullptr;
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw core::ConfigError(fmt::format("{}: malformed JSON: {}", file.string(), e.what()));
  }
}

}  // namespace

std::unique_ptr<RunModel> RunModel::load(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path file = path;
  if (std::filesystem::is_directory(path, ec)) {
    file = path / "trace.json";
    if (!std::filesystem::exists(file, ec)) {
      throw core::TraceReadError(fmt::format(
          "{}: no trace.json in this directory (a run directory written by `dmlsim run` holds one)",
          path.string()));
    }
  }
  auto model = std::make_unique<RunModel>(core::read_chrome_trace(file), file);
  model->summary_ = read_summary(file.parent_path() / "summary.json");
  if (model->summary_.is_object() && model->summary_.contains("parallelism")) {
    try {
      model->mesh_ = core::mesh_from_json(model->summary_["parallelism"]);
    } catch (const core::ValueError&) {
      // An older or hand-edited summary: the lanes go without mesh coordinates.
    }
  }
  model->build_nodes();  // again, with the summary: an edge platform's clients group by their class
  return model;
}

RunModel::RunModel(core::Trace trace, std::filesystem::path trace_file)
    : trace_(std::move(trace)), trace_file_(std::move(trace_file)) {
  label_ = trace_.label;
  if (label_.empty()) label_ = trace_file_.parent_path().filename().string();
  if (label_.empty()) label_ = "run";
  build_tracks();
  build_nodes();
  build_messages();
  build_iterations();
  build_elastic();
  build_jobs();
  build_client_tasks();
  build_bubbles();
}

std::string RunModel::kind() const {
  if (summary_.is_object() && summary_.contains("backend") && summary_["backend"].is_string()) {
    const std::string backend = summary_["backend"].get<std::string>();
    if (backend == "sim") return "simulated";
    if (backend == "real") return "measured";
  }
  for (const char* k : {"simulated", "measured"}) {
    if (label_.ends_with(std::string("(") + k + ")")) return k;
  }
  return {};
}

std::string RunModel::role_of(int rank) const {
  if (!summary_.is_object() || !summary_.contains("per_rank") || !summary_["per_rank"].is_array()) return {};
  const nlohmann::json& ranks = summary_["per_rank"];
  if (rank < 0 || static_cast<std::size_t>(rank) >= ranks.size()) return {};
  const nlohmann::json& entry = ranks[static_cast<std::size_t>(rank)];
  if (!entry.is_object() || !entry.contains("role") || !entry["role"].is_string()) return {};
  return entry["role"].get<std::string>();
}

std::string RunModel::job_of(int rank) const {
  if (rank < 0 || static_cast<std::size_t>(rank) >= job_of_rank_.size() || job_of_rank_[rank] < 0) return {};
  if (!summary_.is_object() || !summary_.contains(core::kJobsKey) || !summary_[core::kJobsKey].is_array())
    return {};
  const nlohmann::json& jobs = summary_[core::kJobsKey];
  const auto j = static_cast<std::size_t>(job_of_rank_[rank]);
  if (j >= jobs.size() || !jobs[j].is_object() || !jobs[j].contains("name") || !jobs[j]["name"].is_string())
    return {};
  return jobs[j]["name"].get<std::string>();
}

// Entry `rank` of summary.json's per-rank list `key` when it is a string; empty otherwise.
std::string RunModel::per_rank_text(std::string_view key, int rank) const {
  if (!summary_.is_object() || !summary_.contains(key)) return {};
  const nlohmann::json& values = summary_[std::string(key)];
  if (!values.is_array() || rank < 0 || static_cast<std::size_t>(rank) >= values.size()) return {};
  const nlohmann::json& v = values[static_cast<std::size_t>(rank)];
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::string RunModel::host_class_of(int rank) const {
  return per_rank_text(core::kHostClassOfRankKey, rank);
}

std::string RunModel::site_of(int rank) const {
  return per_rank_text(core::kSiteOfRankKey, rank);
}

std::string RunModel::mesh_coordinates_of(int rank) const {
  if (!mesh_ || mesh_->ranks() != rank_count() || rank < 0 || rank >= rank_count()) return {};
  const auto split = std::count_if(mesh_->dimensions().begin(), mesh_->dimensions().end(),
                                   [](const core::Mesh::Dimension& d) { return d.size > 1; });
  return split > 1 ? mesh_->coordinates_label(rank) : std::string();
}

EventKind RunModel::kind(std::uint32_t i) const {
  const EventLocation where = locations_[i];
  return tracks_[where.track].kind(where.position);
}

void RunModel::build_tracks() {
  const auto& events = trace_.events();
  int ranks = static_cast<int>(trace_.ranks.size());
  for (const core::TraceEvent& e : events) ranks = std::max(ranks, e.rank + 1);

  // Counting sort by (rank, lane), then by (start, longer first) within each: the order the writer
  // assigns threads in, so the sub-lanes here are its threads.
  const std::size_t lanes = std::size(kLaneOrder);
  auto bucket_of = [&](const core::TraceEvent& e) {
    return static_cast<std::size_t>(e.rank) * lanes + static_cast<std::size_t>(e.lane);
  };
  std::vector<std::uint32_t> offsets(static_cast<std::size_t>(ranks) * lanes + 1, 0);
  for (const core::TraceEvent& e : events) ++offsets[bucket_of(e) + 1];
  std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
  std::vector<std::uint32_t> order(events.size());
  {
    std::vector<std::uint32_t> fill(offsets.begin(), offsets.end() - 1);
    for (std::uint32_t i = 0; i < events.size(); ++i) order[fill[bucket_of(events[i])]++] = i;
  }

  tracks_of_rank_.assign(static_cast<std::size_t>(ranks), {});
  locations_.resize(events.size());
  start_ = events.empty() ? 0 : events.front().start;
  end_ = start_;
  std::vector<double> sublane_end;  // end of each open sub-lane of the current (rank, lane)
  for (int r = 0; r < ranks; ++r) {
    for (core::Lane lane : kLaneOrder) {
      const std::size_t b = static_cast<std::size_t>(r) * lanes + static_cast<std::size_t>(lane);
      const auto first = order.begin() + offsets[b], last = order.begin() + offsets[b + 1];
      if (first == last) continue;
      std::stable_sort(first, last, [&](std::uint32_t x, std::uint32_t y) {
        const auto &a = events[x], &c = events[y];
        return a.start != c.start ? a.start < c.start : a.end > c.end;
      });
      const auto base = static_cast<std::uint32_t>(tracks_.size());
      sublane_end.clear();
      for (auto it = first; it != last; ++it) {
        const core::TraceEvent& e = events[*it];
        std::size_t k = 0;
        while (k < sublane_end.size() && sublane_end[k] > e.start + kPackingTolerance) ++k;
        if (k == sublane_end.size()) {
          sublane_end.push_back(e.end);
          tracks_.emplace_back(r, lane, static_cast<int>(k));
          tracks_of_rank_[static_cast<std::size_t>(r)].push_back(base + static_cast<std::uint32_t>(k));
        }
        sublane_end[k] = e.end;
        Track& t = tracks_[base + k];
        locations_[*it] = {base + static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(t.size())};
        t.append(*it, e.start, e.end, classify(trace_, e));
        if (lane == core::Lane::counter) {
          const auto [peak, added] = counter_peak_.try_emplace(e.name, e.value);
          if (!added) peak->second = std::max(peak->second, e.value);
        }
        start_ = std::min(start_, e.start);
        end_ = std::max(end_, e.end);
      }
    }
  }
  for (Track& t : tracks_) t.finish();
}

bool RunModel::can_group_by(LaneGrouping grouping) const {
  if (grouping == LaneGrouping::node) return true;
  if (!mesh_ || mesh_->ranks() != rank_count()) return false;
  return mesh_->size(grouping == LaneGrouping::stage ? "pp" : "tp") > 1;
}

void RunModel::set_grouping(LaneGrouping grouping) {
  grouping_ = grouping;
  build_nodes();
}

void RunModel::build_nodes() {
  nodes_.clear();
  if (grouping_ != LaneGrouping::node && can_group_by(grouping_)) {
    // Along the mesh: a stage's ranks, or a tensor-parallel group's, in the order of their first rank.
    const bool stages = grouping_ == LaneGrouping::stage;
    std::map<int, std::size_t> index;  // stage, or the group's first rank → group
    for (int r = 0; r < rank_count(); ++r) {
      const int key = stages ? mesh_->coordinate(r, "pp") : mesh_->group("tp", r).at(0);
      const auto [it, added] = index.try_emplace(key, nodes_.size());
      if (added) {
        const int k = static_cast<int>(nodes_.size());
        nodes_.push_back({k, {}, {}, stages ? fmt::format("stage {}", key) : fmt::format("tp group {}", k)});
      }
      nodes_[it->second].ranks.push_back(r);
    }
    return;
  }
  // Clients by class, in the order their classes first appear; then the other ranks of each site
  // (a region's aggregator), in the order the sites first appear; every other rank by node.
  std::map<std::string, std::size_t> by_class;
  std::vector<NodeGroup> by_site;
  std::map<int, NodeGroup> by_node;
  for (int r = 0; r < rank_count(); ++r) {
    const int node = static_cast<std::size_t>(r) < trace_.ranks.size() ? trace_.ranks[r].node : 0;
    std::string host_class = host_class_of(r);
    if (!host_class.empty()) {
      const auto [it, added] = by_class.try_emplace(host_class, nodes_.size());
      if (added) nodes_.push_back({node, {}, std::move(host_class), {}});
      nodes_[it->second].ranks.push_back(r);
      continue;
    }
    if (std::string site = site_of(r); !site.empty()) {
      auto it = std::find_if(by_site.begin(), by_site.end(),
                             [&](const NodeGroup& g) { return g.mesh_group == site; });
      if (it == by_site.end()) it = by_site.insert(by_site.end(), {node, {}, {}, std::move(site)});
      it->ranks.push_back(r);
      continue;
    }
    NodeGroup& g = by_node[node];
    g.node = node;
    g.ranks.push_back(r);
  }
  for (NodeGroup& group : by_site) nodes_.push_back(std::move(group));
  for (auto& [node, group] : by_node) nodes_.push_back(std::move(group));
}

void RunModel::build_client_tasks() {
  tasks_of_client_.assign(static_cast<std::size_t>(rank_count()), {});
  const auto outcome_of = [](std::string_view name) -> std::optional<TaskOutcome> {
    if (name == core::kTaskReport || name == core::kTaskUpdate) return TaskOutcome::report;
    if (name == core::kTaskLate) return TaskOutcome::late;
    if (name == core::kTaskDropped) return TaskOutcome::dropped;
    if (name == core::kTaskOffline) return TaskOutcome::offline;
    if (name == core::kTaskStale) return TaskOutcome::stale;
    return std::nullopt;
  };
  for (std::uint32_t i = 0; i < trace_.events().size(); ++i) {
    const core::TraceEvent& e = trace_.events()[i];
    // The server's records: phases that carry the client (a client's own marks carry none).
    if (e.lane != core::Lane::phase) continue;
    const int client = e.attributes.get(core::Attribute::client);
    if (client < 0 || client >= rank_count()) continue;
    const std::string_view name = trace_.text(e.name);
    const std::optional<TaskOutcome> outcome = outcome_of(name);
    if (!outcome) continue;
    client_tasks_.push_back({client, e.iteration, e.start, *outcome, i});
    if (name == core::kTaskUpdate || name == core::kTaskStale) {
      iteration_noun_ = "aggregation";
    } else if (iteration_noun_ == "iteration") {
      iteration_noun_ = "round";
    }
  }
  std::stable_sort(client_tasks_.begin(), client_tasks_.end(),
                   [](const ClientTask& a, const ClientTask& b) { return a.time < b.time; });
  for (std::uint32_t i = 0; i < client_tasks_.size(); ++i)
    tasks_of_client_[static_cast<std::size_t>(client_tasks_[i].client)].push_back(i);
}

void RunModel::build_bubbles() {
  bubbles_of_rank_.assign(static_cast<std::size_t>(rank_count()), {});
  std::vector<std::vector<TimeSpan>> iterations(bubbles_of_rank_.size()), passes(bubbles_of_rank_.size());
  for (const core::TraceEvent& e : trace_.events()) {
    if (e.lane != core::Lane::phase || e.rank < 0 || e.rank >= rank_count()) continue;
    const std::string_view name = trace_.text(e.name);
    const auto r = static_cast<std::size_t>(e.rank);
    if (name == "iteration" && e.iteration >= 0) {
      iterations[r].push_back({e.start, e.end});
    } else if (core::is_pass_phase(name) && e.attributes.get(core::Attribute::stage) >= 0) {
      passes[r].push_back({e.start, e.end});
    }
  }
  const auto by_start = [](const TimeSpan& a, const TimeSpan& b) { return a.start < b.start; };
  for (std::size_t r = 0; r < passes.size(); ++r) {
    if (passes[r].empty()) continue;
    std::sort(passes[r].begin(), passes[r].end(), by_start);
    std::sort(iterations[r].begin(), iterations[r].end(), by_start);
    auto pass = passes[r].begin();
    for (const TimeSpan& it : iterations[r]) {
      while (pass != passes[r].end() && pass->start < it.start) ++pass;
      double covered = it.start;  // the iteration up to here is a pass or a gap already taken
      for (; pass != passes[r].end() && pass->start < it.end; ++pass) {
        if (pass->start > covered + kPackingTolerance) bubbles_of_rank_[r].push_back({covered, pass->start});
        covered = std::max(covered, pass->end);
      }
    }
  }
}

const std::vector<TimeSpan>& RunModel::bubbles_of(int rank) const {
  static const std::vector<TimeSpan> none;
  return rank >= 0 && rank < rank_count() ? bubbles_of_rank_[static_cast<std::size_t>(rank)] : none;
}

double RunModel::counter_peak(std::uint32_t name) const {
  const auto it = counter_peak_.find(name);
  return it == counter_peak_.end() ? 0 : it->second;
}

const std::vector<std::uint32_t>& RunModel::tasks_of_client(int rank) const {
  static const std::vector<std::uint32_t> none;
  return rank >= 0 && rank < rank_count() ? tasks_of_client_[static_cast<std::size_t>(rank)] : none;
}

TaskCounts RunModel::task_counts(const NodeGroup& group) const {
  TaskCounts counts{};
  for (int rank : group.ranks) {
    for (std::uint32_t i : tasks_of_client(rank))
      ++counts[static_cast<std::size_t>(client_tasks_[i].outcome)];
  }
  return counts;
}

void RunModel::build_messages() {
  const auto& events = trace_.events();
  struct Key {
    int src, dst, tag;
    std::uint32_t seq, comm;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      std::size_t h = std::hash<long long>()((static_cast<long long>(k.src) << 32) ^ k.dst);
      return h ^
             (std::hash<long long>()((static_cast<long long>(k.tag) << 32) ^ k.seq) * 0x9e3779b97f4a7c15ull) ^
             std::hash<std::uint32_t>()(k.comm);
    }
  };
  std::unordered_map<Key, std::uint32_t, KeyHash> receives;
  for (std::uint32_t i = 0; i < events.size(); ++i) {
    const core::TraceEvent& e = events[i];
    if (e.lane == core::Lane::recv) receives[{e.peer, e.rank, e.tag, e.seq, e.comm}] = i;
  }
  if (receives.empty()) return;
  for (std::uint32_t i = 0; i < events.size(); ++i) {
    const core::TraceEvent& e = events[i];
    if (e.lane != core::Lane::send) continue;
    const auto it = receives.find({e.rank, e.peer, e.tag, e.seq, e.comm});
    if (it == receives.end()) continue;
    messages_.push_back({i, it->second});
    longest_message_ = std::max(longest_message_, events[it->second].end - e.start);
  }
  std::stable_sort(messages_.begin(), messages_.end(), [&](const Message& a, const Message& b) {
    return events[a.send].start < events[b.send].start;
  });
}

void RunModel::build_iterations() {
  std::map<int, IterationSpan> spans;
  for (const core::TraceEvent& e : trace_.events()) {
    if (e.lane != core::Lane::phase || e.iteration < 0 || trace_.text(e.name) != "iteration") continue;
    auto [it, inserted] = spans.try_emplace(e.iteration, IterationSpan{e.iteration, e.start, e.end});
    if (!inserted) {
      it->second.start = std::min(it->second.start, e.start);
      it->second.end = std::max(it->second.end, e.end);
    }
  }
  for (const auto& [k, span] : spans) iterations_.push_back(span);
}

void RunModel::build_jobs() {
  job_of_rank_.assign(static_cast<std::size_t>(rank_count()), -1);
  for (const core::TraceEvent& e : trace_.events()) {
    const int job = e.attributes.get(core::Attribute::job);
    if (job >= 0 && e.rank >= 0 && e.rank < rank_count())
      job_of_rank_[static_cast<std::size_t>(e.rank)] = job;
  }
}

void RunModel::build_elastic() {
  for (const core::TraceEvent& e : trace_.events()) {
    if (e.lane != core::Lane::counter) continue;
    const std::string_view name = trace_.text(e.name);
    if (name == core::kRanksInJob) {
      epochs_.push_back({e.start, static_cast<int>(std::lround(e.value))});
    } else if (name == core::kLostWorkSeconds && e.value > 0) {
      lost_work_.push_back({e.start - e.value, e.start});
    }
  }
  const auto by_start = [](const auto& a, const auto& b) { return a.start < b.start; };
  std::stable_sort(epochs_.begin(), epochs_.end(), by_start);
  std::stable_sort(lost_work_.begin(), lost_work_.end(), by_start);
}

std::optional<double> RunModel::iteration_start(int iteration) const {
  for (const IterationSpan& s : iterations_) {
    if (s.iteration == iteration) return s.start;
  }
  return std::nullopt;
}

std::string RunModel::track_name(std::uint32_t track) const {
  const Track& t = tracks_[track];
  switch (t.lane()) {
    case core::Lane::phase:
      // Phases nest (an iteration holds forward, backward, ...): deeper sub-lanes hold inner phases.
      return t.index() == 0   ? "phases"
             : t.index() == 1 ? "sub-phases"
                              : fmt::format("sub-phases {}", t.index());
    case core::Lane::compute:
      return t.index() == 0 ? "compute" : fmt::format("compute {}", t.index());
    case core::Lane::collective:
      return fmt::format("collective {}", t.index());
    case core::Lane::send:
      return fmt::format("send {}", t.index());
    case core::Lane::recv:
      return fmt::format("recv {}", t.index());
    case core::Lane::counter:
      return t.index() == 0 ? "counters" : fmt::format("counters {}", t.index());
    case core::Lane::mark:
      return t.index() == 0 ? "marks" : fmt::format("marks {}", t.index());
  }
  return "?";
}

}  // namespace dmlsim::gui
