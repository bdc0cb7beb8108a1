// core::summarize's link table: busiest first, ties by name, so that the table does not depend on
// the order in which the backend happened to use the links.
#include <gtest/gtest.h>

#include <sstream>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "trace_builder.hpp"

namespace dmlsim::core {
namespace {

TEST(Roles, LabelsReadBackAndCountsDescribeThem) {
  for (const Role r : {Role{}, Role{RoleKind::server, 3}, Role{RoleKind::stage, 0}, Role{RoleKind::spare, -1},
                       Role{RoleKind::aggregator, 1}}) {
    EXPECT_EQ(Role::parse(r.label()).label(), r.label());
  }
  EXPECT_THROW(Role::parse("server x"), ValueError);
  EXPECT_THROW(Role::parse("stage -1"), ValueError);
  const Roles roles{{Role{RoleKind::stage, 0}, Role{RoleKind::stage, 1}, Role{RoleKind::spare}}, 0};
  EXPECT_EQ(roles.describe(4), "1 worker, 2 stages, 1 spare")
      << "a rank the strategy did not list is a worker";
  EXPECT_EQ(roles.training_ranks(4), 3);
  EXPECT_FALSE(roles.of(2).trains());
}

// One rank, 1 s iterations: 0.8 s of compute and a 0.5 s all-reduce overlapped with it. Exposed is
// what compute does not cover (0.2 s); the rest of the communication, 0.3 s, is hidden.
TEST(Summary, HiddenCommunicationIsWhatComputeCovers) {
  Trace t;
  t.ranks = {{0, 0, "h0"}};
  for (int it = 0; it < 2; ++it) {
    testing::add_event(t, 0, Lane::phase, "iteration", "iteration", it, it + 1.0, it);
    testing::add_event(t, 0, Lane::compute, "gemm", "gemm", it, it + 0.8, it);
    testing::add_event(t, 0, Lane::collective, "all-reduce", "all-reduce", it + 0.5, it + 1.0, it);
  }
  const RunSummary s = summarize(t, {});
  EXPECT_NEAR(s.exposed_mean, 0.2, 1e-12);
  EXPECT_NEAR(s.hidden_mean, 0.3, 1e-12);
  EXPECT_NEAR(s.to_json()["hidden_communication_s"].get<double>(), 0.3, 1e-12);
}

TEST(Summary, LinksBusiestFirstThenByName) {
  // Busy times: b 2 s, c 1 s, a 1 s (half the bytes on half the bandwidth), d 3 s.
  std::vector<LinkUsage> links = {{"c", 1e9, 1'000'000'000},
                                  {"b", 1e9, 2'000'000'000},
                                  {"a", 0.5e9, 500'000'000},
                                  {"d", 1e9, 3'000'000'000}};
  const RunSummary s = summarize(Trace{}, links);
  ASSERT_EQ(s.links.size(), 4u);
  EXPECT_EQ(s.links[0].name, "d");
  EXPECT_EQ(s.links[1].name, "b");
  EXPECT_EQ(s.links[2].name, "a");
  EXPECT_EQ(s.links[3].name, "c");
}

// Two workers and a dedicated server (rank 2). Iterations of the workers: 0 – 1 s and 1 – 2.5 s;
// the server's own "iteration" mark runs to 3 s and must not stretch the second one. Compute per
// iteration: worker 0 0.4 s, worker 1 0.6 s, the server 0.1 s of summing.
TEST(Summary, MeansAreOverTheTrainingRanks) {
  Trace t;
  t.ranks = {{0, 0, "w0"}, {1, 1, "w1"}, {2, 2, "server"}};
  for (int it = 0; it < 2; ++it) {
    const double b = it == 0 ? 0 : 1, e = it == 0 ? 1 : 2.5;
    testing::add_event(t, 0, Lane::phase, "iteration", "iteration", b, e, it);
    testing::add_event(t, 1, Lane::phase, "iteration", "iteration", b, e - 0.2, it);
    testing::add_event(t, 2, Lane::phase, "iteration", "iteration", b, it == 0 ? 1 : 3, it);
    testing::add_event(t, 0, Lane::compute, "gemm", "gemm", b, b + 0.4, it);
    testing::add_event(t, 1, Lane::compute, "gemm", "gemm", b, b + 0.6, it);
    testing::add_event(t, 2, Lane::compute, "sum", "sum", b + 0.5, b + 0.6, it);
  }
  const Roles roles{{Role{}, Role{}, Role{RoleKind::server, 0}}, 64};
  const RunSummary s = summarize(t, {}, roles);
  EXPECT_EQ(s.ranks, 3);
  EXPECT_EQ(s.training_ranks, 2);
  EXPECT_EQ(s.per_rank[2].role.label(), "server 0");
  // 64 samples an iteration, 1.25 s an iteration.
  EXPECT_DOUBLE_EQ(s.samples_per_second(), 64 / 1.25);
  const nlohmann::json j = s.to_json();
  EXPECT_EQ(j["roles"], nlohmann::json({{"worker", 2}, {"server", 1}}));
  EXPECT_EQ(j["per_rank"][2]["role"], "server 0");
  EXPECT_DOUBLE_EQ(j["samples_per_s"].get<double>(), 51.2);
  std::ostringstream printed;
  print_summary(s, printed);
  EXPECT_NE(printed.str().find("roles: 2 workers, 1 server; the means are over the 2 that train"),
            std::string::npos)
      << printed.str();
  EXPECT_NE(printed.str().find("51.2 samples/s (64 per iteration)"), std::string::npos) << printed.str();
  // The server is read back as a server, and the summary as it was written.
  EXPECT_EQ(RunSummary::from_json(j).to_json(), j);
  ASSERT_EQ(s.iteration_seconds.size(), 2u);
  EXPECT_DOUBLE_EQ(s.iteration_seconds[0], 1.0);
  EXPECT_DOUBLE_EQ(s.iteration_seconds[1], 1.5);
  EXPECT_DOUBLE_EQ(s.compute_mean, 0.5);
  // exposed: iteration mean 1.25 − compute, averaged over the workers: (0.85 + 0.65) / 2.
  EXPECT_DOUBLE_EQ(s.exposed_mean, 0.75);
  ASSERT_EQ(s.per_rank.size(), 3u);
  EXPECT_DOUBLE_EQ(s.per_rank[2].compute_seconds, 0.1) << "the server is still listed";

  // Without roles every rank trains: the server's mark ends iteration 1 at 3 s.
  const RunSummary all = summarize(t, {});
  EXPECT_EQ(all.training_ranks, 3);
  EXPECT_DOUBLE_EQ(all.iteration_seconds[1], 2.0);
  EXPECT_DOUBLE_EQ(all.compute_mean, (0.4 + 0.6 + 0.1) / 3);
}

// trace: phases has no kernel events: forward, backward and optimizer stand for compute. trace:
// none has only the iteration marks: the breakdown is unknown, and summary.json says null, not 0.
TEST(Summary, ComputeFromPhasesAndUnknownWithoutThem) {
  Trace phases;
  phases.ranks = {{0, 0, "a"}};
  testing::add_event(phases, 0, Lane::phase, "iteration", "iteration", 0, 1, 0);
  testing::add_event(phases, 0, Lane::phase, "forward", "forward", 0, 0.2, 0);
  testing::add_event(phases, 0, Lane::phase, "backward", "backward", 0.2, 0.6, 0);
  testing::add_event(phases, 0, Lane::phase, "gradient-sync", "gradient-sync", 0.6, 0.9, 0);
  testing::add_event(phases, 0, Lane::phase, "optimizer", "optimizer", 0.9, 1, 0);
  const RunSummary p = summarize(phases, {});
  EXPECT_TRUE(p.breakdown_recorded);
  EXPECT_DOUBLE_EQ(p.compute_mean, 0.2 + 0.4 + 0.1);
  EXPECT_DOUBLE_EQ(p.exposed_mean, 1 - 0.7);

  Trace none;
  none.ranks = {{0, 0, "a"}};
  testing::add_event(none, 0, Lane::phase, "iteration", "iteration", 0, 1, 0);
  const RunSummary n = summarize(none, {});
  EXPECT_FALSE(n.breakdown_recorded);
  EXPECT_DOUBLE_EQ(n.iteration_mean, 1.0);
  const nlohmann::json j = n.to_json();
  EXPECT_TRUE(j["compute_s"].is_null());
  EXPECT_TRUE(j["exposed_communication_s"].is_null());
  EXPECT_TRUE(j["per_rank"][0]["compute_s"].is_null());
  EXPECT_DOUBLE_EQ(j["iteration_s"].get<double>(), 1.0);
}

// An elastic run: two simulated iterations of 1 s, a gap of 100 s (steady steps by the clock, a
// write, a failure, detection, a restart, a load), then one more simulated iteration. The step time
// is each iteration's own, not the gap; the elastic section adds rank 0's phases and counters.
TEST(Summary, ElasticRunsLoseTimePerCauseAndIterationsSkipTheGaps) {
  Trace t;
  t.ranks = {{0, 0, "w0"}, {1, 1, "w1"}};
  for (int r = 0; r < 2; ++r) {
    testing::add_event(t, r, Lane::phase, "iteration", "iteration", 0, 1, 0);
    testing::add_event(t, r, Lane::phase, "iteration", "iteration", 1, 2, 1);
    testing::add_event(t, r, Lane::phase, "steady-iterations", "steady-iterations", 2, 50, 2);
    testing::add_event(t, r, Lane::phase, "checkpoint", "checkpoint", 50, 53);
    testing::add_event(t, r, Lane::phase, "steady-iterations", "steady-iterations", 53, 60, 40);
    testing::add_event(t, r, Lane::mark, "failure", "", 60, 60);
    testing::add_event(t, r, Lane::phase, "failure-detection", "failure-detection", 60, 70);
    testing::add_event(t, r, Lane::phase, "restart", "restart", 70, 90);
    testing::add_event(t, r, Lane::phase, "checkpoint-load", "checkpoint-load", 90, 102);
    testing::add_event(t, r, Lane::phase, "iteration", "iteration", 102, 103, 2);
  }
  TraceEvent lost = testing::make_event(t, 0, Lane::counter, std::string(kLostWorkSeconds), "", 60, 60);
  lost.value = 7;
  t.add(lost);
  TraceEvent kept = testing::make_event(t, 0, Lane::counter, std::string(kIterationsKept), "", 103, 103);
  kept.value = 50;
  t.add(kept);
  const RunSummary s = summarize(t, {}, Roles::workers(2, 8));
  EXPECT_EQ(s.iteration_seconds, (std::vector<double>{1, 1, 1}));
  ASSERT_TRUE(s.elastic.has_value());
  EXPECT_EQ(s.elastic->iterations_kept, 50);
  EXPECT_EQ(s.elastic->failures, 1);
  EXPECT_EQ(s.elastic->checkpoint_writes, 1);
  EXPECT_DOUBLE_EQ(s.elastic->checkpoint_s, 3);
  EXPECT_DOUBLE_EQ(s.elastic->detection_s, 10);
  EXPECT_DOUBLE_EQ(s.elastic->restart_s, 20);
  EXPECT_DOUBLE_EQ(s.elastic->load_s, 12);
  EXPECT_DOUBLE_EQ(s.elastic->lost_work_s, 7);
  EXPECT_DOUBLE_EQ(s.elastic->lost_s(), 52);
  EXPECT_DOUBLE_EQ(s.elastic->goodput, 50.0 * 8 / 103);
  const nlohmann::json j = s.to_json();
  EXPECT_DOUBLE_EQ(j["elastic"]["time_lost_s"]["restart"].get<double>(), 20);
  EXPECT_EQ(RunSummary::from_json(j).to_json(), j);
  std::ostringstream printed;
  print_summary(s, printed);
  EXPECT_NE(printed.str().find("50 iterations kept in 103 s"), std::string::npos) << printed.str();
  // Runs that are not elastic have no such section.
  Trace plain;
  plain.ranks = {{0, 0, "w0"}};
  testing::add_event(plain, 0, Lane::phase, "iteration", "iteration", 0, 1, 0);
  EXPECT_FALSE(summarize(plain, {}).elastic.has_value());
  EXPECT_FALSE(summarize(plain, {}).to_json().contains("elastic"));
}

}  // namespace
}  // namespace dmlsim::core

namespace dmlsim::core {
namespace {

// summary.json reads back into the same RunSummary: to_json(from_json(to_json(s))) == to_json(s),
// null breakdowns included; a newer layout and a missing key are refused by name.
TEST(Summary, FromJsonReadsBackWhatToJsonWrote) {
  Trace t;
  t.ranks = {{0, 0, "w0"}, {1, 1, "w1"}};
  for (int it = 0; it < 2; ++it) {
    for (int r = 0; r < 2; ++r) {
      testing::add_event(t, r, Lane::phase, "iteration", "iteration", it, it + 0.9, it);
      testing::add_event(t, r, Lane::compute, "gemm", "gemm", it, it + 0.25 * (r + 1), it);
      TraceEvent c = testing::make_event(t, r, Lane::collective, "all-reduce ring 1 MiB", "all-reduce",
                                         it + 0.5, it + 0.8, it);
      c.bytes = 1 << 20;
      c.group_size = 2;
      t.add(c);
    }
  }
  RunSummary s = summarize(t, {{"l0", 1e9, 123456789}, {"l1", 2e9, 42}});
  s.messages = 17;
  // run prints the links per iteration (two here), as compare does.
  std::ostringstream printed;
  print_summary(s, printed);
  EXPECT_NE(printed.str().find("busiest links (2 of 2), per iteration:"), std::string::npos) << printed.str();
  EXPECT_NE(printed.str().find(format_bytes(123456789.0 / 2)), std::string::npos) << printed.str();
  const nlohmann::json j = s.to_json();
  EXPECT_EQ(j["schema_version"], kSummarySchemaVersion);
  EXPECT_EQ(RunSummary::from_json(j).to_json(), j);

  RunSummary none = s;
  none.breakdown_recorded = false;
  EXPECT_EQ(RunSummary::from_json(none.to_json()).to_json(), none.to_json()) << "nulls stay null";

  nlohmann::json newer = j;
  newer["schema_version"] = kSummarySchemaVersion + 1;
  EXPECT_THROW(RunSummary::from_json(newer), ValueError);
  nlohmann::json broken = j;
  broken.erase("makespan_s");
  try {
    RunSummary::from_json(broken);
    FAIL() << "expected an error";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "summary.json: 'makespan_s' is missing");
  }
  nlohmann::json old = j;
  old.erase("schema_version");
  EXPECT_EQ(RunSummary::from_json(old).to_json(), j) << "layout 1: the same keys, no version";

  // Layout 2 had no roles: the first training_ranks ranks trained, the others served.
  nlohmann::json two = j;
  two["schema_version"] = 2;
  two["training_ranks"] = 1;
  for (auto& r : two["per_rank"]) r.erase("role");
  const RunSummary from_two = RunSummary::from_json(two);
  EXPECT_EQ(from_two.per_rank[0].role.label(), "worker");
  EXPECT_EQ(from_two.per_rank[1].role.label(), "server 0");
  nlohmann::json unknown = j;
  unknown["per_rank"][0]["role"] = "chef";
  EXPECT_THROW(RunSummary::from_json(unknown), ValueError);
}

// A live-rescaled run: two ranks, then one after a rendezvous, then two again after a state transfer.
// The samples kept come from rank 0's counter, the membership from its epoch counters.
TEST(Summary, LiveRescaledRunsReportTheirMembershipAndSamplesKept) {
  Trace t;
  t.ranks = {{0, 0, "w0"}, {1, 1, "w1"}};
  const auto counter = [&](std::string_view series, double at, double value) {
    TraceEvent e = testing::make_event(t, 0, Lane::counter, std::string(series), "", at, at);
    e.value = value;
    t.add(e);
  };
  testing::add_event(t, 0, Lane::phase, "iteration", "iteration", 0, 1, 0);
  testing::add_event(t, 1, Lane::phase, "iteration", "iteration", 0, 1, 0);
  counter(kRanksInJob, 0, 2);
  testing::add_event(t, 0, Lane::phase, "rendezvous", "rendezvous", 10, 12);
  counter(kRanksInJob, 12, 1);
  testing::add_event(t, 1, Lane::phase, "out of the job", "out of the job", 12, 30);
  testing::add_event(t, 0, Lane::phase, "waiting for nodes", "waiting for nodes", 20, 25);
  testing::add_event(t, 0, Lane::phase, "rendezvous", "rendezvous", 25, 27);
  testing::add_event(t, 0, Lane::phase, "state-transfer", "state-transfer", 27, 30);
  counter(kRanksInJob, 30, 2);
  counter(kRanksInJob, 35, 2);  // a new epoch of the same ranks: no change of membership
  testing::add_event(t, 0, Lane::phase, "iteration", "iteration", 30, 31, 1);
  testing::add_event(t, 1, Lane::phase, "iteration", "iteration", 30, 31, 1);
  counter(kIterationsKept, 40, 30);
  counter(kSamplesKept, 40, 400);
  // Rank 0's gradient all-reduce inside iteration 0, and the state's broadcast between epochs: only
  // the first is an iteration's communication.
  testing::add_event(t, 0, Lane::collective, "all-reduce ring 1 KiB", "all-reduce", 0.2, 0.7);
  testing::add_event(t, 0, Lane::collective, "broadcast tree 1 GiB", "broadcast", 27, 30);
  const RunSummary s = summarize(t, {}, Roles::workers(2, 8));
  ASSERT_TRUE(s.elastic.has_value());
  EXPECT_EQ(s.elastic->samples_kept, 400);  // not 30 × 16: one rank trained part of them
  EXPECT_DOUBLE_EQ(s.elastic->goodput, 400.0 / 40);
  EXPECT_EQ(s.elastic->membership, (std::vector<std::pair<double, int>>{{0, 2}, {12, 1}, {30, 2}}));
  EXPECT_DOUBLE_EQ(s.elastic->rendezvous_s, 4);
  EXPECT_DOUBLE_EQ(s.elastic->waiting_s, 5);
  EXPECT_DOUBLE_EQ(s.elastic->transfer_s, 3);
  EXPECT_DOUBLE_EQ(s.elastic->lost_s(), 12);
  EXPECT_DOUBLE_EQ(s.per_rank[0].communication_seconds, 0.5 / 2);
  EXPECT_EQ(s.collectives.size(), 2u);  // the broadcast is in the table of collectives all the same
  const nlohmann::json j = s.to_json();
  EXPECT_EQ(j["elastic"]["membership"][1]["ranks"].get<int>(), 1);
  EXPECT_EQ(RunSummary::from_json(j).to_json(), j);
  std::ostringstream printed;
  print_summary(s, printed);
  EXPECT_NE(printed.str().find("ranks in the job      2 from 0 s, 1 from 12 s, 2 from 30 s"),
            std::string::npos)
      << printed.str();
  EXPECT_NE(printed.str().find("rendezvous 4 s, state transfer 3 s, waiting for nodes 5 s"),
            std::string::npos)
      << printed.str();
}

}  // namespace
}  // namespace dmlsim::core
