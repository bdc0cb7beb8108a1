// Elastic data-parallel training in the simulator (strategies/elastic/): a scripted failure costs
// exactly its detection, launch, load and the steps since the last checkpoint; the new epoch's
// messages travel on new communicators; the summary's elastic section adds up. Live rescaling: each
// epoch trains on its members only, a joiner receives the state, a failure loses the uncommitted steps.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "sim_helpers.hpp"
#include "strategies/elastic/elastic_plan.hpp"

namespace dmlsim {
namespace {

constexpr std::string_view kModel =
    "{type: mlp, name: el-mlp, widths: [1024, 1024, 1024, 10], batch: 64, dtype: fp32}";

core::Experiment elastic(int iterations, const std::string& elastic_fields, const std::string& simulation) {
  return testing::experiment_from_yaml(fmt::format(
      "experiment:\n  platform: {}\n  model: {}\n  ranks: 4\n  iterations: {}\n  strategy: "
      "{{type: elastic, allreduce: ring, {}}}\n  simulation: {}\n",
      testing::star_platform(4, "10Gbps", "5us"), kModel, iterations, elastic_fields, simulation));
}

// The simulation and its summary, as `dmlsim run` makes them.
std::pair<sim::SimResult, core::RunSummary> simulate_and_summarize(const core::Experiment& e) {
  sim::SimResult r = testing::simulate_strategy(e);
  core::RunSummary s = core::summarize(r.trace, r.links, strategies::make_strategy(e)->roles());
  return {std::move(r), std::move(s)};
}

TEST(ElasticSim, AFailureCostsDetectionLaunchLoadAndTheStepsSinceTheLastCheckpoint) {
  // Checkpoints every 50 steps of 4.2 MB (fp32 weights and Adam's 8 bytes per parameter... of 1.06 M
  // parameters: 12.7 MB) written at 1 GB/s and read by 4 ranks at 2 GB/s; the job fails at the end of step
  // 120 and goes back to step 100.
  const core::Experiment e =
      elastic(200,
              "checkpoint: {interval: 50, storage: {write: 1GB/s, read: 2GB/s, latency: "
              "10ms}}, failures: {events: [{at: iteration 120, fail: 2}]}, restart: "
              "{detect: 5s, launch: 7s}",
              "{fidelity: steps, trace: messages}");
  const auto [r, s] = simulate_and_summarize(e);
  ASSERT_TRUE(s.elastic.has_value());
  const core::ElasticStats& el = *s.elastic;
  const core::Model& m = e.require_model();
  const double state = static_cast<double>(m.parameters()) * (4 + 8);
  const double write = 0.010 + state / 1e9, load = 0.010 + 4 * state / 2e9;
  EXPECT_EQ(el.failures, 1);
  EXPECT_EQ(el.iterations_kept, 200);
  EXPECT_EQ(el.checkpoint_writes, 3);  // steps 50 and 100, then 150 after the restart
  EXPECT_NEAR(el.checkpoint_s, 3 * write, 1e-9);
  EXPECT_NEAR(el.load_s, load, 1e-9);
  EXPECT_NEAR(el.detection_s, 5, 1e-9);
  EXPECT_NEAR(el.restart_s, 7, 1e-9);

  // Rank 0's iterations simulated in full: three per epoch; the third one's time is the steady step.
  std::map<int, std::vector<const core::TraceEvent*>> full;  // by epoch
  double restart_end = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane != core::Lane::phase) continue;
    const std::string_view name = r.trace.text(ev.name);
    if (name == "restart") restart_end = std::max(restart_end, ev.end);
    if (ev.rank == 0 && name == "iteration") full[ev.attributes.get(core::Attribute::epoch)].push_back(&ev);
  }
  ASSERT_EQ(full.size(), 2u);
  ASSERT_EQ(full[0].size(), 3u);
  ASSERT_EQ(full[1].size(), 3u);
  const double step = full[0][2]->end - full[0][1]->end;
  EXPECT_NEAR(full[1][2]->end - full[1][1]->end, step, 1e-12);
  // Lost: steps 101 to 120 (20 steps by the clock) since the write of step 100.
  EXPECT_NEAR(el.lost_work_s, 20 * step, 1e-9);
  // The makespan: each epoch's warm-up as simulated, every other step by the clock (200 + 20 − 6 of
  // them), the writes, the load, detection and launch.
  const double warm_ups = (full[0][2]->end - full[0][0]->start) + (full[1][2]->end - full[1][0]->start);
  EXPECT_NEAR(s.makespan, warm_ups + 214 * step + 3 * write + load + 12, 1e-9 * s.makespan);
  EXPECT_NEAR(el.goodput, 200.0 * 64 * 4 / s.makespan, 1e-9);
  // The summary's iteration time is a simulated step's, not the gaps between them.
  EXPECT_NEAR(s.iteration_seconds.back(), step, 1e-9);

