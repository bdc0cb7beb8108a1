// dmlsim as users run it: outputs, determinism, and one clear error (exit code 2, no files) for
// every class of bad input.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

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

// The header echoes the platform's key figures in the units users check: a link written 100GBps
// (bytes) for 100Gbps shows as 800 Gbps before any number of the run.
TEST(Cli, RunEchoesThePlatformsKeyFigures) {
  ScratchDir scratch("cli-platform-header");
  write_file(scratch / "platform.yaml", R"(platform:
  name: typo
  topology: star
  hosts: 4
  link: {bandwidth: 100GBps, latency: 1us}
  host_links: {3: {up: 1Gbps, down: 4Gbps, latency: 20ms}}
  device: h100
  host_devices: {3: cpu}
)");
  write_file(scratch / "e.yaml", kExperiment);
  const auto r =
      run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / "o").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "platform typo: star of 4 hosts, links 800 Gbps / 1 us (1 host with a link of its own); "
            "H100-SXM5-80GB ×3, generic-cpu-2core ×1");
  EXPECT_NE(r.out.find("hidden communication"), std::string::npos) << r.out;
}

// `dmlsim-gui --help` answers without a display (a QApplication would abort without one).
TEST(Cli, GuiHelpNeedsNoDisplay) {
  const auto gui = std::filesystem::path(DMLSIM_BINARY_DIR) / "dmlsim-gui";
  if (!std::filesystem::exists(gui)) GTEST_SKIP() << "dmlsim-gui is not built (no Qt 6)";
  const std::string out = testing::read_file_of_command(
      "env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM " + gui.string() + " --help; echo exit=$?");
  EXPECT_NE(out.find("dmlsim-gui [options] [TRACE_OR_RUN_DIR ...]"), std::string::npos) << out;
  EXPECT_NE(out.find("--screenshot <FILE>"), std::string::npos) << out;
  EXPECT_NE(out.find("exit=0"), std::string::npos) << out;
}

// Outputs as a set (issue 15, item 3): on a file system too small for the trace, the run fails with
// one line naming the file, leaves no output directory and no staging directory behind, and an
// earlier run's directory there stays as it was. Root: it mounts a 64 KiB tmpfs (removed after).
TEST(Cli, AFullDiskLeavesNoPartialOutputAndKeepsTheEarlierRun) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("cli-full-disk");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  const auto disk = scratch / "disk";
  std::filesystem::create_directories(disk);
  ASSERT_EQ(std::system(("mount -t tmpfs -o size=64k tmpfs " + testing::quote(disk.string())).c_str()), 0);
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)std::system(("umount " + testing::quote(dir)).c_str()); }
  } unmount{disk.string()};
  // An earlier run that fits (no trace to speak of).
  const auto out = disk / "out";
  auto r = run_dmlsim(
      {"run", (scratch / "e.yaml").string(), "--set", "simulation.trace=none", "--out", out.string()},
      scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string earlier = testing::read_file(out / "summary.json");
  const std::string earlier_trace = testing::read_file(out / "trace.csv");
  // This one's trace of every message does not fit.
  r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", out.string()}, scratch);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("disk full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(out.string()), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(testing::read_file(out / "summary.json"), earlier) << "the earlier run was touched";
  EXPECT_EQ(testing::read_file(out / "trace.csv"), earlier_trace) << "a partial output";
  // And where nothing was before, nothing is after; no staging directory is left in either case.
  r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (disk / "new").string()}, scratch);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(disk / "new"));
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(disk))
    left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"out"});
}

// The kernels benchmark that calibration runs times the model's shapes, and with
// `tensor_parallel: [1, 2]` also those of a tp 2 rank (a superset); a degree the model cannot be
// cut by is bad input naming the field.
TEST(Cli, KernelBenchmarkTimesTheShapesOfEachTensorParallelDegree) {
  ScratchDir scratch("cli-kernels-tp");
  const auto shapes = [&](const std::string& degrees) {
    write_file(scratch / "e.yaml",
               fmt::format("experiment:\n  platform: {{topology: star, hosts: 2, link: "
                           "{{bandwidth: 1Gbps, latency: 1us}}, device: cpu}}\n  model: {}\n"
                           "  ranks: 1\n  strategy: {{type: kernels, repeats: 1, "
                           "tensor_parallel: {}}}\n  simulation: {{trace: kernels}}\n",
                           (testing::source_dir() / "models" / "tiny-transformer.yaml").string(), degrees));
    const auto out = scratch / ("out" + std::to_string(degrees.size()));
    const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", out.string()}, scratch);
    std::set<std::string> names;
    if (r.exit_code != 0) return std::pair{r, names};
    const nlohmann::json trace = testing::read_json(out / "trace.json");
    for (const auto& e : trace["traceEvents"]) {
      if (e.value("cat", "") == "kernel" || (e.contains("args") && e["args"].value("lane", "") == "compute"))
        names.insert(e.value("name", ""));
    }
    return std::pair{r, names};
  };
  const auto [one, tp1] = shapes("[1]");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto [two, tp12] = shapes("[1, 2]");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_GT(tp1.size(), 5u);
  EXPECT_GT(tp12.size(), tp1.size());
  for (const std::string& n : tp1) EXPECT_TRUE(tp12.contains(n)) << n;
  const auto [three, ignored] = shapes("[3]");
  EXPECT_EQ(three.exit_code, 2);
  EXPECT_NE(three.err.find("field 'experiment.strategy.tensor_parallel'"), std::string::npos) << three.err;
  EXPECT_NE(three.err.find("multiple of the tensor-parallel degree 3"), std::string::npos) << three.err;
}

