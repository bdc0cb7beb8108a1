// `dmlsim compare` on the shipped example (experiments/compare-ps-vs-allreduce.yaml): the ranking
// on the non-blocking fat-tree follows the closed forms, and 2:1 oversubscription changes it where
// max-min sharing of the leaf uplinks says it must. Also: presets on a plain experiment, the
// parameter server's closed forms in `dmlsim explain`, and clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;

struct Row {
  int rank = 0;
  double iteration = 0, predicted = 0, throughput = 0;
  std::string busiest_link;
  double exposed_share = 0;
  double communication_share = 0, hidden_share = 0;
  std::string memory_fits;  // true, false, or empty where memory is not modelled
};
using Table = std::map<std::string, std::map<std::string, Row>>;  // case → strategy → row

Table read_compare_csv(const std::filesystem::path& file) {
  std::istringstream in(testing::read_file(file));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(
      line,
      "case,strategy,rank,iteration_s,predicted_iteration_s,throughput_samples_per_s,communication_share,"
      "exposed_communication_share,hidden_communication_share,memory_per_gpu_bytes,memory_fits,busiest_link,"
      "busiest_link_bytes_per_iteration,output");
  Table table;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() != 14) {
      ADD_FAILURE() << "bad row " << line;
      continue;
    }
    table[f[0]][f[1]] = {std::stoi(f[2]), std::stod(f[3]), std::stod(f[4]),
                         std::stod(f[5]), f[11],           std::stod(f[7]),
                         std::stod(f[6]), std::stod(f[8]), f[10]};
    // What communication is not exposed is hidden behind compute (or was waiting, counted exposed).
    const Row& r = table[f[0]][f[1]];
    EXPECT_TRUE(r.memory_fits.empty() || r.memory_fits == "true" || r.memory_fits == "false") << line;
    EXPECT_GE(r.hidden_share, 0) << line;
    EXPECT_LE(r.hidden_share, r.communication_share + 1e-12) << line;
  }
  return table;
}

// The ranking, checked against the table itself: ranks 1..n, highest throughput first (then the
// shortest iteration), as `dmlsim compare` promises.
void expect_ranked_by_throughput(const std::map<std::string, Row>& rows) {
  std::vector<const Row*> by_rank(rows.size(), nullptr);
  for (const auto& [name, row] : rows) {
    ASSERT_GE(row.rank, 1) << name;
    ASSERT_LE(row.rank, static_cast<int>(rows.size())) << name;
    ASSERT_EQ(by_rank[static_cast<std::size_t>(row.rank - 1)], nullptr) << "rank " << row.rank << " twice";
    by_rank[static_cast<std::size_t>(row.rank - 1)] = &row;
  }
  for (std::size_t i = 1; i < by_rank.size(); ++i) {
    EXPECT_GE(by_rank[i - 1]->throughput, by_rank[i]->throughput) << "rank " << i;
    if (by_rank[i - 1]->throughput == by_rank[i]->throughput) {
      EXPECT_LE(by_rank[i - 1]->iteration, by_rank[i]->iteration) << "rank " << i;
    }
  }
}

