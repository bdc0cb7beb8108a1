// Several jobs on one network (an experiment with `jobs`): two rings that share an oversubscribed
// uplink each slow down as max-min sharing says; jobs on disjoint hosts, or one after the other, do
// not slow down at all; bad input names the job, the file and the field.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <sstream>

#include "cli_helpers.hpp"
#include "core/errors.hpp"
#include "core/trace_csv_reader.hpp"
#include "core/trace_reader.hpp"
#include "strategies/jobs.hpp"

namespace dmlsim {
namespace {

using testing::read_json;
using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

// Two leaves of 4 hosts under one spine: each leaf's uplink (10 Gbit/s) is as fast as one host's
// link, 4:1 oversubscribed. Host to host across the spine: 4 links of 1 µs.
constexpr const char* kPlatform = R"(platform:
  name: two-leaves
  topology: fat-tree
  hosts: 8
  hosts_per_leaf: 4
  host_link: {bandwidth: 10Gbps, latency: 1us}
  spines: 1
  spine_link: {bandwidth: 10Gbps, latency: 1us}
  device: h100
)";

constexpr const char* kRing = R"(experiment:
  platform: p.yaml
  iterations: 2
  strategy: {type: collective, collective: all-reduce, algorithm: ring, size: 64MiB}
  simulation: {trace: messages}
)";

constexpr double kBandwidth = 10e9 / 8;          // bytes/s
constexpr double kCrossLatency = 4e-6;           // host → leaf → spine → leaf → host
constexpr double kChunk = 64.0 * (1 << 20) / 4;  // a 4-rank ring's step

struct Jobs {
  ScratchDir scratch;
  explicit Jobs(const std::string& name) : scratch(name) {
    write_file(scratch / "p.yaml", kPlatform);
    write_file(scratch / "ring.yaml", kRing);
  }
  testing::CliResult run(const std::string& jobs, const std::vector<std::string>& more = {}) {
    write_file(scratch / "jobs.yaml", "experiment:\n  name: shared\n  platform: p.yaml\n  jobs:\n" + jobs);
    std::vector<std::string> a{"run", (scratch / "jobs.yaml").string(), "--out", (scratch / "out").string()};
    a.insert(a.end(), more.begin(), more.end());
    return run_dmlsim(a, scratch);
  }
  nlohmann::json job(const std::string& name) {
    const nlohmann::json summary = read_json(scratch / "out" / "summary.json");
    for (const auto& j : summary["jobs"])
      if (j["name"] == name) return j;
    ADD_FAILURE() << "no job " << name;
    return {};
  }
};

void expect_relative(double value, double expected, double tolerance, const std::string& what) {
  EXPECT_NEAR(value / expected, 1.0, tolerance) << what << ": " << value << " against " << expected;
}