// `dmlsim-gui --size` that is not WxH is bad input: exit code 2 and one line.
TEST(Cli, GuiBadSizeIsBadInput) {
  const auto gui = std::filesystem::path(DMLSIM_BINARY_DIR) / "dmlsim-gui";
  if (!std::filesystem::exists(gui)) GTEST_SKIP() << "dmlsim-gui is not built (no Qt 6)";
  const std::string out = testing::read_file_of_command(
      "QT_QPA_PLATFORM=offscreen " + gui.string() + " --size 16x --screenshot /dev/null 2>&1; echo exit=$?");
  EXPECT_NE(out.find("dmlsim-gui: --size 16x: expected WIDTHxHEIGHT"), std::string::npos) << out;
  EXPECT_NE(out.find("exit=2"), std::string::npos) << out;
}

// `dmlsim-gui --group-by` other than node, stage or tp is bad input too, and no screenshot is written.
TEST(Cli, GuiBadGroupingIsBadInput) {
  const auto gui = std::filesystem::path(DMLSIM_BINARY_DIR) / "dmlsim-gui";
  if (!std::filesystem::exists(gui)) GTEST_SKIP() << "dmlsim-gui is not built (no Qt 6)";
  ScratchDir scratch("cli-gui-group");
  const std::string out = testing::read_file_of_command(
      "QT_QPA_PLATFORM=offscreen " + gui.string() + " --group-by rack --screenshot " +
      (scratch / "shot.png").string() + " 2>&1; echo exit=$?");
  EXPECT_NE(out.find("dmlsim-gui: --group-by rack: expected node, stage or tp"), std::string::npos) << out;
  EXPECT_NE(out.find("exit=2"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(scratch / "shot.png"));
}

// `dmlsim-gui --screenshot` on a file it cannot read says which file and why (offscreen, no display).
TEST(Cli, GuiScreenshotOfABadFileNamesTheFileAndTheProblem) {
  const auto gui = std::filesystem::path(DMLSIM_BINARY_DIR) / "dmlsim-gui";
  if (!std::filesystem::exists(gui)) GTEST_SKIP() << "dmlsim-gui is not built (no Qt 6)";
  ScratchDir scratch("cli-gui-bad");
  write_file(scratch / "trace.json", "{\"traceEvents\": [ {\"ph\": ");
  const std::string out = testing::read_file_of_command(
      "QT_QPA_PLATFORM=offscreen " + gui.string() + " --screenshot " + (scratch / "shot.png").string() + " " +
      (scratch / "trace.json").string() + " 2>&1; echo exit=$?");
  EXPECT_NE(out.find("cannot open a run for the screenshot"), std::string::npos) << out;
  EXPECT_NE(out.find((scratch / "trace.json").string()), std::string::npos) << out;
  EXPECT_NE(out.find("exit=1"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(scratch / "shot.png"));
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
    } else if (ph == "C") {
      // A counter: its args are the plotted series, so numbers only.
      ASSERT_TRUE(e.contains("ts") && e["ts"].is_number()) << e;
      ASSERT_TRUE(e.contains("args") && e["args"].size() == 1 && e["args"]["value"].is_number()) << e;
    } else if (ph == "i") {
      ASSERT_TRUE(e.contains("ts") && e.contains("tid") && e["s"] == "t") << e;
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
  EXPECT_GT(phases["C"], 0) << "memory in use is sampled at the default trace detail";
  EXPECT_EQ(phases["X"] + phases["C"] + phases["i"], csv_rows);
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
        BadInput{
            "unknown_partner_order", kPlatform,
            with(kExperiment, "allreduce: ring", "allreduce: halving-doubling\n    partner_order: nearest"),
            "e.yaml:9: field 'experiment.strategy.partner_order': unknown partner order 'nearest' "
            "(distance-doubling | distance-halving)"},
        BadInput{"ranks_do_not_match", kPlatform,
                 with(kExperiment, "iterations: 2", "ranks: 8\n  iterations: 2"),
                 "e.yaml:5: field 'experiment.ranks': 8 ranks do not fit platform 'star' with 4 hosts"},
        BadInput{"strategy_field_under_experiment", kPlatform,
                 with(kExperiment, "iterations: 2", "iterations: 2\n  bucket_size: 1MiB"),
                 "e.yaml:6: field 'experiment.bucket_size': belongs under experiment.strategy "
                 "(experiment.strategy.bucket_size), not here"},
        BadInput{"platform_field_under_experiment", kPlatform,
                 with(kExperiment, "iterations: 2", "iterations: 2\n  oversubscription: 2"),
                 "e.yaml:6: field 'experiment.oversubscription': belongs under experiment.platform "
                 "(experiment.platform.oversubscription), not here"},
        BadInput{"experiment_field_under_strategy", kPlatform,
                 with(kExperiment, "allreduce: ring", "allreduce: ring\n    ranks: 2"),
                 "e.yaml:9: field 'experiment.strategy.ranks': belongs under experiment (experiment.ranks), "
                 "not here"},
        BadInput{"nonexistent_file", kPlatform,
                 with(kExperiment, "platform: platform.yaml", "platform: nope.yaml"),
                 "e.yaml:3: field 'experiment.platform': file '"},
        BadInput{
            "mesh_dimension_the_strategy_does_not_split", kPlatform,
            with(kExperiment, "iterations: 2", "iterations: 2\n  parallelism: {dp: 2,\n    tp: 2}"),
            "e.yaml:7: field 'experiment.parallelism.tp': strategy 'data-parallel' splits its work along dp "
            "only, not along tp (tp 2); set tp: 1 or remove it"},
        BadInput{
            "pipeline_without_stages", kPlatform,
            with(kExperiment, "type: data-parallel\n    allreduce: ring\n    bucket_size: 256KiB",
                 "type: pipeline"),
            "e.yaml:7: field 'experiment.strategy': a pipeline needs its stages in the experiment's mesh"},
        BadInput{
            "interleaved_micro_batches_not_a_multiple_of_the_stages", kPlatform,
            with(kExperiment, "type: data-parallel\n    allreduce: ring\n    bucket_size: 256KiB",
                 "type: pipeline\n    schedule: interleaved\n    micro_batches: 3\n  parallelism: {pp: 2}"),
            "e.yaml:9: field 'experiment.strategy.micro_batches': the interleaved schedule needs the "
            "micro-batches (3) to be a multiple of the stages (2)"},
        BadInput{"pipeline_buckets_without_overlap", kPlatform,
                 with(with(kExperiment, "type: data-parallel", "type: pipeline"),
                      "  simulation:", "  parallelism: {dp: 2, pp: 2}\n  simulation:"),
                 "e.yaml:9: field 'experiment.strategy.bucket_size': buckets split the gradient sync that "
                 "overlap_grad_reduce overlaps: give overlap_grad_reduce: true"},
        BadInput{
            "pipeline_buckets_with_zero", kPlatform,
            with(with(kExperiment, "type: data-parallel",
                      "type: pipeline\n    overlap_grad_reduce: true\n    zero: 1"),
                 "  simulation:", "  parallelism: {dp: 2, pp: 2}\n  simulation:"),
            "e.yaml:11: field 'experiment.strategy.bucket_size': ZeRO shards whole chunks' gradients and "
            "weights: bucket_size needs zero: 0"},
        BadInput{
            "unknown_pipeline_schedule", kPlatform,
            with(kExperiment, "type: data-parallel\n    allreduce: ring\n    bucket_size: 256KiB",
                 "type: pipeline\n    schedule: 1F1B\n  parallelism: {pp: 2}"),
            "e.yaml:8: field 'experiment.strategy.schedule': unknown pipeline schedule '1F1B' (known: gpipe, "
            "1f1b, interleaved, zb-h1)"},
        BadInput{
            "layers_per_chunk_of_another_pipeline", kPlatform,
            with(kExperiment, "type: data-parallel\n    allreduce: ring\n    bucket_size: 256KiB",
                 "type: pipeline\n    layers_per_chunk: [1, 1, 1]\n  parallelism: {pp: 2}"),
            "e.yaml:8: field 'experiment.strategy.layers_per_chunk': lists 3 chunks; the pipeline has 2"},
        BadInput{
            "tensor_parallel_without_a_degree", kPlatform,
            with(kExperiment, "type: data-parallel\n    allreduce: ring\n    bucket_size: 256KiB",
                 "type: tensor-parallel"),
            "e.yaml:7: field 'experiment.strategy': tensor parallelism needs its degree in the experiment's "
            "mesh"},
        BadInput{
            "tensor_parallel_degree_that_does_not_divide_the_model", kPlatform,
            with(kExperiment, "type: data-parallel\n    allreduce: ring\n    bucket_size: 256KiB",
                 "type: tensor-parallel\n  parallelism: {tp: 3}"),
            "e.yaml:8: field 'experiment.parallelism.tp': width 1 of the MLP (512) must be a multiple of "
            "the tensor-parallel degree 3"},
        BadInput{
            "sequence_parallel_without_tensor_parallelism", kPlatform,
            with(kExperiment, "type: data-parallel\n    allreduce: ring\n    bucket_size: 256KiB",
                 "type: hybrid\n    sequence_parallel: true\n  parallelism: {pp: 2}"),
            "e.yaml:8: field 'experiment.strategy.sequence_parallel': needs tensor parallelism (tp ≥ 2)"},
        BadInput{
            "elastic_young_daly_without_failures", kPlatform,
            with(kExperiment, "type: data-parallel", "type: elastic\n    checkpoint: {interval: young-daly}"),
            "e.yaml:8: field 'experiment.strategy.checkpoint.interval': young-daly needs the failure rate: "
            "give failures: {mtbf: ...}, or an interval"},
        BadInput{"elastic_failure_of_a_node_the_job_does_not_have", kPlatform,
                 with(kExperiment, "type: data-parallel",
                      "type: elastic\n    failures: {events: [{at: 1h, fail: 7}]}"),
                 "e.yaml:8: field 'experiment.strategy.failures.events[0].fail': node 7 runs none of the "
                 "job's ranks"},
        BadInput{"elastic_mtbf_not_a_duration", kPlatform,
                 with(kExperiment, "type: data-parallel", "type: elastic\n    failures: {mtbf: often}"),
                 "e.yaml:8: field 'experiment.strategy.failures.mtbf': 'often' is not a duration"},
        BadInput{
            "elastic_failure_after_the_last_iteration", kPlatform,
            with(kExperiment, "type: data-parallel",
                 "type: elastic\n    failures: {events: [{at: iteration 9, fail: 1}]}"),
            "e.yaml:8: field 'experiment.strategy.failures.events[0].at': the job trains iterations 1 to 2"},
        BadInput{
            "elastic_join_of_a_node_in_the_job", kPlatform,
            with(kExperiment, "type: data-parallel",
                 "type: elastic\n    policy: live-rescale\n    failures: {events: [{at: 1h, join: 1}]}"),
            "e.yaml:9: field 'experiment.strategy.failures.events[0].join': node 1 is in the job then: only "
            "a spare or a node that left or failed before can join"},
        BadInput{"elastic_live_rescale_with_checkpoints", kPlatform,
                 with(kExperiment, "type: data-parallel",
                      "type: elastic\n    policy: live-rescale\n    checkpoint: {interval: 10}"),
                 "e.yaml:9: field 'experiment.strategy.checkpoint': live rescaling keeps the state in memory "
                 "and writes no checkpoints: see commit"},
        BadInput{"elastic_drawn_failures_without_repair", kPlatform,
                 with(kExperiment, "type: data-parallel",
                      "type: elastic\n    policy: live-rescale\n    failures: {mtbf: 1h}"),
                 "e.yaml:9: field 'experiment.strategy.failures': live rescaling with drawn failures needs "
                 "failures.repair: the time after which a failed node joins again"},
        BadInput{
            "elastic_more_ranks_than_max_ranks", kPlatform,
            with(kExperiment, "type: data-parallel",
                 "type: elastic\n    policy: live-rescale\n    max_ranks: 3"),
            "e.yaml:9: field 'experiment.strategy.max_ranks': the job starts with 4 ranks: name the nodes "
            "beyond it in spares"},
        BadInput{"elastic_unknown_batch_policy", kPlatform,
                 with(kExperiment, "type: data-parallel",
                      "type: elastic\n    policy: live-rescale\n    batch: whole"),
                 "e.yaml:9: field 'experiment.strategy.batch': per-rank (each rank keeps its batch) or "
                 "global (the "
                 "job keeps its batch)"},
        BadInput{"elastic_batch_policy_with_checkpoint_restart", kPlatform,
                 with(kExperiment, "type: data-parallel", "type: elastic\n    batch: global"),
                 "e.yaml:8: field 'experiment.strategy.batch': a field of policy: live-rescale"},
        BadInput{"elastic_leave_with_checkpoint_restart", kPlatform,
                 with(kExperiment, "type: data-parallel",
                      "type: elastic\n    failures: {events: [{at: 1h, leave: 1}]}"),
                 "e.yaml:8: field 'experiment.strategy.failures.events[0]': joins and leaves need policy: "
                 "live-rescale (checkpoint-restart replaces a failed node)"},
        BadInput{
            "elastic_leave_below_min_ranks", kPlatform,
            with(
                kExperiment, "type: data-parallel",
                "type: elastic\n    policy: live-rescale\n    min_ranks: 4\n    failures: {events: [{at: 1h, "
                "leave: [2, 3]}]}"),
            "e.yaml:10: field 'experiment.strategy.failures.events[0].leave': leaves 2 ranks, below "
            "min_ranks 4"},
        BadInput{
            "elastic_failures_too_frequent_to_finish", kPlatform,
            with(with(kExperiment, "type: data-parallel", "type: elastic\n    failures: {mtbf: 1ms}"),
                 "iterations: 2", "iterations: 100000"),
            "e.yaml:8: field 'experiment.strategy.failures': a failure every 250 us (job MTBF) leaves this "
            "job little chance to finish"},
        BadInput{"nan_slowdown", kPlatform, kExperiment + std::string("  slowdown: {3: .nan}\n"),
                 "e.yaml:12: field 'experiment.slowdown.3': '.nan' is not a finite number"},
        BadInput{"inf_slowdown", kPlatform, kExperiment + std::string("  slowdown: {3: .inf}\n"),
                 "e.yaml:12: field 'experiment.slowdown.3': '.inf' is not a finite number"},
        BadInput{"slowdown_key_not_a_rank", kPlatform, kExperiment + std::string("  slowdown: {3x: 2}\n"),
                 "e.yaml:12: field 'experiment.slowdown.3x': '3x' is not a rank number"},
        BadInput{"name_escapes_the_output_directory", kPlatform,
                 with(kExperiment, "name: small", "name: ../../escaped"),
                 "e.yaml:2: field 'experiment.name': '../../escaped' is not a valid name"},
        BadInput{"absolute_name", kPlatform, with(kExperiment, "name: small", "name: /tmp/escaped"),
                 "e.yaml:2: field 'experiment.name': '/tmp/escaped' is not a valid name"},
        BadInput{"name_not_utf8", with(kPlatform, "topology: star", "name: \"st\xff\"\n  topology: star"),
                 kExperiment, "platform.yaml:2: field 'platform.name': is not valid UTF-8 text"}),
    [](const auto& param_info) { return param_info.param.name; });

// Runs are told apart: named after their --set overrides (or --name), never written over an
// earlier run in dmlsim-out/, and an explicit --out says when it replaces one.
TEST(Cli, RunsAreNamedAfterTheirOverridesAndNeverOverwriteSilently) {
  ScratchDir scratch("cli-run-names");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  const auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"run", (scratch / "e.yaml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_dmlsim(args, scratch);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  };
  const auto label = [&](const std::string& dir) {
    return testing::read_json(scratch / "dmlsim-out" / dir / "summary.json")["label"].get<std::string>();
  };
  run({"--quiet"});
  const std::string first = testing::read_file(scratch / "dmlsim-out" / "small" / "trace.json");
  const auto again = run({});
  EXPECT_NE(again.out.find("wrote dmlsim-out/small-2/trace.json"), std::string::npos) << again.out;
  EXPECT_EQ(testing::read_file(scratch / "dmlsim-out" / "small" / "trace.json"), first)
      << "the first run is kept";
  EXPECT_EQ(label("small-2"), "small-2 (simulated)");
  run({"--quiet", "--set", "strategy.allreduce=tree", "--set", "iterations=3"});
  EXPECT_EQ(label("small_allreduce-tree_iterations-3"), "small_allreduce-tree_iterations-3 (simulated)");
  run({"--quiet", "--set", "strategy={type: collective, algorithm: tree, size: 1MiB}"});
  EXPECT_TRUE(std::filesystem::exists(scratch / "dmlsim-out" /
                                      "small_strategy-type-collective-algorithm-tree-size-1MiB"));
  run({"--quiet", "--name", "mine"});
  EXPECT_EQ(label("mine"), "mine (simulated)");
  run({"--quiet", "--set", "name=first", "--name", "last"});  // the last name given wins
  EXPECT_EQ(label("last"), "last (simulated)");
  const auto bad = run_dmlsim({"run", (scratch / "e.yaml").string(), "--name", "a/b"}, scratch);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "dmlsim: --name a/b: letters, digits, '-', '_', '.' and ':' only (it names the output "
            "directory)\n");
  run({"--quiet", "--out", (scratch / "o").string()});
  const auto replaced = run({"--out", (scratch / "o").string()});
  EXPECT_NE(replaced.out.find("replacing the earlier run in " + (scratch / "o").string()), std::string::npos)
      << replaced.out;
}

TEST(Cli, NameFromSetCannotEscapeTheOutputDirectory) {
  ScratchDir scratch("cli-escape");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  for (const std::string& name :
       std::vector<std::string>{"../../escaped", (scratch / "abs-escaped").string()}) {
    const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--set", "name=" + name}, scratch);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("e.yaml: field 'experiment.name' (from --set): '" + name + "' is not a valid name"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line, got: " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(scratch / "dmlsim-out"));
  EXPECT_FALSE(std::filesystem::exists(scratch.path().parent_path() / "escaped"));
  EXPECT_FALSE(std::filesystem::exists(scratch / "abs-escaped"));
}

TEST(Cli, OutThatIsAFileIsBadInputFoundBeforeRunning) {
  ScratchDir scratch("cli-out-file");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  write_file(scratch / "afile", "keep me\n");
  for (const std::string out : {"afile", "afile/sub"}) {
    for (const char* command : {"run", "compare"}) {
      std::vector<std::string> args{command, (scratch / "e.yaml").string(), "--out",
                                    (scratch / out).string()};
      if (std::string(command) == "compare") args.insert(args.end(), {"--strategies", "ring,tree"});
      const auto r = run_dmlsim(args, scratch);
      EXPECT_EQ(r.exit_code, 2) << command << " --out " << out << ": " << r.err;
      EXPECT_NE(r.err.find("output directory " + (scratch / out).string() + ": "), std::string::npos)
          << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line, got: " << r.err;
      EXPECT_EQ(r.out.find("finished"), std::string::npos) << command << " ran simulations first: " << r.out;
    }
  }
  EXPECT_EQ(read_file(scratch / "afile"), "keep me\n");
}

TEST(Cli, BrokenSimgridXmlIsBadInput) {
  ScratchDir scratch("cli-xml");
  write_file(scratch / "broken.xml",
             "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
             "<platform version=\"4.1\">\n  <zone id=\"z\" routing=\"Full\">\n"
             "    <host id=\"node-0\" speed=\"1Gf\">\n</platform>\n");
  write_file(scratch / "platform.yaml",
             "platform:\n  topology: simgrid-xml\n  file: broken.xml\n  hosts: [node-0]\n  device: cpu\n");
  write_file(scratch / "e.yaml",
             "experiment:\n  platform: platform.yaml\n  strategy: {type: collective, size: 1MiB}\n");
  const auto out = scratch / "out";
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", out.string()}, scratch);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("dmlsim: " + (scratch / "broken.xml").string() + ":6: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field 'platform.file'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line, got: " << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// Real-run commands check their arguments before a testbed, mpirun or a directory is made: these
// fail in milliseconds and need no root. (Without the real backend, validate and calibrate say so
// instead, still exit code 2.)
TEST(Cli, RealRunArgumentsAreCheckedBeforeAnythingStarts) {
  ScratchDir scratch("cli-real-args");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  write_file(scratch / "elastic.yaml", with(kExperiment, "type: data-parallel", "type: elastic"));
  write_file(scratch / "fat-tree.yaml",
             "experiment:\n  platform: " + (testing::source_dir() / "platforms/fat-tree-32.yaml").string() +
                 "\n  strategy: {type: collective, size: 1MiB}\n");
  write_file(scratch / "model.yaml", "model: {type: mlp, widths: [8, 8], batch: 1}\n");
  write_file(
      scratch / "sited.yaml",
      "platform:\n  topology: star\n  hosts: 4\n  link: {bandwidth: 1Gbps, latency: 10us}\n  device: cpu\n"
      "  sites:\n    a: {uplink: {bandwidth: 1Gbps, latency: 1ms}, hosts: [0, 1], aggregator: 0}\n"
      "    b: {uplink: {bandwidth: 1Gbps, latency: 1ms}, hosts: [2, 3], aggregator: 2}\n");
  write_file(scratch / "suite.yaml",
             "suite:\n  platform: platform.yaml\n  calibration_model: model.yaml\n  cases:\n"
             "    - {name: a, experiment: e.yaml}\n    - {name: b, experiment: nope.yaml}\n");
  const std::string e = (scratch / "e.yaml").string(), out = (scratch / "out").string();
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases{
      {{"validate", e, "--calibrated", "/nonexistent/platform.yaml", "--out", out},
       "--calibrated /nonexistent/platform.yaml: no such file"},
      {{"validate", e, "--calibrated", (scratch / "platform.yaml").string(), "--timeout", "-5", "--out", out},
       "--timeout -5: expected a finite number above 0"},
      {{"validate", e, "--calibrated", (scratch / "platform.yaml").string(), "--max-error", "nan", "--out",
        out},
       "--max-error nan: expected a finite number of at least 0"},
      {{"validate", "--suite", (scratch / "suite.yaml").string(), "--out", out}, "nope.yaml: no such file"},
      {{"run", e, "--backend", "real", "--hostfile", "/nonexistent/hosts", "--out", out},
       "--hostfile /nonexistent/hosts: no such file"},
      {{"run", e, "--backend", "real", "--local", "--timeout", "inf", "--out", out},
       "--timeout inf: expected a finite number above 0"},
      {{"run", (scratch / "elastic.yaml").string(), "--backend", "real", "--local", "--out", out},
       "elastic.yaml:7: field 'experiment.strategy.type': elastic runs in the simulator only so far"},
      {{"run", (testing::source_dir() / "experiments/federated-phones-hierarchical.yaml").string(),
        "--backend", "real", "--out", out},
       "edge-phones-1000-regional.yaml: platform 'edge-phones-1000-regional' has 1003 hosts; the testbed "
       "builds at most 64"},
      {{"run", (scratch / "fat-tree.yaml").string(), "--backend", "real", "--out", out},
       "fat-tree-32.yaml: field 'platform.topology': the testbed builds one switch of hosts (a star, an "
       "edge platform, or a one-leaf fat-tree); 'fat-tree' is not one"},
      {{"calibrate", (scratch / "platform.yaml").string(), "--network-only", "--max-size", "1MiB", "--out",
        out},
       "--max-size 1MiB: must be at least 4MiB"},
      {{"calibrate", (scratch / "sited.yaml").string(), "--network-only", "--out", out},
       "sited.yaml: calibration measures each site's uplink from a host outside the sites; every host is in "
       "one"},
      {{"calibrate", (scratch / "platform.yaml").string(), "--model", "/nonexistent/model.yaml", "--out",
        out},
       "/nonexistent/model.yaml: no such file"},
  };
  for (const Case& c : cases) {
    const auto started = std::chrono::steady_clock::now();
    const auto r = run_dmlsim(c.args, scratch);
    const std::string what = c.args[0] + " " + c.expected;
    EXPECT_EQ(r.exit_code, 2) << what << ": " << r.err;
    EXPECT_TRUE(r.err.find(c.expected) != std::string::npos ||
                r.err.find("built without the real backend") != std::string::npos)
        << what << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": one line, got: " << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << what << ": an output directory was written";
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10)) << what;
  }
}

