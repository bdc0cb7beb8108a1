// The GUI's model half, without painting: the run model on the demo trace (lanes, events), the time
// axis (zoom, pan, ticks), tracks and the level of detail against brute force, hit testing, the
// range summary against trace.csv, and the Qt item models.
#include <fmt/format.h>

#include <QAbstractItemModelTester>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>

#include "core/phase_stats.hpp"
#include "core/trace_reader.hpp"
#include "gui/event_text.hpp"
#include "gui/lod.hpp"
#include "gui/phase_table_model.hpp"
#include "gui/range_summary.hpp"
#include "gui/range_summary_model.hpp"
#include "gui/run_labels.hpp"
#include "gui/run_model.hpp"
#include "gui/timeline.hpp"
#include "gui_test_support.hpp"

namespace dmlsim::gui {
namespace {

using testing::CsvEvent;
using testing::read_trace_csv;
using testing::test_run;

// JSON (µs) and CSV (s, shortest round trip) times agree to a few ulps; 1 ps is far below anything
// the timeline resolves.
constexpr double kTimeTolerance = 1e-12;

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

// Nesting depth of a rank's phase slices, computed independently: sort by (start, longer first)
// and keep a stack of open ends.
int phase_depth(std::vector<std::pair<double, double>> slices) {
  std::sort(slices.begin(), slices.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  std::vector<double> open;
  int depth = 0;
  for (const auto& [s, e] : slices) {
    while (!open.empty() && open.back() <= s + kTimeTolerance) open.pop_back();
    open.push_back(e);
    depth = std::max(depth, static_cast<int>(open.size()));
  }
  return depth;
}

TEST(GuiRunModel, DemoTraceHasTheRightLanesAndEvents) {
  const auto dir = test_run("demo-ring");
  const auto run = RunModel::load(dir);
  const nlohmann::json trace = read_json(dir / "trace.json");
  const std::vector<CsvEvent> csv = read_trace_csv(dir / "trace.csv");

  // Independently from the file: X events, ranks (pids), writer threads (pid, tid) and phase depth.
  std::size_t x_events = 0, counter_samples = 0;
  std::set<int> pids, with_counters;
  std::set<std::pair<int, int>> threads;
  std::map<int, std::vector<std::pair<double, double>>> phases;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "C") {
      ++counter_samples;
      with_counters.insert(e["pid"].get<int>());
    }
    if (e["ph"] != "X") continue;
    ++x_events;
    const int pid = e["pid"], tid = e["tid"];
    pids.insert(pid);
    if (tid != 0) threads.insert({pid, tid});
    const double ts = e["ts"], dur = e["dur"];
    if (tid == 0) phases[pid].emplace_back(ts * 1e-6, (ts + dur) * 1e-6);
  }
  std::size_t expected_tracks = threads.size() + with_counters.size();  // a counters track per rank
  for (const auto& [pid, slices] : phases) expected_tracks += static_cast<std::size_t>(phase_depth(slices));

  EXPECT_EQ(run->event_count(), x_events + counter_samples);
  EXPECT_EQ(run->event_count(), csv.size());
  EXPECT_EQ(x_events, 103424u) << "the demo: 64 ranks × 1616 slices";
  EXPECT_EQ(counter_samples, 64u * 56)
      << "memory in use: 2 iterations × (26 layers + forward's start and end)";
  EXPECT_EQ(run->rank_count(), static_cast<int>(pids.size()));
  EXPECT_EQ(run->rank_count(), 64);
  ASSERT_EQ(run->nodes().size(), 8u);
  for (const NodeGroup& n : run->nodes()) EXPECT_EQ(n.ranks.size(), 8u) << "node " << n.node;
  EXPECT_EQ(run->tracks().size(), expected_tracks);
  EXPECT_EQ(run->tracks().size(), 64u * 5) << "phases, sub-phases, compute, collective 0, counters";

  // Every event in exactly one track, tracks sorted and free of overlaps.
  std::size_t placed = 0;
  for (std::uint32_t ti = 0; ti < run->tracks().size(); ++ti) {
    const Track& t = run->tracks()[ti];
    placed += t.size();
    for (std::size_t i = 0; i < t.size(); ++i) {
      EXPECT_EQ(run->locate(t.event(i)).track, ti);
      EXPECT_EQ(run->locate(t.event(i)).position, i);
      if (i > 0) {
        ASSERT_LE(t.end(i - 1), t.start(i) + RunModel::kPackingTolerance) << "track " << ti;
      }
    }
  }
  EXPECT_EQ(placed, run->event_count());

  // One lane (rank) per rank in the layout, under its node: run header + 8 nodes + tracks.
  Timeline timeline;
  timeline.add_run(RunModel::load(dir));
  int rank_lanes = 0, node_rows = 0, run_rows = 0;
  for (const Row& row : timeline.layout().rows()) {
    rank_lanes += row.kind == RowKind::track && row.first_of_rank;
    node_rows += row.kind == RowKind::node;
    run_rows += row.kind == RowKind::run;
  }
  EXPECT_EQ(rank_lanes, 64);
  EXPECT_EQ(node_rows, 8);
  EXPECT_EQ(run_rows, 1);
  timeline.set_collapsed(0, 3, true);
  rank_lanes = 0;
  for (const Row& row : timeline.layout().rows())
    rank_lanes += row.kind == RowKind::track && row.first_of_rank;
  EXPECT_EQ(rank_lanes, 56) << "a collapsed node hides its 8 ranks";