// Rings 0 → 1 → 4 → 5 and 2 → 3 → 6 → 7: at every step each job sends one chunk up each leaf's
// uplink, so the two jobs' flows share it half and half (max-min), and every crossing step takes
// α + c/(B/2) instead of α + c/B; a ring all-reduce is 2(n − 1) such steps.
TEST(Jobs, TwoRingsSharingAnUplinkEachSlowDownAsMaxMinSharingSays) {
  Jobs t("jobs-shared");
  const auto r = t.run(
      "    a: {experiment: ring.yaml, hosts: [0, 1, 4, 5]}\n    b: {experiment: ring.yaml, hosts: "
      "\"2-3,6-7\"}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2.000x"), std::string::npos) << r.out;
  const double alone = 2 * 3 * (kCrossLatency + kChunk / kBandwidth);
  const double shared = 2 * 3 * (kCrossLatency + kChunk / (kBandwidth / 2));
  for (const std::string name : {"a", "b"}) {
    const nlohmann::json j = t.job(name);
    expect_relative(j["alone_iteration_s"].get<double>(), alone, 1e-9, name + " alone");
    expect_relative(j["iteration_s"].get<double>(), shared, 1e-9, name + " shared");
    expect_relative(j["slowdown"].get<double>(), shared / alone, 1e-9, name + " slowdown");
    // The job's own run says the same, and its links carry only its own bytes.
    const nlohmann::json own = read_json(t.scratch / "out" / name / "summary.json");
    EXPECT_DOUBLE_EQ(own["iteration_s"].get<double>(), j["iteration_s"].get<double>());
    EXPECT_EQ(own["ranks"], 4);
    EXPECT_TRUE(std::filesystem::exists(t.scratch / "out" / "alone" / name / "trace.json"));
  }
  // The shared uplink carries both jobs' bytes: per iteration a ring step sends c across it twice
  // per job each way, 2(n − 1) steps, two iterations.
  const nlohmann::json summary = read_json(t.scratch / "out" / "summary.json");
  EXPECT_EQ(summary["jobs"].size(), 2u);
  double uplink_bytes = 0;
  for (const auto& l : summary["links"]) uplink_bytes = std::max(uplink_bytes, l["bytes"].get<double>());
  EXPECT_DOUBLE_EQ(uplink_bytes, 2 /*jobs*/ * 2 * 3 /*steps*/ * kChunk * 2 /*iterations*/);

  // The combined trace: job a's ranks 0–3, job b's 4–7, every event marked with its job, messages
  // within their job; each job's events as in its own trace, shifted. The JSON says the same.
  const core::Trace together = core::read_csv_trace(t.scratch / "out" / "trace.csv");
  ASSERT_EQ(together.ranks.size(), 8u);
  std::size_t own_events = 0;
  for (const std::string name : {"a", "b"})
    own_events += core::read_csv_trace(t.scratch / "out" / name / "trace.csv").events().size();
  EXPECT_EQ(together.events().size(), own_events);
  std::array<int, 2> per_job{};
  int messages = 0;
  for (const core::TraceEvent& e : together.events()) {
    const int job = e.attributes.get(core::Attribute::job);
    ASSERT_TRUE(job == 0 || job == 1) << "event of rank " << e.rank;
    ++per_job[static_cast<std::size_t>(job)];
    EXPECT_EQ(e.rank / 4, job);
    if (e.lane == core::Lane::send || e.lane == core::Lane::recv) {
      ++messages;
      EXPECT_EQ(e.peer / 4, job) << "a message within its job";
    }
  }
  EXPECT_GT(messages, 0);
  EXPECT_GT(per_job[0], 0);
  EXPECT_EQ(per_job[0], per_job[1]) << "the same ring twice";
  const core::Trace json = core::read_chrome_trace(t.scratch / "out" / "trace.json");
  EXPECT_EQ(json.events().size(), together.events().size());
  ASSERT_EQ(json.ranks.size(), 8u);
  EXPECT_NE(json.ranks[5].host_name.find("· b"), std::string::npos) << json.ranks[5].host_name;
}