// An elastic run simulates a few steps per epoch and advances the clock by the others: without failures
// it must take as long as data-parallel training simulated step by step, plus its checkpoint writes.
TEST(Cli, ElasticWithoutFailuresTakesAsLongAsDataParallelPlusItsWrites) {
  ScratchDir scratch("cli-elastic");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", with(kExperiment, "iterations: 2", "iterations: 40"));
  const std::string e = (scratch / "e.yaml").string();
  const auto makespan = [&](const std::vector<std::string>& set, const std::string& out) {
    std::vector<std::string> args{"run", e, "--out", (scratch / out).string(), "--quiet"};
    for (const std::string& s : set) args.insert(args.end(), {"--set", s});
    const auto r = run_dmlsim(args, scratch);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return testing::read_json(scratch / out / "summary.json");
  };
  const double dp = makespan({}, "dp")["makespan_s"].get<double>();
  const nlohmann::json plain = makespan({"strategy.type=elastic"}, "plain");
  EXPECT_NEAR(plain["makespan_s"].get<double>(), dp, 1e-9 * dp);
  EXPECT_EQ(plain["elastic"]["iterations_kept"], 40);
  // Writes of steps 10, 20 and 30: 256·512 + 512·10 + 522 parameters... of fp32 weights and Adam's two
  // moments, 12 bytes each, at 1 GB/s.
  const nlohmann::json saved = makespan(
      {"strategy.type=elastic", "strategy.checkpoint={interval: 10, storage: {write: 1GB/s, read: 1GB/s}}"},
      "saved");
  const double write = (256.0 * 512 + 512 + 512 * 10 + 10) * 12 / 1e9;
  EXPECT_NEAR(saved["makespan_s"].get<double>(), dp + 3 * write, 1e-9 * dp);
  EXPECT_EQ(saved["elastic"]["checkpoint_writes"], 3);
}