  // The second epoch's messages are on its own communicator, and start after the restart.
  int old_epoch = 0, new_epoch = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane != core::Lane::send) continue;
    const std::string_view comm = r.trace.text(ev.comm);
    if (comm == "dp") {
      ++old_epoch;
      EXPECT_LT(ev.end, restart_end);
    } else if (comm == "dp@1") {
      ++new_epoch;
      EXPECT_GT(ev.start, restart_end);
    } else {
      ADD_FAILURE() << "a message on " << comm;
    }
  }
  EXPECT_GT(old_epoch, 0);
  EXPECT_EQ(new_epoch, old_epoch);  // three simulated steps each
}

TEST(ElasticSim, DrawnFailuresFollowTheReplayOfTheSameSeed) {
  // Node MTBF 40 s over 4 nodes: a failure every 10 s of a job that trains ~1 min.
  const core::Experiment e =
      elastic(20000,
              "checkpoint: {interval: 2s, storage: {write: 1GB/s, read: 2GB/s}}, failures: "
              "{mtbf: 40s, seed: 3}, restart: {detect: 0.5s, launch: 1s}",
              "{trace: phases}");
  const auto [r, s] = simulate_and_summarize(e);
  ASSERT_TRUE(s.elastic.has_value());
  EXPECT_GE(s.elastic->failures, 3);
  // The replay at the simulated steady step meets the same failures and takes the same decisions;
  // only the epochs' warm-ups (simulated steps, the first of which may differ from a steady one, and
  // during which a failure waits for their end) differ.
  const double step = s.iteration_seconds.back();
  const strategies::ElasticOptions o = strategies::read_elastic_options(
      *e.strategy, e, static_cast<std::uint64_t>(e.require_model().parameters()) * 12);
  const strategies::ElasticOutcome replay = strategies::replay_timeline(o, e.iterations, step);
  EXPECT_EQ(s.elastic->failures, replay.failures);
  EXPECT_NEAR(s.makespan, replay.makespan, 0.01 * replay.makespan);
  EXPECT_NEAR(s.elastic->lost_work_s, replay.lost_seconds, 0.05 * replay.lost_seconds);
}

TEST(ElasticSim, LiveRescalingTrainsOnEachEpochsMembersAndSyncsTheStateWhenANodeJoins) {
  // 4 ranks (one per node), commits every 10 steps: node 3 leaves after step 40 and joins again after
  // step 80; node 1 fails at the end of step 120, before its commit, and never comes back.
  const core::Experiment e = elastic(160,
                                     "policy: live-rescale, commit: 10, failures: {events: [{at: iteration "
                                     "40, leave: 3}, {at: iteration 80, join: 3}, {at: iteration 120, fail: "
                                     "1}]}, restart: {detect: 2s, rendezvous: 1s}",
                                     "{fidelity: steps, trace: messages}");
  const auto [r, s] = simulate_and_summarize(e);
  ASSERT_TRUE(s.elastic.has_value());
  const core::ElasticStats& el = *s.elastic;
  ASSERT_EQ(el.membership.size(), 4u);
  const int ranks[] = {4, 3, 4, 3};
  for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(el.membership[k].second, ranks[k]) << "epoch " << k;
  // Kept: steps 1-40 on 4 ranks, 41-80 on 3, 81-110 on 4 (111-120 are lost), 111-160 on 3.
  EXPECT_EQ(el.samples_kept, (40 * 4 + 40 * 3 + 30 * 4 + 50 * 3) * 64);
  EXPECT_EQ(el.failures, 1);
  EXPECT_NEAR(el.detection_s, 2, 1e-9);
  EXPECT_NEAR(el.rendezvous_s, 3, 1e-9);
  EXPECT_EQ(el.checkpoint_writes, 0);
  EXPECT_GT(el.transfer_s, 0);

  // Rank 0's full iterations per epoch (three each); an epoch's steady step is its third one's.
  std::map<int, std::vector<const core::TraceEvent*>> full;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::phase && ev.rank == 0 && r.trace.text(ev.name) == "iteration")
      full[ev.attributes.get(core::Attribute::epoch)].push_back(&ev);
  }
  ASSERT_EQ(full.size(), 4u);
  std::vector<double> step, warm_up;
  for (const auto& [epoch, its] : full) {
    ASSERT_EQ(its.size(), 3u);
    step.push_back(its[2]->end - its[1]->end);
    warm_up.push_back(its[2]->end - its[0]->start);
  }
  EXPECT_NEAR(step[2], step[0], 1e-12);  // the same 4 ranks
  EXPECT_NE(step[1], step[0]);           // a ring of 3 is not one of 4
  EXPECT_NEAR(el.lost_work_s, 10 * step[2], 1e-9);
  // The summary's iterations are the simulated ones, numbered alike on every rank: none spans a
  // rendezvous (1 s) or an epoch a rank sat out.
  ASSERT_EQ(s.iteration_seconds.size(), 12u);
  for (double t : s.iteration_seconds) EXPECT_LT(t, 0.5);
  EXPECT_NEAR(s.iteration_seconds.back(), step[3], 1e-9);
  // The makespan: warm-ups as simulated, the other steps by the clock (37, 37, 37 and 47), three
  // rendezvous, the detection and the state transfer.
  double expected = 3 + 2 + el.transfer_s;
  for (std::size_t k = 0; k < 4; ++k) expected += warm_up[k] + (k == 3 ? 47 : 37) * step[k];
  EXPECT_NEAR(s.makespan, expected, 1e-9 * s.makespan);

  // Each epoch's messages are on its own communicator, between its members only; when node 3 joins, rank
  // 0 broadcasts the state to epoch 2's members on "state@2".
  const std::map<std::string_view, std::vector<int>> members = {
      {"dp", {0, 1, 2, 3}}, {"dp@1", {0, 1, 2}}, {"dp@2", {0, 1, 2, 3}}, {"dp@3", {0, 2, 3}}};
  std::map<std::string, int> messages;
  std::uint64_t state_bytes = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane != core::Lane::send) continue;
    const std::string_view comm = r.trace.text(ev.comm);
    ++messages[std::string(comm)];
    if (comm == "state@2") state_bytes += ev.bytes;
    const auto it = members.find(comm == "state@2" ? "dp@2" : comm);
    ASSERT_NE(it, members.end()) << "a message on " << comm;
    EXPECT_TRUE(std::ranges::count(it->second, ev.rank) == 1 && std::ranges::count(it->second, ev.peer) == 1)
        << comm << ": " << ev.rank << " → " << ev.peer;
  }
  EXPECT_EQ(messages.size(), 5u);
  // A broadcast: each of the three other members receives the state once (weights and Adam's moments).
  EXPECT_EQ(state_bytes, 3 * static_cast<std::uint64_t>(e.require_model().parameters()) * 12);
  // Ranks out of an epoch keep the clock in "out of the job" phases: rank 3 in epoch 1, rank 1 in epoch 3.
  std::map<int, int> out_of_the_job;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "out of the job") ++out_of_the_job[ev.rank];
  }
  EXPECT_EQ(out_of_the_job.size(), 2u);
  EXPECT_GT(out_of_the_job[3], 0);
  EXPECT_GT(out_of_the_job[1], 0);
}