  // Iterations: two, from the iteration phase marks.
  ASSERT_EQ(run->iterations().size(), 2u);
  double it1_start = 1e9;
  for (const CsvEvent& e : csv) {
    if (e.lane == "phase" && e.name == "iteration" && e.iteration == 1)
      it1_start = std::min(it1_start, e.start);
  }
  EXPECT_NEAR(run->iterations()[1].start, it1_start, kTimeTolerance);
}

// The details (tooltip) of an event list its attributes by their labels, and a message's
// communicator; unset attributes are left out.
TEST(GuiRunModel, EventDetailsShowAttributesAndCommunicator) {
  core::Trace t;
  t.ranks = {{0, 0, "h0"}, {1, 0, "h1"}};
  core::TraceEvent k;
  k.rank = 0;
  k.lane = core::Lane::compute;
  k.name = t.intern("qkv");
  k.end = 1e-3;
  k.attributes.set(core::Attribute::micro_batch, 3).set(core::Attribute::stage, 1);
  t.add(k);
  core::TraceEvent m;
  m.rank = 1;
  m.lane = core::Lane::send;
  m.name = t.intern("send");
  m.peer = 0;
  m.end = 2e-3;
  m.comm = t.intern("pp");
  t.add(m);
  const gui::RunModel run(std::move(t));
  std::map<std::string, std::string> details;
  for (std::uint32_t i = 0; i < 2; ++i) {
    for (const auto& [key, value] : gui::describe_event(run, i)) details[key] = value;
  }
  EXPECT_EQ(details["micro-batch"], "3");
  EXPECT_EQ(details["pipeline stage"], "1");
  EXPECT_EQ(details["communicator"], "pp");
  EXPECT_EQ(details.count("model chunk"), 0u);
}

TEST(GuiRunModel, PairsEverySendWithItsReceive) {
  const auto dir = test_run("allreduce-star");
  const auto run = RunModel::load(dir);
  const std::vector<CsvEvent> csv = read_trace_csv(dir / "trace.csv");
  std::size_t sends = 0;
  for (const CsvEvent& e : csv) sends += e.lane == "send";
  ASSERT_GT(sends, 0u);
  EXPECT_EQ(run->messages().size(), sends) << "every send is received in a complete run";
  for (const Message& m : run->messages()) {
    const core::TraceEvent& s = run->event(m.send);
    const core::TraceEvent& r = run->event(m.recv);
    ASSERT_EQ(s.peer, r.rank);
    ASSERT_EQ(r.peer, s.rank);
    ASSERT_EQ(s.tag, r.tag);
    ASSERT_EQ(s.seq, r.seq);
    ASSERT_EQ(s.bytes, r.bytes);
  }
}

// Roles come from summary.json: the demo's ranks all train; a summary that names servers (as a
// parameter-server run writes it) is read back rank by rank; without a summary there is no role.
TEST(GuiRunModel, ReadsEachRanksRoleFromTheSummary) {
  const auto demo = RunModel::load(test_run("demo-ring"));
  EXPECT_EQ(demo->role_of(0), "worker");
  EXPECT_EQ(demo->role_of(63), "worker");
  EXPECT_EQ(demo->role_of(64), "");

  testing::ScratchDir scratch("roles");
  std::filesystem::copy_file(test_run("allreduce-star") / "trace.json", scratch.path() / "trace.json");
  nlohmann::json summary = read_json(test_run("allreduce-star") / "summary.json");
  summary["per_rank"][15]["role"] = "server 0";
  std::ofstream(scratch.path() / "summary.json") << summary.dump();
  const auto run = RunModel::load(scratch.path());
  EXPECT_EQ(run->role_of(14), "worker");
  EXPECT_EQ(run->role_of(15), "server 0");
  std::filesystem::remove(scratch.path() / "summary.json");
  EXPECT_EQ(RunModel::load(scratch.path())->role_of(0), "");
}

// summary.json's "parallelism" gives each rank its mesh coordinates; a mesh along one dimension
// (every run today without a parallelism block) adds nothing to the rank number, nor does a
// mesh of another size than the trace's.
TEST(GuiRunModel, LabelsRanksWithTheirMeshCoordinates) {
  const auto demo = RunModel::load(test_run("demo-ring"));
  EXPECT_EQ(demo->mesh_coordinates_of(5), "") << "dp only";

  testing::ScratchDir scratch("mesh");
  std::filesystem::copy_file(test_run("allreduce-star") / "trace.json", scratch.path() / "trace.json");
  nlohmann::json summary = read_json(test_run("allreduce-star") / "summary.json");
  ASSERT_EQ(RunModel::load(test_run("allreduce-star"))->rank_count(), 16);
  summary["parallelism"] = nlohmann::json::parse(R"({"tp": 4, "dp": 2, "pp": 2, "order": "tp-dp-pp"})");
  std::ofstream(scratch.path() / "summary.json") << summary.dump();
  const auto run = RunModel::load(scratch.path());
  EXPECT_EQ(run->mesh_coordinates_of(0), "dp 0 · tp 0 · pp 0");
  EXPECT_EQ(run->mesh_coordinates_of(13), "dp 1 · tp 1 · pp 1");
  EXPECT_EQ(run->mesh_coordinates_of(16), "");

  summary["parallelism"] = nlohmann::json::parse(R"({"tp": 4, "dp": 2, "order": "tp-dp"})");  // 8 ranks
  std::ofstream(scratch.path() / "summary.json") << summary.dump();
  EXPECT_EQ(RunModel::load(scratch.path())->mesh_coordinates_of(3), "");
  summary["parallelism"] = "nonsense";
  std::ofstream(scratch.path() / "summary.json") << summary.dump();
  EXPECT_EQ(RunModel::load(scratch.path())->mesh_coordinates_of(3), "");
}

// A pipeline's events say which micro-batch (and model chunk, past the first) they work on.
TEST(GuiEventText, LabelsCarryTheMicroBatchAndChunk) {
  core::Trace t;
  core::TraceEvent e;
  e.name = t.intern("forward");
  EXPECT_EQ(event_label(t, e), "forward");
  e.attributes.set(core::Attribute::micro_batch, 3).set(core::Attribute::chunk, 0);
  EXPECT_EQ(event_label(t, e), "forward 3");
  e.attributes.set(core::Attribute::chunk, 1);
  EXPECT_EQ(event_label(t, e), "forward 3.1");
}

// The combined trace of several jobs on one network (experiments/two-jobs-fat-tree.yaml: resnet on
// 16 hosts, then bert on 16): each rank's lane says its job, from the events' job index and the
// jobs' names in summary.json; a run of one job says none.
TEST(GuiRunModel, SeveralJobsOnOneNetworkLabelEachRankWithItsJob) {
  const auto run = RunModel::load(test_run("two-jobs"));
  ASSERT_EQ(run->rank_count(), 32);
  EXPECT_EQ(run->job_of(0), "resnet");
  EXPECT_EQ(run->job_of(15), "resnet");
  EXPECT_EQ(run->job_of(16), "bert");
  EXPECT_EQ(run->job_of(31), "bert");
  EXPECT_EQ(run->kind(), "simulated");
  EXPECT_EQ(RunModel::load(test_run("demo-ring"))->job_of(0), "");
}

// A federated run on an edge platform: each client's lane says its class (summary.json's
// host_class_of_rank), the server's none.
TEST(GuiRunModel, EdgeClientsAreLabelledWithTheirClass) {
  const auto run = RunModel::load(test_run("federated-traced"));  // experiments/federated-traced.yaml
  ASSERT_EQ(run->rank_count(), 13);
  EXPECT_EQ(run->host_class_of(0), "phone-4g");
  EXPECT_EQ(run->host_class_of(11), "phone-4g");
  EXPECT_EQ(run->host_class_of(12), "") << "the server";
  EXPECT_EQ(RunModel::load(test_run("demo-ring"))->host_class_of(0), "");
}

// Hierarchical FL over the 1 000 phones of two regions (experiments/federated-phones-hierarchical.yaml):
// the clients group by class, each region's aggregator is a group named after its region, and the
// server is on its node.
TEST(GuiRunModel, AggregatorsGroupByRegion) {
  const auto run = RunModel::load(test_run("federated-hierarchical"));
  ASSERT_EQ(run->rank_count(), 1003);
  std::vector<std::tuple<std::string, std::string, std::vector<int>>> groups;
  for (const NodeGroup& g : run->nodes()) {
    if (g.host_class.empty()) groups.emplace_back(g.host_class, g.mesh_group, g.ranks);
  }
  EXPECT_EQ(run->nodes().size(), 7u);
  EXPECT_EQ(groups, (std::vector<std::tuple<std::string, std::string, std::vector<int>>>{
                        {"", "region eu", {1000}}, {"", "region americas", {1001}}, {"", "", {1002}}}));
  EXPECT_EQ(run->site_of(0), "region eu");
  EXPECT_EQ(run->site_of(1001), "region americas");
  EXPECT_EQ(run->site_of(1002), "") << "the server, in the core";
  EXPECT_EQ(run->role_of(1000), "aggregator 0");
  EXPECT_EQ(RunModel::load(test_run("federated-phones"))->site_of(0), "") << "no regions with aggregators";
}

// 1 000 phones in four classes (experiments/federated-phones.yaml, 4 over-selected rounds with a
// deadline and 5 % dropouts): the clients group by class — four groups and the server's node, not a
// thousand nodes of one rank — and the tasks the server recorded are the summary's marks, in all and
// client by client in time order.
TEST(GuiRunModel, FederatedClientsGroupByClassWithTheirTasks) {
  const auto run = RunModel::load(test_run("federated-phones"));
  ASSERT_EQ(run->rank_count(), 1001);
  std::vector<std::pair<std::string, std::size_t>> groups;
  for (const NodeGroup& g : run->nodes()) {
    groups.emplace_back(g.host_class, g.ranks.size());
    for (int r : g.ranks) ASSERT_EQ(run->host_class_of(r), g.host_class) << "rank " << r;
  }
  EXPECT_EQ(groups, (std::vector<std::pair<std::string, std::size_t>>{{"phone-4g-eu", 300},
                                                                      {"phone-4g-americas", 300},
                                                                      {"phone-wifi-eu", 200},
                                                                      {"phone-wifi-americas", 200},
                                                                      {"", 1}}));
  EXPECT_EQ(run->nodes().back().ranks, std::vector<int>{1000}) << "the server, on its own node";
  EXPECT_EQ(run->iteration_noun(), "round");

  // The summary counts each round's zero-length phases on the server by name.
  const std::map<std::string, TaskOutcome> outcome_of = {{"report", TaskOutcome::report},
                                                         {"late", TaskOutcome::late},
                                                         {"dropped", TaskOutcome::dropped},
                                                         {"offline", TaskOutcome::offline}};
  TaskCounts expected{};
  for (const auto& round : run->summary().at("marks_per_iteration")) {
    for (const auto& [name, count] : round.items()) {
      if (outcome_of.count(name)) expected[static_cast<std::size_t>(outcome_of.at(name))] += count.get<int>();
    }
  }
  // The rounds' records are the summary's; after the last round the server still takes in the late
  // updates of the clients it had selected (round −1), and the classes' counts hold both.
  TaskCounts in_rounds{}, in_all{}, in_classes{};
  std::size_t listed = 0;
  for (int r = 0; r < run->rank_count(); ++r) {
    double previous = -1;
    for (std::uint32_t i : run->tasks_of_client(r)) {
      const ClientTask& task = run->client_tasks()[i];
      EXPECT_EQ(task.client, r);
      EXPECT_GE(task.time, previous);
      EXPECT_TRUE(task.round >= -1 && task.round < 4) << task.round;
      if (task.round >= 0) {
        ++in_rounds[static_cast<std::size_t>(task.outcome)];
      } else {
        EXPECT_EQ(task.outcome, TaskOutcome::late) << "client " << r << " after the last round";
      }
      ++in_all[static_cast<std::size_t>(task.outcome)];
      previous = task.time;
      ++listed;
    }
  }
  EXPECT_EQ(listed, run->client_tasks().size());
  EXPECT_EQ(in_rounds, expected);
  for (const NodeGroup& g : run->nodes()) {
    const TaskCounts c = run->task_counts(g);
    for (std::size_t k = 0; k < kTaskOutcomeCount; ++k) in_classes[k] += c[k];
  }
  EXPECT_EQ(in_classes, in_all);
  EXPECT_EQ(expected[static_cast<std::size_t>(TaskOutcome::report)], 400) << "each round closed at its goal";
  EXPECT_GT(expected[static_cast<std::size_t>(TaskOutcome::late)], 0);
  EXPECT_GT(expected[static_cast<std::size_t>(TaskOutcome::dropped)], 0);
  EXPECT_EQ(run->task_counts(run->nodes().back()), TaskCounts{}) << "the server runs no task";
  EXPECT_EQ(RunModel::load(test_run("demo-ring"))->iteration_noun(), "iteration");
  EXPECT_TRUE(RunModel::load(test_run("demo-ring"))->client_tasks().empty());
}

// A tp 8 × pp 4 × dp 2 run (experiments/hybrid-gpt-1.3b.yaml, order tp-dp-pp): by node, eight
// nodes of eight; by stage, four groups of 16 whose ranks summary.json calls "stage k"; by
// tensor-parallel group, eight runs of eight consecutive ranks. A run without a pipeline stays by node.
TEST(GuiRunModel, LanesGroupByPipelineStageOrTensorGroup) {
  auto run = RunModel::load(test_run("hybrid"));
  ASSERT_EQ(run->rank_count(), 64);
  const auto sizes = [&] {
    std::vector<std::size_t> out;
    for (const NodeGroup& g : run->nodes()) out.push_back(g.ranks.size());
    return out;
  };
  EXPECT_EQ(sizes(), std::vector<std::size_t>(8, 8));
  EXPECT_TRUE(run->nodes()[0].mesh_group.empty());

  ASSERT_TRUE(run->can_group_by(LaneGrouping::stage));
  run->set_grouping(LaneGrouping::stage);
  ASSERT_EQ(sizes(), std::vector<std::size_t>(4, 16));
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(run->nodes()[k].mesh_group, fmt::format("stage {}", k));
    for (int r : run->nodes()[k].ranks)
      EXPECT_EQ(run->role_of(r), fmt::format("stage {}", k)) << "rank " << r;
  }

