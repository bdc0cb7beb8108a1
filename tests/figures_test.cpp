// Every figure that summary.json, links.csv and compare.csv report, recomputed here from the run's
// trace.csv by code that shares nothing with core/summary.cpp or apps/compare_command.cpp: the
// bandwidths by nccl-tests' definitions (doc/PERFORMANCE.md: algbw = S / t; busbw = algbw × 2(n−1)/n
// for all-reduce, (n−1)/n for reduce-scatter and all-gather with S the whole buffer, 1 for
// broadcast and reduce; t the mean over ranks, nccl-tests' default), the iteration from the
// iteration marks, the breakdown from the kernel and collective events. scripts/mutation-check
// plants errors in those files and expects these tests to fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::read_file;
using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

// trace.csv as rows of named fields (the writer quotes a field that holds a comma or a quote).
std::vector<std::map<std::string, std::string>> read_csv(const std::filesystem::path& file) {
  std::istringstream in(read_file(file));
  const auto split = [](const std::string& line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    return fields;
  };
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const auto fields = split(line);
    EXPECT_EQ(fields.size(), header.size()) << line;
    auto& row = rows.emplace_back();
    for (std::size_t i = 0; i < std::min(fields.size(), header.size()); ++i) row[header[i]] = fields[i];
  }
  return rows;
}

double num(const std::map<std::string, std::string>& row, const std::string& key) {
  return std::stod(row.at(key));
}

// nccl-tests' bus bandwidth factors.
double nccl_tests_bus_factor(const std::string& collective, int n) {
  if (collective == "all-reduce") return 2.0 * (n - 1) / n;
  if (collective == "reduce-scatter" || collective == "all-gather") return (n - 1.0) / n;
  return 1.0;
}

constexpr double kTight = 1e-9;  // relative: both sides compute the same sums in another order

void expect_close(double reported, double expected, const std::string& what) {
  EXPECT_NEAR(reported, expected, kTight * std::max(1.0, std::abs(expected)) + 1e-15) << what;
}

struct CollectiveCase {
  const char* collective;
  const char* algorithm;
};

void PrintTo(const CollectiveCase& k, std::ostream* os) {
  *os << k.collective << " " << k.algorithm;
}

class CollectiveFigures : public ::testing::TestWithParam<CollectiveCase> {};

TEST_P(CollectiveFigures, BandwidthsAreNcclTestsFormulasOfTheTrace) {
  const CollectiveCase& k = GetParam();
  ScratchDir scratch(std::string("figures-") + k.collective);
  write_file(
      scratch / "e.yaml",
      fmt::format("experiment:\n  platform: {{topology: star, hosts: 8, link: {{bandwidth: 10Gbps, latency: "
                  "5us}}, device: cpu}}\n  iterations: 2\n  strategy: {{type: collective, collective: {}, "
                  "algorithm: {}, size: 3MiB}}\n  slowdown: {{3: 2.0}}\n",
                  k.collective, k.algorithm));
  const auto r =
      run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / "out").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(read_file(scratch / "out" / "summary.json"));
  ASSERT_EQ(summary["collectives"].size(), 1u);
  const auto& c = summary["collectives"][0];
  double total = 0;
  int count = 0;
  for (const auto& row : read_csv(scratch / "out" / "trace.csv")) {
    if (row.at("lane") != "collective" || row.at("part") != "-1") continue;
    EXPECT_EQ(row.at("category"), k.collective);
    total += num(row, "duration_s");
    ++count;
  }
  ASSERT_EQ(count, 8 * 2) << "one event per rank and iteration";
  const double t = total / count;
  const double bytes = 3.0 * 1024 * 1024;
  EXPECT_EQ(c["collective"], k.collective);
  EXPECT_EQ(c["count"].get<int>(), count) << "events over all ranks and iterations";
  EXPECT_EQ(c["bytes"].get<double>(), bytes);
  EXPECT_EQ(c["group_size"].get<int>(), 8);
  expect_close(c["time_s"].get<double>(), t, "time_s: the mean over ranks and iterations");
  expect_close(c["algbw_GBps"].get<double>(), bytes / t / 1e9, "algbw");
  expect_close(c["busbw_GBps"].get<double>(), bytes / t / 1e9 * nccl_tests_bus_factor(k.collective, 8),
               "busbw");
}