// Gradient accumulation (accumulation: 2) in a live-rescaled job whose ranks keep their batch: each
// kept step trains two micro-batches of 64 on every member. Keeping the global batch with
// accumulation is refused, naming the field.
TEST(ElasticSim, AccumulationCountsEveryMicroBatchOfTheKeptSteps) {
  const core::Experiment e =
      elastic(40,
              "policy: live-rescale, accumulation: 2, failures: {events: [{at: iteration "
              "20, leave: 3}]}, restart: {rendezvous: 1s}",
              "{fidelity: steps, trace: phases}");
  const auto [r, s] = simulate_and_summarize(e);
  ASSERT_TRUE(s.elastic.has_value());
  EXPECT_EQ(s.elastic->samples_kept, (20 * 4 + 20 * 3) * 64 * 2);
  try {
    strategies::make_strategy(elastic(40, "policy: live-rescale, accumulation: 2, batch: global", "{}"));
    ADD_FAILURE() << "batch: global with accumulation was accepted";
  } catch (const core::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("field 'experiment.strategy.batch'"), std::string::npos)
        << error.what();
  }
}

TEST(ElasticSim, KeepingTheGlobalBatchSharesItAmongTheMembers) {
  // 4 ranks of 64 samples: a global batch of 256. Node 3 leaves after step 20: rank 0 then trains 86
  // samples a step, ranks 1 and 2 85 each (256 = 3 × 85 + 1), every kept step 256 samples.
  const core::Experiment e =
      elastic(40,
              "policy: live-rescale, batch: global, failures: {events: [{at: iteration "
              "20, leave: 3}]}, restart: {rendezvous: 1s}",
              "{fidelity: steps, trace: kernels}");
  const auto [r, s] = simulate_and_summarize(e);
  ASSERT_TRUE(s.elastic.has_value());
  EXPECT_EQ(s.elastic->samples_kept, 40 * 256);
  // Forward flops per rank and epoch (every forward kernel scales with the samples).
  std::map<std::pair<int, int>, double> forward;  // (rank, epoch) → flops of its first iteration
  std::map<std::pair<int, int>, int> first_iteration;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "iteration") {
      const auto key = std::pair{ev.rank, ev.attributes.get(core::Attribute::epoch)};
      if (!first_iteration.contains(key) || ev.iteration < first_iteration[key])
        first_iteration[key] = ev.iteration;
    }
  }
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.lane != core::Lane::compute || r.trace.text(ev.category) != "forward") continue;
    for (const auto& [key, it] : first_iteration) {
      if (key.first == ev.rank && ev.iteration == it) forward[key] += ev.flops;
    }
  }
  const auto flops = [&](int rank, int epoch) { return forward[std::pair{rank, epoch}]; };
  ASSERT_GT(flops(0, 0), 0);
  EXPECT_NEAR(flops(0, 1) / flops(0, 0), 86.0 / 64, 1e-12);
  EXPECT_NEAR(flops(1, 1) / flops(1, 0), 85.0 / 64, 1e-12);
  EXPECT_NEAR(flops(2, 1) / flops(2, 0), 85.0 / 64, 1e-12);
  EXPECT_FALSE(forward.contains(std::pair{3, 1}));
}

}  // namespace
}  // namespace dmlsim
