// dmlsim as users run it: outputs, determinism, and one clear error (exit code 2, no files) for
// every class of bad input.
#include <gtest/gtest.h>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::read_file;
using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

const char* kPlatform = R"(platform:
  topology: star
  hosts: 4
  link: {bandwidth: 10Gbps, latency: 1us}
  device: h100
)";

const char* kExperiment = R"(experiment:
  name: small
  platform: platform.yaml
  model: {type: mlp, widths: [256, 512, 10], batch: 32, dtype: fp32}
  iterations: 2
  strategy:
    type: data-parallel
    allreduce: ring
    bucket_size: 256KiB
  simulation:
    trace: messages
)";

TEST(Cli, RunWritesTheThreeFilesDeterministically) {
  ScratchDir scratch("cli-determinism");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  for (const char* out : {"a", "b"}) {
    const auto r =
        run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / out).string()}, scratch);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("iteration time"), std::string::npos) << r.out;
  }
  for (const char* file : {"trace.json", "trace.csv", "summary.json"}) {
    const std::string a = read_file(scratch / "a" / file), b = read_file(scratch / "b" / file);
    EXPECT_FALSE(a.empty()) << file;
    EXPECT_EQ(a, b) << file << " differs between two identical runs";
  }
}

TEST(Cli, TraceJsonFollowsTheChromeTraceFormat) {
  ScratchDir scratch("cli-trace");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  const auto r =
      run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / "o").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json trace = testing::read_json(scratch / "o" / "trace.json");
  ASSERT_TRUE(trace.contains("traceEvents"));
  std::map<std::string, int> phases;
  std::map<std::uint64_t, int> flow_ends;
  for (const auto& e : trace["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e["ph"].is_string()) << e;
    const std::string ph = e["ph"];
    ++phases[ph];
    ASSERT_TRUE(e.contains("pid") && e["pid"].is_number_integer()) << e;
    ASSERT_TRUE(e.contains("name") && e["name"].is_string()) << e;
    if (ph == "X") {
      for (const char* field : {"ts", "dur"}) ASSERT_TRUE(e.contains(field) && e[field].is_number()) << e;
      ASSERT_TRUE(e.contains("tid") && e["tid"].is_number_integer()) << e;
      ASSERT_GE(e["dur"].get<double>(), 0) << e;
    } else if (ph == "s" || ph == "f") {
      ASSERT_TRUE(e.contains("id") && e.contains("ts") && e.contains("tid")) << e;
      flow_ends[e["id"].get<std::uint64_t>()] += ph == "s" ? 1 : 10;
    } else {
      ASSERT_EQ(ph, "M") << e;
      ASSERT_TRUE(e.contains("args")) << e;
    }
  }
  // trace.csv, read on its own: one complete event per row, one flow per send.
  int csv_rows = 0, csv_sends = 0;
  std::istringstream csv(read_file(scratch / "o" / "trace.csv"));
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    ++csv_rows;
    csv_sends += line.substr(line.find(',') + 1).starts_with("send,") ? 1 : 0;
  }
  EXPECT_GT(csv_sends, 0);
  EXPECT_EQ(phases["X"], csv_rows);
  EXPECT_EQ(phases["s"], csv_sends);
  EXPECT_EQ(phases["f"], csv_sends);
  EXPECT_GE(phases["M"], 4) << "a name for each of the 4 ranks";
  for (const auto& [id, ends] : flow_ends)
    EXPECT_EQ(ends, 11) << "flow " << id << " lacks its start or its end";
  // Every message has a send and a receive: as many flows as messages the run moved.
  const nlohmann::json summary = testing::read_json(scratch / "o" / "summary.json");
  EXPECT_EQ(static_cast<std::uint64_t>(phases["s"]), summary["messages"].get<std::uint64_t>());
}

struct BadInput {
  std::string name;
  std::string platform;    // platform.yaml
  std::string experiment;  // e.yaml
  std::string expected;    // in stderr, after "<scratch>/"
};

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, OneClearErrorExitCode2AndNoOutput) {
  const BadInput& bad = GetParam();
  ScratchDir scratch("cli-bad");
  write_file(scratch / "platform.yaml", bad.platform);
  write_file(scratch / "e.yaml", bad.experiment);
  const auto out = scratch / "out";
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", out.string()}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(scratch.path().string() + "/" + bad.expected), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line, got: " << r.err;
  EXPECT_FALSE(std::filesystem::exists(out)) << "an output directory was written";
}

std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliBadInput,
    ::testing::Values(
        BadInput{"missing_field", with(kPlatform, "  hosts: 4\n", ""), kExperiment,
                 "platform.yaml:2: field 'platform.hosts': missing (required)"},
        BadInput{
            "bad_unit", with(kPlatform, "10Gbps", "10Gbs"), kExperiment,
            "platform.yaml:4: field 'platform.link.bandwidth': '10Gbs' has an unknown bandwidth unit 'Gbs'"},
        BadInput{"unknown_topology", with(kPlatform, "topology: star", "topology: hypercube"), kExperiment,
                 "platform.yaml:2: field 'platform.topology': unknown topology 'hypercube'"},
        BadInput{"unknown_algorithm", kPlatform, with(kExperiment, "allreduce: ring", "allreduce: rign"),
                 "e.yaml:8: field 'experiment.strategy.allreduce': unknown all-reduce algorithm 'rign'"},
        BadInput{"ranks_do_not_match", kPlatform,
                 with(kExperiment, "iterations: 2", "ranks: 8\n  iterations: 2"),
                 "e.yaml:5: field 'experiment.ranks': 8 ranks do not fit platform 'star' with 4 hosts"},
        BadInput{"nonexistent_file", kPlatform,
                 with(kExperiment, "platform: platform.yaml", "platform: nope.yaml"),
                 "e.yaml:3: field 'experiment.platform': file '"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(Cli, NonexistentExperimentFile) {
  ScratchDir scratch("cli-nofile");
  const auto r =
      run_dmlsim({"run", (scratch / "nope.yaml").string(), "--out", (scratch / "o").string()}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.yaml: no such file"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "o"));
}

TEST(Cli, UnknownOptionIsBadInput) {
  ScratchDir scratch("cli-option");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  // A good experiment, so that the option is the only thing wrong.
  const auto r = run_dmlsim(
      {"run", (scratch / "e.yaml").string(), "--frobnicate", "--out", (scratch / "o").string()}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--frobnicate"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "o"));
}

TEST(Cli, ExplainPrintsTheClosedForm) {
  ScratchDir scratch("cli-explain");
  const auto r = run_dmlsim(
      {"explain", (testing::source_dir() / "experiments" / "allreduce-star.yaml").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 2(n−1)(α + S/(nB)): n = 16, S = 256 MiB, α = 2 µs, B = 25 Gbit/s → 161.1 ms.
  EXPECT_NE(r.out.find("predicted iteration time             161.1 ms"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace dmlsim