  run->set_grouping(LaneGrouping::tensor_group);
  ASSERT_EQ(sizes(), std::vector<std::size_t>(8, 8));
  for (std::size_t k = 0; k < 8; ++k) {
    std::vector<int> expected(8);
    std::iota(expected.begin(), expected.end(), static_cast<int>(8 * k));
    EXPECT_EQ(run->nodes()[k].ranks, expected) << "tp fastest: a group is eight consecutive ranks";
    EXPECT_EQ(run->nodes()[k].mesh_group, fmt::format("tp group {}", k));
  }
  run->set_grouping(LaneGrouping::node);
  EXPECT_EQ(sizes(), std::vector<std::size_t>(8, 8));

  auto demo = RunModel::load(test_run("demo-ring"));
  EXPECT_FALSE(demo->can_group_by(LaneGrouping::stage));
  EXPECT_FALSE(demo->can_group_by(LaneGrouping::tensor_group));
  demo->set_grouping(LaneGrouping::stage);
  EXPECT_EQ(demo->nodes().size(), 8u) << "no pipeline: by node";
}

// A pipeline rank's bubbles are its iteration's waits before and between passes, as trace.csv has
// them: in all, the stretch from the iteration's start to the rank's last pass less the passes. In
// 1F1B the first stage starts at once and each later stage waits longer for its first micro-batch.
TEST(GuiRunModel, PipelineBubblesAreTheWaitsBetweenPasses) {
  const auto run = RunModel::load(test_run("hybrid"));
  struct Rank {
    double start = -1, last_end = 0, passes = 0;
    double first_pass = std::numeric_limits<double>::infinity();
  };
  std::map<int, Rank> ranks;
  for (const CsvEvent& e : read_trace_csv(test_run("hybrid") / "trace.csv")) {
    if (e.lane != "phase") continue;
    Rank& r = ranks[e.rank];
    if (e.name == "iteration") r.start = e.start;
    if (e.name == "forward" || e.name == "backward" || e.name == "weight-gradient") {
      r.passes += e.duration;
      r.last_end = std::max(r.last_end, e.end);
      r.first_pass = std::min(r.first_pass, e.start);
    }
  }
  ASSERT_EQ(ranks.size(), 64u);
  std::map<int, double> leading;  // stage → the wait before its first pass
  for (const auto& [rank, r] : ranks) {
    double bubble = 0;
    for (const TimeSpan& s : run->bubbles_of(rank)) {
      EXPECT_GT(s.end, s.start);
      bubble += s.end - s.start;
    }
    EXPECT_NEAR(bubble, r.last_end - r.start - r.passes, 1e-9) << "rank " << rank;
    EXPECT_GT(bubble, 0) << "rank " << rank;
    const int stage = rank / 16;  // order tp-dp-pp
    leading[stage] = r.first_pass - r.start;
  }
  // The range summary of the iteration: the bubble's share of rank-time.
  ASSERT_EQ(run->iterations().size(), 1u);
  const IterationSpan it = run->iterations()[0];
  double bubbles = 0;
  for (const auto& [rank, r] : ranks) bubbles += r.last_end - r.start - r.passes;
  const RangeSummary s = summarize_range(*run, it.start, it.end);
  ASSERT_TRUE(s.has_bubbles);
  EXPECT_NEAR(s.bubble_share, bubbles / (64 * (it.end - it.start)), 1e-9);
  EXPECT_LE(s.bubble_share, s.idle_share + 1e-9) << "a rank waiting for a pass computes nothing";
  EXPECT_FALSE(summarize_range(*RunModel::load(test_run("demo-ring")), 0, 0.1).has_bubbles);

  EXPECT_NEAR(leading[0], 0, 1e-9);
  for (int stage = 1; stage < 4; ++stage) EXPECT_GT(leading[stage], leading[stage - 1]) << "stage " << stage;
  EXPECT_TRUE(RunModel::load(test_run("demo-ring"))->bubbles_of(0).empty()) << "no pipeline, no bubble";
}