std::string collective_name(const ::testing::TestParamInfo<CollectiveCase>& param) {
  std::string name = param.param.collective;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cli, CollectiveFigures,
                         ::testing::Values(CollectiveCase{"all-reduce", "ring"},
                                           CollectiveCase{"reduce-scatter", "ring"},
                                           CollectiveCase{"all-gather", "halving-doubling"},
                                           CollectiveCase{"broadcast", "tree"},
                                           CollectiveCase{"reduce", "tree"}),
                         collective_name);

// A training run with a straggler (rank 2 computes 1.5x slower) and overlapped buckets, so that
// ranks differ and means, maxima and the hidden part are told apart.
constexpr const char* kTraining = R"(experiment:
  platform: {topology: star, hosts: 4, link: {bandwidth: 10Gbps, latency: 1us}, device: h100}
  model: MODEL
  iterations: 3
  strategy: {type: data-parallel, allreduce: ring, bucket_size: 1MiB}
  simulation: {trace: kernels}
  slowdown: {2: 1.5}
)";

std::string training_yaml() {
  std::string yaml = kTraining;
  yaml.replace(yaml.find("MODEL"), 5, (testing::source_dir() / "models" / "tiny-transformer.yaml").string());
  return yaml;
}

struct Recomputed {
  std::vector<double> iterations;
  double makespan = 0;
  std::map<int, double> compute, communication;  // per rank, per iteration
};

Recomputed recompute(const std::filesystem::path& trace_csv, int ranks) {
  Recomputed r;
  std::map<int, double> first_start, last_end;  // iteration → over the ranks
  for (const auto& row : read_csv(trace_csv)) {
    const int rank = std::stoi(row.at("rank"));
    r.makespan = std::max(r.makespan, num(row, "end_s"));
    if (row.at("lane") == "phase" && row.at("name") == "iteration") {
      const int i = std::stoi(row.at("iteration"));
      first_start.try_emplace(i, num(row, "start_s"));
      first_start[i] = std::min(first_start[i], num(row, "start_s"));
      last_end[i] = std::max(last_end[i], num(row, "end_s"));
    }
    if (row.at("lane") == "compute") r.compute[rank] += num(row, "duration_s");
    if (row.at("lane") == "collective" && row.at("part") == "-1")
      r.communication[rank] += num(row, "duration_s");
  }
  // Iteration i runs from the end of i − 1 (the first from its earliest start) to its last end.
  double previous = first_start.begin()->second;
  for (const auto& [i, end] : last_end) {
    r.iterations.push_back(end - previous);
    previous = end;
  }
  for (int rank = 0; rank < ranks; ++rank) {
    r.compute[rank] /= static_cast<double>(r.iterations.size());
    r.communication[rank] /= static_cast<double>(r.iterations.size());
  }
  return r;
}