// The duration printed after `term` in `dmlsim explain`'s output ("7.923 ms"), in seconds.
double seconds_after(const std::string& text, const std::string& term) {
  const std::size_t at = text.find(term);
  if (at == std::string::npos) {
    ADD_FAILURE() << term << " missing from\n" << text;
    return 0;
  }
  std::istringstream in(text.substr(at + term.size()));
  double value = 0;
  std::string unit;
  in >> value >> unit;
  const std::map<std::string, double> scale{{"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}};
  if (!scale.contains(unit)) {
    ADD_FAILURE() << "no duration after " << term << " in\n" << text;
    return 0;
  }
  return value * scale.at(unit);
}

std::filesystem::path example() {
  return testing::source_dir() / "experiments" / "compare-ps-vs-allreduce.yaml";
}

TEST(Compare, ShippedExampleRanksAsTheClosedFormsAndOversubscriptionSays) {
  ScratchDir scratch("compare-example");
  const auto out = scratch / "out";
  const auto r = run_dmlsim(
      {"compare", example().string(), "--cases", "resnet50,resnet50-oversubscribed", "--out", out.string()},
      scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("case resnet50-oversubscribed"), std::string::npos) << r.out;
  const Table t = read_compare_csv(out / "compare.csv");
  ASSERT_EQ(t.size(), 2u);
  const auto& flat = t.at("resnet50");
  const auto& over = t.at("resnet50-oversubscribed");
  ASSERT_EQ(flat.size(), 9u);
  for (const auto& [name, row] : flat) {
    EXPECT_TRUE(std::filesystem::exists(out / "resnet50" / name / "trace.json")) << name;
    // Non-blocking fabric: every run within 0.5 % of its closed form.
    EXPECT_NEAR(row.iteration / row.predicted, 1.0, 0.005) << name;
    // Data-parallel and parameter servers model no memory per stage: memory_fits is left empty.
    EXPECT_EQ(row.memory_fits, "") << name;
  }
  // The ranking follows the closed forms for every pair they tell apart by more than 3 % (there
  // are such pairs: tree, the parameter servers and the all-reduces are far apart).
  int told_apart = 0;
  for (const auto& [a, ra] : flat) {
    for (const auto& [b, rb] : flat) {
      if (ra.predicted < 0.97 * rb.predicted) {
        ++told_apart;
        EXPECT_LT(ra.rank, rb.rank) << a << " should rank before " << b;
      }
    }
  }
  EXPECT_GE(told_apart, 20);
  expect_ranked_by_throughput(flat);
  expect_ranked_by_throughput(over);
  // 2:1 oversubscription: a leaf's uplink carries 400 Gbit/s for 8 hosts of 100 Gbit/s. Ring
  // neighbours cross a leaf boundary one flow at a time, tree edges a few, and the single
  // server's own link is the bottleneck of ps-sync-1: unchanged. Halving-doubling far-first
  // (hd-far-first) runs its distance-16 and -8 steps (3/4 of its bytes) first and puts 8 flows on
  // every uplink (50 Gbit/s each); in MPICH's order those steps carry 3/32 of the bytes. All of
  // ps-sync-8's traffic enters the servers' leaf through one uplink (400 instead of 800 Gbit/s).
  for (const char* same : {"ring", "tree", "ps-sync-1"}) {
    EXPECT_NEAR(over.at(same).iteration / flat.at(same).iteration, 1.0, 1e-9) << same;
  }
  EXPECT_GT(over.at("hd-far-first").iteration / flat.at("hd-far-first").iteration, 1.1);
  EXPECT_LT(over.at("halving-doubling").iteration / flat.at("halving-doubling").iteration, 1.03);
  EXPECT_GT(over.at("ps-sync-8").iteration / flat.at("ps-sync-8").iteration, 1.5);
  EXPECT_EQ(over.at("ps-sync-8").busiest_link, "leaf4.uplink_DOWN");
  EXPECT_EQ(over.at("hd-far-first").busiest_link, "leaf0.uplink_DOWN");
  // On the non-blocking fabric the two orders take the same time (every distance crosses one
  // host link each way) and lead ring; oversubscribed, far-first falls behind ring and MPICH's order.
  EXPECT_NEAR(flat.at("hd-far-first").iteration / flat.at("halving-doubling").iteration, 1.0, 1e-9);
  EXPECT_LT(flat.at("halving-doubling").rank, flat.at("ring").rank);
  EXPECT_GT(over.at("hd-far-first").rank, over.at("ring").rank);
  EXPECT_GT(over.at("hd-far-first").rank, over.at("halving-doubling").rank);
}

// The README's second example (experiments/compare-a100-ethernet.yaml): BERT-large on 8 nodes of 4
// A100s. With a NIC per GPU hierarchical all-reduce is 2.1x ahead of the ring; behind one NIC per
// node its 4 rails share the NIC and it is only 7/8 against 31/32 of the ring's NIC bytes ahead;
// the ring does not change. Ring and hierarchical take their closed forms within 0.5 %.
TEST(Compare, OneNicPerNodeChangesTheAnswer) {
  ScratchDir scratch("compare-nics");
  const auto out = scratch / "out";
  const auto r =
      run_dmlsim({"compare", (testing::source_dir() / "experiments" / "compare-a100-ethernet.yaml").string(),
                  "--strategies", "ring,hierarchical", "--out", out.string()},
                 scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Table t = read_compare_csv(out / "compare.csv");
  const auto& shared = t.at("one-nic-per-node");
  const auto& per_gpu = t.at("nic-per-gpu");
  for (const auto* rows : {&shared, &per_gpu}) {
    for (const auto& [name, row] : *rows) EXPECT_NEAR(row.iteration / row.predicted, 1.0, 0.005) << name;
    EXPECT_EQ(rows->at("hierarchical").rank, 1);
  }
  EXPECT_NEAR(shared.at("ring").iteration / per_gpu.at("ring").iteration, 1.0, 1e-9);
  EXPECT_GT(per_gpu.at("ring").iteration / per_gpu.at("hierarchical").iteration, 2.0);
  const double lead = shared.at("ring").iteration / shared.at("hierarchical").iteration;
  EXPECT_GT(lead, 1.02);
  EXPECT_LT(lead, 1.06);
  EXPECT_EQ(shared.at("ring").busiest_link.rfind("node", 0), 0u);
  EXPECT_NE(shared.at("ring").busiest_link.find(".nic0_"), std::string::npos);
}

TEST(Compare, PresetsOnAPlainExperimentAndTheStragglerCase) {
  // 4 workers (2x straggler on rank 1) of a compute-bound MLP: async keeps the fast workers' pace
  // (3 at full speed and one at half: 3.5 workers' worth), sync waits (4 at half: 2), minus the
  // exchange both pay: async well above 1.3x sync.
  ScratchDir scratch("compare-presets");
  testing::write_file(scratch / "e.yaml", R"(experiment:
  name: small
  platform: {topology: star, hosts: 6, link: {bandwidth: 100Gbps, latency: 1us},
             device: {name: round, peak: {fp32: 1TFLOPS}, memory_bandwidth: 1000TBps, memory: 80GB}}
  model: {type: mlp, widths: [1024, 1024, 1024], batch: 1024, dtype: fp32}
  ranks: 4
  iterations: 6
  strategy: {type: data-parallel, allreduce: ring, bucket_size: 64MiB}
  slowdown: {1: 2}
  simulation: {trace: phases}
)");
  // No --out: the default, dmlsim-out/compare/<experiment name> under the working directory.
  const auto out = scratch / "dmlsim-out" / "compare" / "small";
  const auto r = run_dmlsim(
      {"compare", (scratch / "e.yaml").string(), "--strategies", "ring,ps-sync:2,ps-async:2", "--jobs", "2"},
      scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The batch runner's progress: one line per finished run, in plan order, counting up to 3, with
  // the time left until the last.
  EXPECT_NE(r.out.find("  finished ring (1/3, about "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  finished ps-sync:2 (2/3, about "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  finished ps-async:2 (3/3)\n"), std::string::npos) << r.out;
  const Table t = read_compare_csv(out / "compare.csv");
  ASSERT_EQ(t.count(""), 1u);
  const auto& rows = t.at("");
  ASSERT_EQ(rows.size(), 3u);
  // With an exchange of x times the fast workers' compute c (sync: 2c + xc per iteration), the
  // ratio is (3/(1 + x) + 1/(2 + x)) / (4/(2 + x)): 1.75 without exchange, 1.6 at x = 0.2.
  const double ratio = rows.at("ps-async:2").throughput / rows.at("ps-sync:2").throughput;
  EXPECT_GT(ratio, 1.6);
  EXPECT_LT(ratio, 1.75);
  EXPECT_EQ(rows.at("ps-async:2").rank, 1);
  expect_ranked_by_throughput(rows);
  // Dedicated servers come as extra ranks after the experiment's 4 workers.
  EXPECT_EQ(testing::read_json(out / "ps-sync:2" / "summary.json")["ranks"].get<int>(), 6);

  // trace: none keeps no breakdown; compare records the phases it needs and gives the same table.
  const auto none = run_dmlsim({"compare", (scratch / "e.yaml").string(), "--strategies", "ring", "--set",
                                "simulation.trace=none", "--out", (scratch / "none").string()},
                               scratch);
  ASSERT_EQ(none.exit_code, 0) << none.err;
  const Table none_table = read_compare_csv(scratch / "none" / "compare.csv");
  const Row& ring = none_table.at("").at("ring");
  EXPECT_GT(rows.at("ring").exposed_share, 0.1);
  EXPECT_NEAR(ring.exposed_share, rows.at("ring").exposed_share, 1e-9);
  EXPECT_NEAR(ring.iteration, rows.at("ring").iteration, 1e-12);
}

// An elastic run simulates a few of its iterations and advances the clock by the rest: compare ranks
// it by its goodput (samples kept per second of makespan), which failures and writes lower.
TEST(Compare, ElasticRunsAreRankedByTheirGoodput) {
  ScratchDir scratch("compare-elastic");
  testing::write_file(scratch / "e.yaml", R"(experiment:
  name: small
  platform: {topology: star, hosts: 4, link: {bandwidth: 10Gbps, latency: 5us}, device: h100}
  model: {type: mlp, widths: [1024, 1024, 10], batch: 64, dtype: fp32}
  ranks: 4
  iterations: 2000
  strategy: {type: data-parallel, allreduce: ring}
  simulation: {trace: phases}
)");
  testing::write_file(scratch / "c.yaml", R"(compare:
  name: elastic
  experiment: e.yaml
  strategies:
    plain: {}
    elastic: {strategy: {type: elastic, allreduce: ring, checkpoint: {interval: 100},
              failures: {events: [{at: iteration 1500, fail: 1}]}, restart: {detect: 1s, launch: 1s}}}
)");
  const auto r =
      run_dmlsim({"compare", (scratch / "c.yaml").string(), "--out", (scratch / "o").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Table t = read_compare_csv(scratch / "o" / "compare.csv");
  const auto& rows = t.at("");
  const nlohmann::json elastic = testing::read_json(scratch / "o" / "elastic" / "summary.json");
  EXPECT_NEAR(rows.at("elastic").throughput, elastic["elastic"]["goodput_samples_per_s"].get<double>(),
              1e-6 * rows.at("elastic").throughput);
  EXPECT_NEAR(rows.at("elastic").throughput, 2000.0 * 64 * 4 / elastic["makespan_s"].get<double>(),
              1e-6 * rows.at("elastic").throughput);
  // ~10 s of training; the failure costs 2 s down and the 100 steps since step 1400 (~0.5 s).
  EXPECT_LT(rows.at("elastic").throughput, 0.9 * rows.at("plain").throughput);
  EXPECT_EQ(rows.at("plain").rank, 1);
}

TEST(Compare, ExplainShowsTheParameterServerClosedForms) {
  ScratchDir scratch("compare-explain");
  const auto r =
      run_dmlsim({"explain", (testing::source_dir() / "experiments" / "ps-vs-allreduce.yaml").string(),
                  "--set", "strategy={type: parameter-server, servers: 8}"},
                 scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* term : {"push/pull (all buckets)", "n = 32", "k = 8"}) {
    EXPECT_NE(r.out.find(term), std::string::npos) << term << " missing from\n" << r.out;
  }
  // By hand: ResNet-50's 25 557 032 fp16 gradients (M), n = 32 workers, k = 8 servers,
  // B = 100 Gbit/s. explain prints 4 significant digits.
  const double n = 32, k = 8, m = 25'557'032.0 * 2, b = 100e9 / 8;
  const std::pair<const char*, double> closed_forms[] = {
      {"all-reduce 2(n−1)M/(nB)", 2 * (n - 1) * m / (n * b)},
      {"PS on k servers max(M/B, nM/(kB))", std::max(m / b, n * m / (k * b))},
      {"BytePS optimum 2n(n−1)M/((n²+kn−2k)B)", 2 * n * (n - 1) * m / ((n * n + k * n - 2 * k) * b)}};
  for (const auto& [term, expected] : closed_forms)
    EXPECT_NEAR(seconds_after(r.out, term) / expected, 1.0, 1e-3) << term << " in\n" << r.out;
}

TEST(Compare, BadInputIsOneClearErrorWithExitCode2) {
  ScratchDir scratch("compare-errors");
  auto error_of = [&](const std::vector<std::string>& args) {
    const auto r = run_dmlsim(args, scratch);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line, got: " << r.err;
    return r.err;
  };
  const std::string base = (testing::source_dir() / "experiments" / "ps-vs-allreduce.yaml").string();
  EXPECT_NE(error_of({"compare", base, "--strategies", "ring,ps-fast"})
                .find("strategy 'ps-fast': unknown strategy"),
            std::string::npos);
  EXPECT_NE(error_of({"compare", base}).find("nothing to compare"), std::string::npos);
  EXPECT_NE(error_of({"compare", base, "--strategies", "ring,tree,ring"}).find("'ring' is listed twice"),
            std::string::npos);
  EXPECT_NE(error_of({"compare", example().string(), "--cases", "resnet"}).find("no such case"),
            std::string::npos);
  // Dedicated servers need hosts: 32 workers + 16 servers do not fit 40 hosts. The error names
  // what the user wrote (the preset, and the experiment's own `ranks`), not a --set of ranks.
  const std::string servers = error_of({"compare", base, "--strategies", "ps-sync:16"});
  EXPECT_NE(servers.find("compare: strategy 'ps-sync:16': "), std::string::npos) << servers;
  EXPECT_NE(servers.find("ps-vs-allreduce.yaml:19: field 'experiment.ranks': 32 ranks and 16 dedicated "
                         "servers (strategy.servers) need 48 hosts; platform 'fat-tree-32-gpus-8-servers' "
                         "has 40"),
            std::string::npos)
      << servers;
  EXPECT_EQ(servers.find("from --set"), std::string::npos) << servers;
  testing::write_file(scratch / "c.yaml",
                      "compare:\n  experiment: " + base + "\n  strategies:\n    ring: [1, 2]\n");
  EXPECT_NE(error_of({"compare", (scratch / "c.yaml").string()})
                .find("c.yaml:4: field 'compare.strategies.ring': expected a preset name or a mapping"),
            std::string::npos);
  // Nothing written: none of them had --out, so the default dmlsim-out/ would be in the working
  // directory, the scratch directory.
  EXPECT_FALSE(std::filesystem::exists(scratch / "dmlsim-out"));
}

}  // namespace
}  // namespace dmlsim