// FedBuff's server records updates and stale ones: its iterations are aggregations, an update is a
// report, and an offline client after them does not make them rounds. A client's own marks (no client
// attribute) are not the server's records.
TEST(GuiRunModel, FedBuffIterationsAreAggregations) {
  core::Trace t;
  t.ranks = {{0, 0, "h0"}, {1, 1, "h1"}, {2, 2, "h2"}};
  const auto phase = [&](int rank, const char* name, double at, int client) {
    core::TraceEvent e;
    e.rank = rank;
    e.lane = core::Lane::phase;
    e.name = t.intern(name);
    e.start = e.end = at;
    e.iteration = 0;
    if (client >= 0) e.attributes.set(core::Attribute::client, client);
    t.add(e);
  };
  phase(2, "update", 1.0, 0);
  phase(2, "stale", 2.0, 1);
  phase(2, "offline", 3.0, 0);
  phase(1, "offline", 2.5, -1);
  const RunModel run(std::move(t));
  EXPECT_EQ(run.iteration_noun(), "aggregation");
  ASSERT_EQ(run.client_tasks().size(), 3u);
  EXPECT_EQ(run.client_tasks()[0].outcome, TaskOutcome::report);
  EXPECT_EQ(run.client_tasks()[1].outcome, TaskOutcome::stale);
  EXPECT_EQ(run.client_tasks()[2].outcome, TaskOutcome::offline);
  EXPECT_EQ(run.tasks_of_client(0), (std::vector<std::uint32_t>{0, 2}));
  EXPECT_EQ(run.tasks_of_client(1), (std::vector<std::uint32_t>{1}));
  EXPECT_TRUE(run.tasks_of_client(2).empty());
  EXPECT_EQ(run.nodes().size(), 3u) << "no summary, no classes: ranks by node";
}