TEST(Figures, SummaryOfATrainingRunIsWhatItsTraceSays) {
  ScratchDir scratch("figures-training");
  write_file(scratch / "e.yaml", training_yaml());
  const auto out = scratch / "out";
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", out.string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = nlohmann::json::parse(read_file(out / "summary.json"));
  const int ranks = 4;
  const Recomputed t = recompute(out / "trace.csv", ranks);
  ASSERT_EQ(t.iterations.size(), 3u);
  ASSERT_EQ(s["iterations_s"].size(), 3u);
  double mean = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    expect_close(s["iterations_s"][i].get<double>(), t.iterations[i], fmt::format("iteration {}", i));
    mean += t.iterations[i] / 3;
  }
  expect_close(s["iteration_s"].get<double>(), mean, "iteration_s");
  expect_close(s["makespan_s"].get<double>(), t.makespan, "makespan_s");
  expect_close(s["samples_per_s"].get<double>(), s["samples_per_iteration"].get<double>() / mean,
               "samples_per_s");
  EXPECT_EQ(s["samples_per_iteration"].get<int>(), 4 * 4) << "4 ranks of the model's batch of 4";

  double compute = 0, communication = 0, exposed = 0, hidden = 0;
  for (const auto& row : s["per_rank"]) {
    const int rank = row["rank"].get<int>();
    const double c = t.compute.at(rank), m = t.communication.at(rank), x = std::max(0.0, mean - c);
    expect_close(row["compute_s"].get<double>(), c, fmt::format("rank {} compute", rank));
    expect_close(row["communication_s"].get<double>(), m, fmt::format("rank {} communication", rank));
    expect_close(row["exposed_communication_s"].get<double>(), x, fmt::format("rank {} exposed", rank));
    expect_close(row["busy_percent"].get<double>(), 100 * c / mean, fmt::format("rank {} busy", rank));
    compute += c / ranks;
    communication += m / ranks;
    exposed += x / ranks;
    hidden += std::max(0.0, m - x) / ranks;
  }
  EXPECT_GT(t.compute.at(2), 1.4 * t.compute.at(0)) << "the straggler computes longer";
  expect_close(s["compute_s"].get<double>(), compute, "compute_s");
  expect_close(s["communication_s"].get<double>(), communication, "communication_s");
  expect_close(s["exposed_communication_s"].get<double>(), exposed, "exposed_communication_s");
  expect_close(s["hidden_communication_s"].get<double>(), hidden, "hidden_communication_s");
  EXPECT_GT(hidden, 0) << "overlapped buckets hide some communication";

  // Links: each ring step moves its chunk over the sender's UP and the receiver's DOWN link, and
  // a link is busy for its bytes over its bandwidth; utilization is over the makespan.
  double bytes_up = 0;
  for (const auto& row : read_csv(out / "links.csv")) {
    const double busy = num(row, "busy_s"), bytes = num(row, "bytes"), bandwidth = num(row, "bandwidth_Bps");
    expect_close(busy, bytes / bandwidth, row.at("link") + " busy");
    expect_close(num(row, "utilization"), busy / t.makespan, row.at("link") + " utilization");
    if (row.at("link").ends_with("_UP")) bytes_up += bytes;
  }
  double collective_bytes = 0;
  for (const auto& c : s["collectives"])
    collective_bytes += c["bytes"].get<double>() * c["count"].get<double>() / ranks;
  // Ring all-reduce: every rank sends 2(n−1)/n of each buffer.
  EXPECT_NEAR(bytes_up / (collective_bytes * ranks * 2.0 * (ranks - 1) / ranks), 1.0, 1e-3);
  for (const auto& l : s["links"]) {
    expect_close(l["utilization_percent"].get<double>(), 100 * l["busy_s"].get<double>() / t.makespan,
                 l["link"].get<std::string>());
  }
}

// With `trace: phases` there are no kernel events: the compute phases stand for them and must add
// up to what the kernels say, for every schedule (ZB-H1's weight-gradient passes included).
class PhaseCompute : public ::testing::TestWithParam<std::string> {};

TEST_P(PhaseCompute, PhasesAddUpToTheKernels) {
  ScratchDir scratch("figures-phase-compute-" + GetParam());
  std::map<std::string, nlohmann::json> summary;
  for (const std::string trace : {"phases", "kernels"}) {
    const auto out = scratch / trace;
    const auto r =
        run_dmlsim({"run", (testing::source_dir() / "experiments" / "pipeline-gpt-1.3b.yaml").string(),
                    "--quiet", "--out", out.string(), "--set", "parallelism={pp: 4}", "--set", "iterations=1",
                    "--set", "strategy.micro_batches=8", "--set", "strategy.schedule=" + GetParam(), "--set",
                    "simulation.trace=" + trace},
                   scratch);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    summary[trace] = nlohmann::json::parse(read_file(out / "summary.json"));
  }
  expect_close(summary["phases"]["compute_s"].get<double>(), summary["kernels"]["compute_s"].get<double>(),
               GetParam() + " compute_s");
  for (std::size_t r = 0; r < 4; ++r) {
    expect_close(summary["phases"]["per_rank"][r]["compute_s"].get<double>(),
                 summary["kernels"]["per_rank"][r]["compute_s"].get<double>(), fmt::format("rank {}", r));
  }
}