// A long elastic run needs no trace of its steps for its summary: with `trace: none` the elastic
// section (failures, time lost per cause, membership, samples kept) is the one `trace: phases` gives,
// and the trace holds only the iterations and the few bookkeeping events.
TEST(Cli, ElasticSummariesAreTheSameWithoutATrace) {
  ScratchDir scratch("cli-elastic-none");
  const std::string e = (testing::source_dir() / "experiments" / "elastic-live-rescale.yaml").string();
  const auto run = [&](const std::string& detail) {
    const auto r = run_dmlsim(
        {"run", e, "--out", (scratch / detail).string(), "--quiet", "--set", "simulation.trace=" + detail},
        scratch);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return testing::read_json(scratch / detail / "summary.json");
  };
  const nlohmann::json phases = run("phases"), none = run("none");
  ASSERT_TRUE(phases.contains("elastic"));
  ASSERT_TRUE(none.contains("elastic"));
  EXPECT_EQ(none["elastic"], phases["elastic"]);
  EXPECT_EQ(none["makespan_s"], phases["makespan_s"]);
  EXPECT_EQ(phases["elastic"]["failures"], 1);
  EXPECT_EQ(phases["elastic"]["membership"].size(), 5u);
  EXPECT_TRUE(none["compute_s"].is_null());  // no breakdown without a trace
  // 228 iterations, 112 bookkeeping phases, 16 failure marks and 8 counters instead of every phase.
  EXPECT_LT(std::filesystem::file_size(scratch / "none" / "trace.csv"),
            std::filesystem::file_size(scratch / "phases" / "trace.csv") / 4);
}