TEST(Jobs, JobsOnDisjointHostsOrOneAfterTheOtherDoNotSlowDown) {
  Jobs t("jobs-disjoint");
  // One leaf each: no link in common.
  auto r = t.run(
      "    a: {experiment: ring.yaml, hosts: \"0-3\"}\n    b: {experiment: ring.yaml, hosts: \"4-7\"}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string name : {"a", "b"}) {
    const nlohmann::json j = t.job(name);
    EXPECT_NEAR(j["slowdown"].get<double>(), 1.0, 1e-9) << name;
    EXPECT_NEAR(j["iteration_s"].get<double>(), j["alone_iteration_s"].get<double>(), 1e-12) << name;
  }
  // Sharing the uplink, but b starts once a is done: b's iterations start at its start time.
  r = t.run(
      "    a: {experiment: ring.yaml, hosts: [0, 1, 4, 5]}\n"
      "    b: {experiment: ring.yaml, hosts: [2, 3, 6, 7], start: 400ms}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json a = t.job("a"), b = t.job("b");
  EXPECT_LT(a["end_s"].get<double>(), 0.4);
  EXPECT_NEAR(a["slowdown"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(b["slowdown"].get<double>(), 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(b["start_s"].get<double>(), 0.4);
  EXPECT_NEAR(b["end_s"].get<double>(), 0.4 + 2 * b["alone_iteration_s"].get<double>(), 1e-12);
  const nlohmann::json b_run = read_json(t.scratch / "out" / "b" / "summary.json");
  EXPECT_NEAR(b_run["makespan_s"].get<double>(), b["end_s"].get<double>(), 1e-12);
  // --set reaches a job: b moved onto a's start.
  r = t.run(
      "    a: {experiment: ring.yaml, hosts: [0, 1, 4, 5]}\n"
      "    b: {experiment: ring.yaml, hosts: [2, 3, 6, 7], start: 400ms}\n",
      {"--set", "jobs.b.start=0s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NEAR(t.job("b")["slowdown"].get<double>(), 2.0, 1e-3);
}

// The shipped example: both jobs' rings cross the 8:1 oversubscribed spines and slow down; each on
// leaves of its own, neither does. `explain` gives each job's closed form as if alone.
TEST(Jobs, ShippedExampleSlowsBothJobsAndExplainShowsEach) {
  const ScratchDir scratch("jobs-example");
  const auto example = (testing::source_dir() / "experiments" / "two-jobs-fat-tree.yaml").string();
  auto r = run_dmlsim({"run", example, "--out", (scratch / "shared").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json shared = read_json(scratch / "shared" / "summary.json");
  for (const auto& j : shared["jobs"]) {
    EXPECT_GT(j["slowdown"].get<double>(), 1.02) << j["name"];
    // Alone, each job takes its own closed form (the data-parallel overlap model).
    const nlohmann::json alone =
        read_json(scratch / "shared" / "alone" / j["name"].get<std::string>() / "summary.json");
    expect_relative(alone["iteration_s"].get<double>(), alone["predicted_iteration_s"].get<double>(), 1e-6,
                    j["name"].get<std::string>());
  }
  r = run_dmlsim({"run", example, "--out", (scratch / "apart").string(), "--set", "jobs.resnet.hosts=0-15",
                  "--set", "jobs.bert.hosts=16-31"},
                 scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json apart = read_json(scratch / "apart" / "summary.json");  // kept: the loop reads into it
  for (const auto& j : apart["jobs"]) EXPECT_NEAR(j["slowdown"].get<double>(), 1.0, 1e-9) << j["name"];
  r = run_dmlsim({"explain", example}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("== job resnet (16 ranks from 0 s, on hosts 0,1,2,3,8,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("== job bert"), std::string::npos) << r.out;
}

// A field of the shared platform set from the command line is every job's.
TEST(Jobs, PlatformFieldsFromTheCommandLineReachEveryJob) {
  Jobs t("jobs-platform-set");
  const auto r = t.run(
      "    a: {experiment: ring.yaml, hosts: \"0-3\"}\n    b: {experiment: ring.yaml, hosts: \"4-7\"}\n",
      {"--set", "platform.host_link.bandwidth=20Gbps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Inside one leaf: 2 host links of 1 µs, at 20 Gbit/s.
  const double alone = 2 * 3 * (2e-6 + kChunk / (20e9 / 8));
  for (const std::string name : {"a", "b"}) {
    expect_relative(t.job(name)["iteration_s"].get<double>(), alone, 1e-9, name);
    expect_relative(t.job(name)["alone_iteration_s"].get<double>(), alone, 1e-9, name + " alone");
  }
}

// A sweep over a job's start time: each job's figures are columns of sweep.csv (job.NAME.*).
TEST(Jobs, ASweepOverAJobsStartHasEachJobsSlowdown) {
  Jobs t("jobs-sweep");
  t.run(
      "    a: {experiment: ring.yaml, hosts: [0, 1, 4, 5]}\n    b: {experiment: ring.yaml, hosts: [2, 3, 6, "
      "7]}\n");
  write_file(t.scratch / "sweep.yaml",
             "sweep:\n  experiment: jobs.yaml\n  axes:\n    jobs.b.start: [0s, 1s]\n");
  const auto r = run_dmlsim(
      {"sweep", (t.scratch / "sweep.yaml").string(), "--out", (t.scratch / "sweep").string()}, t.scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream csv(testing::read_file(t.scratch / "sweep" / "sweep.csv"));
  std::string line;
  std::getline(csv, line);
  const std::vector<std::string> header = testing::split_row(line);
  const auto column = std::find(header.begin(), header.end(), "job.a.slowdown") - header.begin();
  ASSERT_LT(static_cast<std::size_t>(column), header.size()) << line;
  std::vector<double> slowdown;
  while (std::getline(csv, line))
    slowdown.push_back(std::stod(testing::split_row(line)[static_cast<std::size_t>(column)]));
  ASSERT_EQ(slowdown.size(), 2u);
  EXPECT_NEAR(slowdown[0], (kCrossLatency + 2 * kChunk / kBandwidth) / (kCrossLatency + kChunk / kBandwidth),
              1e-9);
  EXPECT_NEAR(slowdown[1], 1.0, 1e-9);
}

TEST(Jobs, BadInputNamesTheJobTheFileAndTheField) {
  Jobs t("jobs-bad");
  struct Case {
    std::string jobs;
    std::vector<std::string> more;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"    a: {experiment: ring.yaml, hosts: [0, 1]}\n    b: {experiment: ring.yaml, hosts: [1, 2]}\n",
       {},
       "field 'experiment.jobs.b.hosts': host 1 belongs to job 'a' too"},
      {"    a: {experiment: ring.yaml, hosts: \"0-1,1\"}\n", {}, "host 1 is listed twice"},
      {"    a: {experiment: ring.yaml, hosts: \"3-1\"}\n", {}, "runs backwards"},
      {"    a: {experiment: nope.yaml, hosts: [0, 1]}\n", {}, "job 'a': "},
      {"    a: {experiment: ring.yaml, hosts: [0, 1], set: {strategy.algorithm: rign}}\n", {}, "job 'a': "},
      {"    a: {experiment: ring.yaml, hosts: [0, 9]}\n", {}, "host 9 does not exist"},
      {"    a: {experiment: ring.yaml, hosts: [0, 1], when: 1s}\n", {}, "when"},
      {"    a: {experiment: ring.yaml, hosts: [0, 1], start: -1s}\n", {}, "non-negative duration"},
      {"    alone: {experiment: ring.yaml, hosts: [0, 1]}\n", {}, "the name is taken"},
      {"    a: {experiment: ring.yaml, hosts: [0, 1]}\n", {"--backend", "real"}, "in the simulator only"},
      {"    a: {experiment: jobs.yaml, hosts: [0, 1]}\n", {}, "not another list of jobs"},
  };
  for (const Case& c : cases) {
    const auto r = t.run(c.jobs, c.more);
    EXPECT_EQ(r.exit_code, 2) << c.jobs << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.jobs << "\n" << r.err;
    EXPECT_FALSE(std::filesystem::exists(t.scratch / "out")) << c.jobs;
  }
}

TEST(Jobs, HostListsReadRangesAndRefuseTheRest) {
  EXPECT_EQ(strategies::parse_host_list("0-3,8, 10-11"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(strategies::parse_host_list("5"), (std::vector<int>{5}));
  for (const char* bad : {"", "a", "1-", "-1", "2-1", "1,,2", "1.5"})
    EXPECT_THROW(strategies::parse_host_list(bad), core::ValueError) << bad;
}

}  // namespace
}  // namespace dmlsim