// An elastic run's epochs and lost work come from its trace, as summary.json has them; a rank out of
// an epoch is idle there, the job's downtime has a kind of its own.
TEST(GuiRunModel, ElasticRunsHaveEpochsLostWorkAndDowntime) {
  const auto run = RunModel::load(test_run("elastic-live"));
  const nlohmann::json& elastic = run->summary().at("elastic");
  ASSERT_EQ(run->epochs().size(), elastic.at("membership").size());
  std::vector<int> ranks;
  for (std::size_t k = 0; k < run->epochs().size(); ++k) {
    ranks.push_back(run->epochs()[k].ranks);
    EXPECT_NEAR(run->epochs()[k].start, elastic["membership"][k]["from_s"].get<double>(), kTimeTolerance);
  }
  EXPECT_EQ(ranks, (std::vector<int>{15, 14, 16, 15, 16}));  // experiments/elastic-live-rescale.yaml
  ASSERT_EQ(run->lost_work().size(), 1u);
  EXPECT_NEAR(run->lost_work()[0].end - run->lost_work()[0].start,
              elastic["time_lost_s"]["lost_work"].get<double>(), kTimeTolerance);
  std::map<std::string, std::set<EventKind>> kinds;  // by phase name
  for (std::uint32_t i = 0; i < run->event_count(); ++i) {
    const core::TraceEvent& e = run->event(i);
    if (e.lane == core::Lane::phase) kinds[std::string(run->trace().text(e.name))].insert(run->kind(i));
  }
  EXPECT_EQ(kinds["out of the job"], (std::set<EventKind>{EventKind::idle}));
  for (const char* down : {"rendezvous", "state-transfer", "failure-detection"})
    EXPECT_EQ(kinds[down], (std::set<EventKind>{EventKind::downtime})) << down;
  EXPECT_EQ(kinds["iteration"], (std::set<EventKind>{EventKind::iteration}));
}

// A run says what it is: summary.json's backend, else its label's suffix.
TEST(GuiRunModel, SaysWhetherItWasSimulatedOrMeasured) {
  EXPECT_EQ(RunModel::load(test_run("demo-ring"))->kind(), "simulated");
  testing::ScratchDir scratch("kind");
  std::filesystem::copy_file(test_run("allreduce-star") / "trace.json", scratch.path() / "trace.json");
  nlohmann::json summary = read_json(test_run("allreduce-star") / "summary.json");
  summary["backend"] = "real";
  std::ofstream(scratch.path() / "summary.json") << summary.dump();
  EXPECT_EQ(RunModel::load(scratch.path())->kind(), "measured");
  std::filesystem::remove(scratch.path() / "summary.json");
  EXPECT_EQ(RunModel::load(scratch.path())->kind(), "simulated") << "from the label, (simulated)";
  core::Trace unlabelled;
  EXPECT_EQ(RunModel(unlabelled).kind(), "");
}

// Repeated labels get the fewest trailing directory parts that tell them apart, or a number.
TEST(GuiRunLabels, RepeatedLabelsAreToldApartByWhatDiffers) {
  EXPECT_EQ(distinct_labels({{"e (simulated)", "out/ring"}, {"f (simulated)", "out/ring"}}),
            (std::vector<std::string>{"e (simulated)", "f (simulated)"}));
  EXPECT_EQ(distinct_labels({{"e (simulated)", "a/ring"}, {"e (simulated)", "a/tree"}, {"x", "a/tree"}}),
            (std::vector<std::string>{"e (simulated) — ring", "e (simulated) — tree", "x"}));
  EXPECT_EQ(distinct_labels({{"e", "one/run"}, {"e", "two/run"}}),
            (std::vector<std::string>{"e — one/run", "e — two/run"}));
  EXPECT_EQ(distinct_labels({{"e", "same"}, {"e", "same"}}), (std::vector<std::string>{"e — #1", "e — #2"}));
  EXPECT_EQ(distinct_labels({{"e", ""}, {"e", "d"}}), (std::vector<std::string>{"e — #1", "e — d"}));
}