TEST(Cli, SetErrorsSayFromSetAndNameTheField) {
  ScratchDir scratch("cli-set");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"nosuch.x=1", "e.yaml: field 'experiment.nosuch' (from --set): unknown field"},
      {"a..b=1", "--set a..b=1: empty field name in 'a..b'"},
      {".a=1", "--set .a=1: empty field name in '.a'"},
      {"strategy.bucket_size=", "--set strategy.bucket_size=: empty value"},
      {"strategy=~", "e.yaml: field 'experiment.strategy' (from --set): missing (required)"},
  };
  for (const auto& [set, expected] : cases) {
    const auto r = run_dmlsim(
        {"run", (scratch / "e.yaml").string(), "--set", set, "--out", (scratch / "o").string()}, scratch);
    EXPECT_EQ(r.exit_code, 2) << set << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << set << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << set << ": one line, got: " << r.err;
    EXPECT_FALSE(std::filesystem::exists(scratch / "o")) << set;
  }
}

TEST(Cli, NonexistentExperimentFile) {
  ScratchDir scratch("cli-nofile");
  const auto r =
      run_dmlsim({"run", (scratch / "nope.yaml").string(), "--out", (scratch / "o").string()}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.yaml: no such file"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "o"));
}

// A federated run that outlives its population's availability traces: one error naming the
// platform file, exit 2, no output (before, the server waited for a client for ever).
TEST(Cli, ARunPastTheAvailabilityTracesIsBadInput) {
  ScratchDir scratch("cli-past-traces");
  const auto r = run_dmlsim({"run", (testing::source_dir() / "experiments/federated-traced.yaml").string(),
                             "--set", "iterations=1000", "--out", (scratch / "o").string()},
                            scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find("dmlsim: "), 0U) << r.err;
  EXPECT_NE(r.err.find("edge-traced-12.yaml: no client is online after"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one error, nothing else: " << r.err;
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
  EXPECT_NE(r.out.find("platform star-16: star of 16 hosts, links 25 Gbps / 1 us"), std::string::npos)
      << r.out;
}

// Every shipped experiment (experiments/*.yaml that are experiments, not compare or sweep plans)
// loads and explains: a broken example is a defect a new user meets first.
TEST(Cli, EveryShippedExperimentExplains) {
  ScratchDir scratch("cli-shipped");
  int explained = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::source_dir() / "experiments")) {
    if (entry.path().extension() != ".yaml") continue;
    if (testing::read_file(entry.path()).find("\nexperiment:") == std::string::npos &&
        testing::read_file(entry.path()).rfind("experiment:", 0) != 0)
      continue;
    const auto r = run_dmlsim({"explain", entry.path().string()}, scratch);
    EXPECT_EQ(r.exit_code, 0) << entry.path() << ": " << r.err;
    EXPECT_NE(r.out.find("predicted iteration time"), std::string::npos) << entry.path() << ": " << r.out;
    ++explained;
  }
  EXPECT_GE(explained, 12);
}

// The NICs a node's GPUs share are in explain's platform line and in its closed form: on 8 nodes
// of 4 A100s with one 100 Gbit/s NIC per node, hierarchical all-reduce's rails share the NIC.
TEST(Cli, ExplainShowsSharedNics) {
  ScratchDir scratch("cli-explain-nics");
  const auto experiment = (testing::source_dir() / "experiments" / "a100-ethernet.yaml").string();
  const auto r = run_dmlsim({"explain", experiment, "--set", "strategy.allreduce=hierarchical"}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 NIC of 100 Gbps / 2 us per node, each shared by 4 GPUs over PCIe 200 Gbps / 1 us"),
            std::string::npos)
      << r.out;
  const auto per_gpu = run_dmlsim({"explain", experiment, "--set", "strategy.allreduce=hierarchical", "--set",
                                   "platform.nics_per_node=4"},
                                  scratch);
  ASSERT_EQ(per_gpu.exit_code, 0) << per_gpu.err;
  EXPECT_NE(r.out.find("predicted iteration time             135.5 ms"), std::string::npos) << r.out;
  EXPECT_NE(per_gpu.out.find("predicted iteration time             67.63 ms"), std::string::npos)
      << per_gpu.out;
}

// A model-parallel run's memory per GPU: explain lists it per stage and marks what does not fit;
// with check_memory: false such a run still simulates and summary.json says it does not fit.
TEST(Cli, MemoryPerStageIsShownAndWhatDoesNotFitIsFlagged) {
  ScratchDir scratch("cli-memory");
  const std::string experiment = fmt::format(R"(experiment:
  platform: {{topology: star, hosts: 4, link: {{bandwidth: 10Gbps, latency: 1us}},
             device: {{name: small, peak: {{fp32: 1TFLOPS}}, memory_bandwidth: 1TBps, memory: {}}}}}
  model: {}/models/tiny-transformer.yaml
  parallelism: {{pp: 2, dp: 2}}
  strategy: {{type: pipeline, micro_batches: 4, check_memory: false}}
)",
                                             "MEMORY", DMLSIM_SOURCE_DIR);
  write_file(scratch / "big.yaml", with(experiment, "MEMORY", "8GB"));
  write_file(scratch / "small.yaml", with(experiment, "MEMORY", "20MB"));
  const auto big = run_dmlsim({"explain", (scratch / "big.yaml").string()}, scratch);
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_NE(big.out.find("memory per GPU"), std::string::npos) << big.out;
  EXPECT_NE(big.out.find("  stage 1 "), std::string::npos) << big.out;
  EXPECT_EQ(big.out.find("OUT OF MEMORY"), std::string::npos) << big.out;
  const auto small = run_dmlsim({"explain", (scratch / "small.yaml").string()}, scratch);
  EXPECT_NE(small.out.find("OUT OF MEMORY"), std::string::npos) << small.out;
  const auto run = run_dmlsim(
      {"run", (scratch / "small.yaml").string(), "--quiet", "--out", (scratch / "o").string()}, scratch);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto summary = testing::read_json(scratch / "o" / "summary.json");
  EXPECT_EQ(summary["memory_fits"], false);
  EXPECT_GT(summary["memory_per_device_bytes"].get<double>(), 20e6);
  // compare marks it too: OOM beside its memory per GPU, memory_fits false in compare.csv.
  for (const char* name : {"big", "small"}) {
    write_file(scratch / fmt::format("c-{}.yaml", name),
               fmt::format("compare:\n  experiment: {}.yaml\n  strategies:\n    pipeline: {{}}\n", name));
    const auto out = scratch / fmt::format("c-{}", name);
    const auto compared = run_dmlsim(
        {"compare", (scratch / fmt::format("c-{}.yaml", name)).string(), "--out", out.string()}, scratch);
    ASSERT_EQ(compared.exit_code, 0) << compared.err;
    const bool fits = std::string(name) == "big";
    EXPECT_EQ(compared.out.find(" OOM ") != std::string::npos, !fits) << compared.out;
    const std::string csv = testing::read_file(out / "compare.csv");
    EXPECT_NE(csv.find(fits ? ",true," : ",false,"), std::string::npos) << csv;
  }
  // With the memory check on (the default) the same experiment is refused before it runs.
  write_file(scratch / "strict.yaml", with(with(experiment, "MEMORY", "20MB"), ", check_memory: false", ""));
  const auto strict =
      run_dmlsim({"run", (scratch / "strict.yaml").string(), "--out", (scratch / "s").string()}, scratch);
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_NE(strict.err.find("field 'experiment.strategy': stage 0 needs"), std::string::npos) << strict.err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "s"));
}