std::string schedule_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Figures, PhaseCompute, ::testing::Values("gpipe", "1f1b", "interleaved", "zb-h1"),
                         schedule_name);

TEST(Figures, CompareCsvIsWhatEachRunSays) {
  ScratchDir scratch("figures-compare");
  write_file(scratch / "e.yaml", training_yaml());
  write_file(scratch / "c.yaml",
             "compare:\n  experiment: e.yaml\n  cases:\n    base: {}\n  strategies:\n    ring: ring\n"
             "    ps: ps-sync:1\n");
  const auto out = scratch / "out";
  const auto r = run_dmlsim({"compare", (scratch / "c.yaml").string(), "--out", out.string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = read_csv(out / "compare.csv");
  ASSERT_EQ(rows.size(), 2u);
  double previous_throughput = 1e300;
  for (const auto& row : rows) {
    SCOPED_TRACE(row.at("strategy"));
    const std::filesystem::path dir = row.at("output");
    const auto s = nlohmann::json::parse(read_file(dir / "summary.json"));
    const double iteration = s["iteration_s"].get<double>();
    expect_close(num(row, "iteration_s"), iteration, "iteration_s");
    expect_close(num(row, "predicted_iteration_s"), s["predicted_iteration_s"].get<double>(), "predicted");
    expect_close(num(row, "communication_share"), s["communication_s"].get<double>() / iteration,
                 "comm share");
    expect_close(num(row, "exposed_communication_share"),
                 s["exposed_communication_s"].get<double>() / iteration, "exposed share");
    expect_close(num(row, "hidden_communication_share"),
                 s["hidden_communication_s"].get<double>() / iteration, "hidden share");
    expect_close(num(row, "memory_per_gpu_bytes"), s["memory_per_device_bytes"].get<double>(), "memory");
    // Throughput: each worker's samples over its own span of iterations, summed (the trace's marks).
    const int workers = s["training_ranks"].get<int>();
    const double per_worker = s["samples_per_iteration"].get<double>() / workers;
    std::map<int, std::tuple<int, double, double>> spans;
    std::set<int> serving;
    for (const auto& rank : s["per_rank"]) {
      if (rank["role"] != "worker") serving.insert(rank["rank"].get<int>());
    }
    for (const auto& e : read_csv(dir / "trace.csv")) {
      const int rank = std::stoi(e.at("rank"));
      if (e.at("lane") != "phase" || e.at("name") != "iteration" || serving.contains(rank)) continue;
      auto [it, added] = spans.try_emplace(rank, 0, num(e, "start_s"), num(e, "end_s"));
      auto& [n, first, last] = it->second;
      ++n;
      first = std::min(first, num(e, "start_s"));
      last = std::max(last, num(e, "end_s"));
    }
    ASSERT_EQ(static_cast<int>(spans.size()), workers);
    double throughput = 0;
    for (const auto& [rank, span] : spans) {
      const auto& [n, first, last] = span;
      throughput += n * per_worker / (last - first);
    }
    expect_close(num(row, "throughput_samples_per_s"), throughput, "throughput");
    EXPECT_LE(throughput, previous_throughput) << "ranked by throughput";
    previous_throughput = throughput;
    // The busiest link: the first of links.csv (busiest first), its bytes per iteration.
    const auto links = read_csv(dir / "links.csv");
    double busiest = 0;
    for (const auto& l : links) busiest = std::max(busiest, num(l, "busy_s"));
    EXPECT_EQ(num(links.front(), "busy_s"), busiest);
    EXPECT_EQ(row.at("busiest_link"), links.front().at("link"));
    expect_close(num(row, "busiest_link_bytes_per_iteration"),
                 num(links.front(), "bytes") / static_cast<double>(s["iterations_s"].size()),
                 "busiest bytes");
  }
}

}  // namespace
}  // namespace dmlsim