TEST(GuiTimeAxis, ZoomKeepsTheTimeUnderTheCursorAndPanShifts) {
  TimeAxis axis;
  axis.set_width(1000);
  axis.set_range(1.0, 2.0);
  EXPECT_DOUBLE_EQ(axis.seconds_per_pixel(), 1e-3);
  const double under = axis.to_time(250);
  axis.zoom_around(250, 4);
  EXPECT_NEAR(axis.to_time(250), under, 1e-15);
  EXPECT_NEAR(axis.duration(), 0.25, 1e-15);
  axis.zoom_around(250, 0.5);
  EXPECT_NEAR(axis.duration(), 0.5, 1e-15);
  EXPECT_NEAR(axis.to_time(250), under, 1e-15);
  const double start = axis.start();
  axis.pan_pixels(100);
  EXPECT_NEAR(axis.start(), start + 100 * axis.seconds_per_pixel(), 1e-15);
  EXPECT_NEAR(axis.duration(), 0.5, 1e-15) << "panning keeps the scale";
  axis.fit(0, 1);
  EXPECT_LT(axis.start(), 0);
  EXPECT_GT(axis.end(), 1);
  EXPECT_NEAR(axis.duration(), 1.04, 1e-12) << "2 % margin each side";
  axis.zoom_around(0, 1e30);
  EXPECT_DOUBLE_EQ(axis.seconds_per_pixel(), TimeAxis::kMinSecondsPerPixel) << "zoom is bounded";
}

TEST(GuiTimeAxis, TickLabelsAdaptTheirUnit) {
  TimeAxis axis;
  axis.set_width(1000);
  struct Case {
    double t0, t1;
    const char* unit;
  };
  for (const Case& c : {Case{0, 3e-7, " ns"}, Case{0, 3e-4, " µs"}, Case{0, 0.3, " ms"}, Case{0, 30, " s"},
                        Case{0.1, 0.1000002, " ns"}}) {
    axis.set_range(c.t0, c.t1);
    const Ticks ticks = make_ticks(axis, 100);
    ASSERT_GE(ticks.ticks.size(), 3u) << c.t1;
    for (std::size_t i = 0; i < ticks.ticks.size(); ++i) {
      const Tick& t = ticks.ticks[i];
      EXPECT_TRUE(t.label.ends_with(c.unit)) << t.label << " for [" << c.t0 << ", " << c.t1 << "]";
      EXPECT_GE(t.time, axis.start());
      EXPECT_LE(t.time, axis.end());
      if (i > 0) {
        EXPECT_GE(axis.to_x(t.time) - axis.to_x(ticks.ticks[i - 1].time), 100 - 1e-6) << "spacing";
        EXPECT_NE(t.label, ticks.ticks[i - 1].label) << "labels tell ticks apart";
      }
    }
  }
  // Deep zoom far from 0: offsets from an origin instead of 10-digit labels.
  axis.set_range(0.1, 0.1000002);
  const Ticks deep = make_ticks(axis, 100);
  EXPECT_FALSE(deep.origin.empty());
  EXPECT_TRUE(deep.ticks.front().label.starts_with("+")) << deep.ticks.front().label;
  EXPECT_LT(deep.ticks.back().label.size(), 12u) << deep.ticks.back().label;
  axis.set_range(0, 0.3);
  EXPECT_EQ(make_ticks(axis, 100).ticks[1].label, "50 ms");
  EXPECT_EQ(format_duration(1.5e-3), "1.50 ms");
  EXPECT_EQ(format_duration(640e-9), "640 ns");
  EXPECT_EQ(format_duration(2.25), "2.25 s");
}

// A track of n random non-overlapping events.
Track random_track(std::size_t n, std::mt19937_64& rng) {
  std::exponential_distribution<double> gap(1e6), length(2e6);  // ~1 µs gaps, ~0.5 µs events
  Track t(0, core::Lane::compute, 0);
  double now = 0;
  for (std::size_t i = 0; i < n; ++i) {
    now += gap(rng);
    const double end = now + length(rng);
    t.append(static_cast<std::uint32_t>(i), now, end, i % 3 ? EventKind::forward : EventKind::backward);
    now = end;
  }
  t.finish();
  return t;
}

double brute_busy(const Track& t, double a, double b) {
  double busy = 0;
  for (std::size_t i = 0; i < t.size(); ++i)
    busy += std::max(0.0, std::min(b, t.end(i)) - std::max(a, t.start(i)));
  return busy;
}

TEST(GuiTrack, BusyTimeAndLookupsMatchBruteForce) {
  std::mt19937_64 rng(1);
  const Track t = random_track(5000, rng);
  std::uniform_real_distribution<double> when(-1e-4, t.last_end() + 1e-4);
  for (int k = 0; k < 500; ++k) {
    double a = when(rng), b = when(rng);
    if (a > b) std::swap(a, b);
    ASSERT_NEAR(t.busy_between(a, b), brute_busy(t, a, b), 1e-15 * t.size()) << a << " " << b;
    // at(): inside an event it returns that event.
    const auto i = t.at(a, 0);
    bool inside = false;
    for (std::size_t j = 0; j < t.size(); ++j) inside |= t.start(j) <= a && a < t.end(j);
    ASSERT_EQ(i.has_value(), inside) << a;
    if (i) {
      ASSERT_TRUE(t.start(*i) <= a && a <= t.end(*i));
    }
  }
}

TEST(GuiTrack, BusyColumnsMatchBruteForceBothWays) {
  std::mt19937_64 rng(3);
  const Track t = random_track(20000, rng);
  // Few events per column (the sweep) and many (binary searches per column).
  for (const double column : {2e-7, 5e-5}) {
    std::vector<double> columns(300, 0.0);
    const double t0 = t.start(100) - 3 * column;
    t.add_busy_columns(t0, column, columns);
    for (std::size_t k = 0; k < columns.size(); k += 7) {
      const double a = t0 + column * static_cast<double>(k);
      ASSERT_NEAR(columns[k], brute_busy(t, a, a + column), 1e-15 * 100)
          << "column " << k << " of " << column;
    }
  }
}