// What the search tests search over: the small transformer on four H100s of a star.
void write_search_experiment(const std::filesystem::path& file) {
  write_file(file, fmt::format(R"(experiment:
  name: tiny-search
  platform: {{topology: star, hosts: 4, link: {{bandwidth: 10Gbps, latency: 1us}}, device: h100}}
  model: {}/models/tiny-transformer.yaml
  strategy: {{type: data-parallel}}
)",
                               DMLSIM_SOURCE_DIR));
}

// dmlsim search: every factorisation of 4 GPUs with each schedule, ZeRO 0/1 and recompute
// none/selective is in search.csv — pruned with a reason, predicted, or (the best 2 by the closed
// forms) simulated, their rows carrying what their runs measured; the table ranks those.
TEST(Cli, SearchListsEveryConfigurationAndSimulatesTheBest) {
  ScratchDir scratch("cli-search");
  write_search_experiment(scratch / "e.yaml");
  const auto r = run_dmlsim({"search", (scratch / "e.yaml").string(), "--gpus", "4", "--global-batch", "16",
                             "--simulate", "2", "-j", "2", "--out", (scratch / "o").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("(48 configurations)"), std::string::npos) << r.out;
  std::istringstream csv(testing::read_file(scratch / "o" / "search.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line.substr(0, 46), "dp,tp,pp,schedule,micro_batches,zero,recompute");
  std::map<std::string, int> status;
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    std::vector<std::string> f;
    std::string cell;
    for (std::istringstream in(line); std::getline(in, cell, ',');) f.push_back(cell);
    ++status[f.at(9)];
    if (f[9] == "pruned") {
      EXPECT_FALSE(f[10].empty()) << line;
    }
    if (f[0] == "1" && f[1] == "1" && f[2] == "4" && f[3] == "interleaved") {
      EXPECT_EQ(f[9], "pruned");
      EXPECT_EQ(f[10], "4 layers cannot be cut into 8 pipeline chunks of at least one layer each");
    }
    if (f[9] == "simulated") {
      const auto summary = testing::read_json(f.at(18) + "/summary.json");
      EXPECT_NEAR(std::stod(f.at(12)), summary["iteration_s"].get<double>(), 1e-12) << line;
      EXPECT_EQ(summary["parallelism"]["dp"].get<int>(), std::stoi(f[0]));
    }
  }
  EXPECT_EQ(rows, 48);
  EXPECT_EQ(status["simulated"], 2);
  EXPECT_GT(status["pruned"], 0);
  EXPECT_EQ(status["simulated"] + status["predicted"] + status["pruned"], 48);
}

// dmlsim search over micro-batch sizes and interleaving depths: each size b gives m = B / (dp · b)
// micro-batches, interleaved runs once per chunk count, and a simulated configuration trains the
// global batch in every iteration. A size or chunk count that cannot be is bad input.
TEST(Cli, SearchTriesMicroBatchSizesAndChunks) {
  ScratchDir scratch("cli-search-b");
  write_search_experiment(scratch / "e.yaml");
  const auto r = run_dmlsim(
      {"search", (scratch / "e.yaml").string(), "--gpus", "4", "--global-batch", "16", "--micro-batch-sizes",
       "1,2", "--chunks", "2,4", "--simulate", "3", "-j", "2", "--out", (scratch / "o").string()},
      scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  // Three factorisations without a pipeline (one schedule), three with (1f1b, interleaved v 2 and 4,
  // zb-h1), each × 2 sizes × ZeRO 0/1 × recompute none/selective.
  EXPECT_NE(r.out.find("(120 configurations)"), std::string::npos) << r.out;
  std::istringstream csv(testing::read_file(scratch / "o" / "search.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_TRUE(
      line.starts_with("dp,tp,pp,schedule,micro_batches,zero,recompute,micro_batch_size,chunks,status"))
      << line;
  std::set<std::pair<std::string, std::string>> schedules;  // schedule, chunks
  int rows = 0, simulated = 0;
  while (std::getline(csv, line)) {
    ++rows;
    std::vector<std::string> f;
    std::string cell;
    for (std::istringstream in(line); std::getline(in, cell, ',');) f.push_back(cell);
    const int dp = std::stoi(f.at(0)), m = std::stoi(f.at(4)), b = std::stoi(f.at(7));
    EXPECT_TRUE(b == 1 || b == 2) << line;
    schedules.emplace(f[3], f[8]);
    if (f[9] == "simulated") {
      ++simulated;
      EXPECT_EQ(dp * m * b, 16) << line;
      const auto summary = testing::read_json(f.at(18) + "/summary.json");
      EXPECT_EQ(summary["samples_per_iteration"].get<int>(), 16) << line;
    }
  }
  EXPECT_EQ(rows, 120);
  EXPECT_EQ(simulated, 3);
  EXPECT_EQ(schedules, (std::set<std::pair<std::string, std::string>>{
                           {"1f1b", "1"}, {"interleaved", "2"}, {"interleaved", "4"}, {"zb-h1", "1"}}));

  for (const auto& [option, value, message] :
       {std::tuple{"--micro-batch-sizes", "2,0", "--micro-batch-sizes 0: a size is at least 1"},
        std::tuple{"--chunks", "1", "--chunks 1: interleaving takes at least 2 chunks"}}) {
    const auto bad = run_dmlsim({"search", (scratch / "e.yaml").string(), "--gpus", "4", option, value,
                                 "--out", (scratch / "bad").string()},
                                scratch);
    EXPECT_EQ(bad.exit_code, 2) << option;
    EXPECT_NE(bad.err.find(message), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(scratch / "bad"));
  }
}

}  // namespace
}  // namespace dmlsim