TEST(GuiLevelOfDetail, MergesSubPixelEventsIntoExactDensityBins) {
  std::mt19937_64 rng(2);
  const Track t = random_track(200000, rng);  // ~0.3 s of events
  TimeAxis axis;
  axis.set_width(1200);
  axis.set_range(0, t.last_end());
  std::vector<Span> spans;
  layout_track(t, axis, 0, spans);
  // Zoomed out: 200 000 events become at most one span per pixel column (plus wide events).
  EXPECT_LE(spans.size(), 2u * 1200);
  double previous = -2;
  std::size_t bins = 0;
  for (const Span& s : spans) {
    EXPECT_GE(s.x0, previous - 1e-9) << "left to right";
    previous = s.x0;
    // ~0.5 µs events in 250 µs columns: none is a pixel wide.
    ASSERT_TRUE(s.is_bin()) << "event " << s.position;
    ++bins;
    // A bin's coverage is the busy fraction of its column (in float).
    const double a = axis.to_time(s.x0), b = axis.to_time(s.x1);
    EXPECT_NEAR(s.coverage, brute_busy(t, a, b) / (b - a), 1e-6) << "column " << s.x0;
  }
  EXPECT_GT(bins, 1000u);

  // Zoomed in on 50 events: every visible event at least a pixel wide is its own span, at its own
  // pixels; a narrower one lies in a density bin.
  axis.set_range(t.start(1000), t.end(1049));
  layout_track(t, axis, 0, spans);
  std::map<std::int64_t, const Span*> by_event;
  std::vector<const Span*> bin_spans;
  for (const Span& s : spans) {
    if (s.is_bin()) {
      bin_spans.push_back(&s);
    } else {
      by_event[s.position] = &s;
    }
  }
  std::size_t wide = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t.end(i) <= axis.start() || t.start(i) >= axis.end()) continue;
    const double x0 = axis.to_x(t.start(i)), x1 = axis.to_x(t.end(i));
    if (x1 - x0 >= kMinEventPixels) {
      ++wide;
      const auto it = by_event.find(static_cast<std::int64_t>(i));
      ASSERT_NE(it, by_event.end()) << "event " << i << " is " << x1 - x0 << " px wide";
      EXPECT_NEAR(it->second->x0, std::clamp(x0, -1.0, 1201.0), 1e-6);
      EXPECT_NEAR(it->second->x1, std::clamp(x1, -1.0, 1201.0), 1e-6);
    } else {
      const bool binned = std::any_of(bin_spans.begin(), bin_spans.end(), [&](const Span* b) {
        return b->x0 <= std::max(0.0, x0) + 1e-9 && std::max(0.0, x0) < b->x1;
      });
      EXPECT_TRUE(binned) << "sub-pixel event " << i << " at x " << x0;
    }
  }
  EXPECT_EQ(by_event.size(), wide);
  EXPECT_GT(wide, 40u);
}

// The compute track row of `rank` in the layout.
const Row* compute_row(const Timeline& timeline, int run, int rank) {
  for (const Row& row : timeline.layout().rows()) {
    if (row.kind == RowKind::track && row.run == run && row.rank == rank &&
        timeline.run(run).tracks()[row.track].lane() == core::Lane::compute)
      return &row;
  }
  return nullptr;
}

TEST(GuiHitTest, ReturnsTheEventUnderAPoint) {
  const auto dir = test_run("demo-ring");
  const std::vector<CsvEvent> csv = read_trace_csv(dir / "trace.csv");
  Timeline timeline;
  timeline.add_run(RunModel::load(dir));
  timeline.set_viewport(1000, 100000);  // every row in view

  // Rank 5's longest kernel, and the longest gap between two of its kernels.
  std::vector<const CsvEvent*> kernels;
  for (const CsvEvent& e : csv) {
    if (e.rank == 5 && e.lane == "compute") kernels.push_back(&e);
  }
  ASSERT_GE(kernels.size(), 2u);
  std::sort(kernels.begin(), kernels.end(), [](auto* a, auto* b) { return a->start < b->start; });
  const CsvEvent* longest = *std::max_element(kernels.begin(), kernels.end(),
                                              [](auto* a, auto* b) { return a->duration < b->duration; });
  double gap_mid = 0, gap = 0;
  for (std::size_t i = 1; i < kernels.size(); ++i) {
    if (kernels[i]->start - kernels[i - 1]->end > gap) {
      gap = kernels[i]->start - kernels[i - 1]->end;
      gap_mid = (kernels[i]->start + kernels[i - 1]->end) / 2;
    }
  }
  const Row* row = compute_row(timeline, 0, 5);
  ASSERT_NE(row, nullptr);
  const int y = row->y + row->height / 2 - timeline.scroll_y();

  for (double zoom : {1.0, 64.0}) {
    timeline.set_visible_range(longest->start - (longest->duration * zoom),
                               longest->end + longest->duration * zoom);
    const TimeAxis& axis = timeline.axis();
    const auto hit = timeline.hit_test(axis.to_x((longest->start + longest->end) / 2), y);
    ASSERT_TRUE(hit.has_value()) << "zoom " << zoom;
    const core::TraceEvent& e = timeline.run(0).event(hit->event);
    EXPECT_EQ(e.rank, 5);
    EXPECT_EQ(timeline.run(0).trace().text(e.name), longest->name);
    EXPECT_NEAR(e.start, longest->start, kTimeTolerance);
    EXPECT_NEAR(e.end, longest->end, kTimeTolerance);
  }
  // In a gap of many pixels: nothing. On a node header, or beyond the rows: nothing.
  timeline.set_visible_range(gap_mid - gap, gap_mid + gap);
  EXPECT_GT(gap / timeline.axis().seconds_per_pixel(), 10 * Timeline::kHitTolerancePixels);
  EXPECT_FALSE(timeline.hit_test(timeline.axis().to_x(gap_mid), y).has_value());
  const int node_y =
      timeline.layout().rows()[static_cast<std::size_t>(timeline.layout().row_of_node(0, 1))].y;
  EXPECT_FALSE(timeline.hit_test(500, node_y + 2).has_value());
  EXPECT_FALSE(timeline.hit_test(500, timeline.layout().height() + 10).has_value());
}

// Independent per-rank numbers for [a, b] from trace.csv with a sweep line: +1/−1 at each event's
// clipped start and end, per class (compute, communication).
struct Expected {
  double compute = 0, communication = 0, both = 0, idle = 0;
  std::uint64_t sent = 0, collective = 0;
};

std::map<int, Expected> sweep(const std::vector<CsvEvent>& csv, double a, double b, int ranks) {
  std::map<int, std::vector<std::tuple<double, int, int>>> edges;  // rank → (time, class, ±1)
  std::map<int, Expected> out;
  for (int r = 0; r < ranks; ++r) out[r];
  for (const CsvEvent& e : csv) {
    if (e.lane == "send" && e.start >= a && e.start < b) out[e.rank].sent += e.bytes;
    if (e.lane == "collective" && e.start >= a && e.start < b) out[e.rank].collective += e.bytes;
    if (e.lane == "phase") continue;
    const double s = std::max(a, e.start), t = std::min(b, e.end);
    if (t <= s) continue;
    const int cls = e.lane == "compute" ? 0 : 1;
    edges[e.rank].emplace_back(s, cls, +1);
    edges[e.rank].emplace_back(t, cls, -1);
  }
  for (auto& [rank, list] : edges) {
    std::sort(list.begin(), list.end());
    int open[2] = {0, 0};
    double last = a;
    Expected& x = out[rank];
    for (const auto& [time, cls, delta] : list) {
      const double dt = time - last;
      if (open[0] > 0) x.compute += dt;
      if (open[1] > 0) x.communication += dt;
      if (open[0] > 0 && open[1] > 0) x.both += dt;
      open[cls] += delta;
      last = time;
    }
  }
  for (auto& [rank, x] : out) x.idle = (b - a) - (x.compute + x.communication - x.both);
  return out;
}

void expect_summary_matches_csv(const std::string& name, double from, double to) {
  const auto dir = test_run(name);
  const auto run = RunModel::load(dir);
  const std::vector<CsvEvent> csv = read_trace_csv(dir / "trace.csv");
  const double span = run->end_time() - run->start_time();
  const double a = run->start_time() + from * span, b = run->start_time() + to * span;
  const RangeSummary s = summarize_range(*run, a, b);
  const auto expected = sweep(csv, a, b, run->rank_count());
  ASSERT_EQ(s.ranks.size(), expected.size());
  constexpr double kTolerance = 1e-9;  // seconds: sums of hundreds of CSV/JSON times
  double idle = 0, busy = 0;
  std::uint64_t sent = 0, collective = 0;
  for (const RankRangeStats& r : s.ranks) {
    SCOPED_TRACE(::testing::Message() << name << " rank " << r.rank);
    const Expected& x = expected.at(r.rank);
    EXPECT_NEAR(r.compute_s, x.compute, kTolerance);
    EXPECT_NEAR(r.communication_s, x.communication, kTolerance);
    EXPECT_NEAR(r.overlap_s, x.both, kTolerance);
    EXPECT_NEAR(r.idle_s, x.idle, kTolerance);
    EXPECT_NEAR(r.busy_percent, 100 * x.compute / (b - a), 1e-6);
    EXPECT_EQ(r.message_bytes, x.sent);
    EXPECT_EQ(r.collective_bytes, x.collective);
    idle += x.idle;
    busy += 100 * x.compute / (b - a);
    sent += x.sent;
    collective += x.collective;
  }
  const double n = static_cast<double>(expected.size());
  EXPECT_NEAR(s.idle_share, idle / (n * (b - a)), 1e-9);
  EXPECT_NEAR(s.busy_percent, busy / n, 1e-6);
  EXPECT_EQ(s.message_bytes, sent);
  EXPECT_EQ(s.collective_bytes, collective);
}

TEST(GuiRangeSummary, EqualsNumbersComputedFromTraceCsv) {
  // Parts of the demo where backward overlaps all-reduce, and where ranks wait.
  expect_summary_matches_csv("demo-ring", 0.1, 0.6);
  expect_summary_matches_csv("demo-ring", 0.0, 1.0);
  expect_summary_matches_csv("demo-tree", 0.37, 0.52);
  // Messages: bytes sent.
  expect_summary_matches_csv("allreduce-star", 0.2, 0.45);
}

TEST(GuiItemModels, PassQAbstractItemModelTesterAndShowTheNumbers) {
  testing::gui_app();
  const auto run = RunModel::load(test_run("demo-ring"));
  RangeSummaryModel range;
  QAbstractItemModelTester range_tester(&range, QAbstractItemModelTester::FailureReportingMode::Fatal);
  const RangeSummary s = summarize_range(*run, 0.01, 0.1);
  range.set_summary(s);
  ASSERT_EQ(range.rowCount(), 64);
  EXPECT_EQ(range.data(range.index(7, RangeSummaryModel::rank), Qt::UserRole).toInt(), 7);
  EXPECT_DOUBLE_EQ(range.data(range.index(7, RangeSummaryModel::compute), Qt::UserRole).toDouble(),
                   s.ranks[7].compute_s);
  range.clear();
  EXPECT_EQ(range.rowCount(), 0);

  PhaseTableModel phases;
  QAbstractItemModelTester phase_tester(&phases, QAbstractItemModelTester::FailureReportingMode::Fatal);
  const auto tree = core::read_chrome_trace(test_run("demo-tree") / "trace.json");
  const auto diff = core::compare_phases(run->trace(), tree);
  ASSERT_GE(diff.size(), 5u) << "forward, backward, gradient-sync, optimizer, all-reduce";
  phases.set_rows(diff, "ring", "tree");
  ASSERT_EQ(phases.rowCount(), static_cast<int>(diff.size()));
  for (int i = 0; i < phases.rowCount(); ++i) {
    EXPECT_EQ(phases.data(phases.index(i, PhaseTableModel::phase)).toString().toStdString(), diff[i].phase);
    EXPECT_DOUBLE_EQ(phases.data(phases.index(i, PhaseTableModel::error_percent), Qt::UserRole).toDouble(),
                     diff[i].error_percent);
  }
  EXPECT_TRUE(phases.headerData(PhaseTableModel::predicted, Qt::Horizontal).toString().contains("ring"));
}

}  // namespace
}  // namespace dmlsim::gui
