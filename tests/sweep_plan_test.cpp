// The parts of `dmlsim sweep` that run nothing: axes and ranges, how points combine, the random
// draw, and sweep.csv written, read and merged.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "apps/sweep_plan.hpp"
#include "apps/sweep_table.hpp"
#include "core/config_node.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"

namespace dmlsim::apps {
namespace {

std::vector<std::string> range(const std::string& yaml) {
  return expand_range(core::ConfigNode::load_string("r: " + yaml, "range.yaml").at("r"));
}

std::string range_error(const std::string& yaml) {
  try {
    range(yaml);
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

using Values = std::vector<std::string>;

TEST(SweepRange, StepsFactorsAndCountsWithUnits) {
  EXPECT_EQ(range("{from: 4, to: 16, step: 4}"), (Values{"4", "8", "12", "16"}));
  EXPECT_EQ(range("{from: 4, to: 15, step: 4}"), (Values{"4", "8", "12"}));
  EXPECT_EQ(range("{from: 16, to: 4, step: -6}"), (Values{"16", "10", "4"}));
  // Three tenths reach 0.3 although 0.1 + 0.1 + 0.1 > 0.3 in binary.
  EXPECT_EQ(range("{from: 0, to: 0.3, step: 0.1}"), (Values{"0", "0.1", "0.2", "0.30000000000000004"}));
  EXPECT_EQ(range("{from: 8, to: 1024, factor: 2}"),
            (Values{"8", "16", "32", "64", "128", "256", "512", "1024"}));
  EXPECT_EQ(range("{from: 1Gbps, to: 100Gbps, count: 3, scale: log}"),
            (Values{"1Gbps", "10Gbps", "100Gbps"}));
  EXPECT_EQ(range("{from: 1MiB, to: 4MiB, count: 4}"), (Values{"1MiB", "2MiB", "3MiB", "4MiB"}));
  EXPECT_EQ(range("{from: 1, to: 2, count: 3}"), (Values{"1", "1.5", "2"}));
  EXPECT_EQ(range("{from: 2.5us, to: 2.5us, count: 1}"), (Values{"2.5us"}));
  // Integer ends of a log range: the powers of two come out as integers, the rest as decimals.
  EXPECT_EQ(range("{from: 8, to: 64, count: 4, scale: log}"), (Values{"8", "16", "32", "64"}));
  EXPECT_NEAR(std::stod(range("{from: 1, to: 100, count: 4, scale: log}").at(1)), 4.6415888336127789, 1e-14);
  // Integers beyond 2^53 (a fuzzer's find: they were cast to long long, undefined behaviour).
  EXPECT_EQ(range("{from: 1, to: 100000000000000000000, factor: 10000000000}"),
            (Values{"1", "10000000000", "1e+20"}));
}

TEST(SweepRange, BadRangesNameTheField) {
  EXPECT_NE(range_error("{from: 1Gbps, to: 100Mbps, count: 2}").find("one unit"), std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16, step: -4}").find("range.yaml:1: field 'r.step'"),
            std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16, step: 0}").find("never goes from 4 to 16"), std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16, factor: 1}").find("never goes"), std::string::npos);
  EXPECT_NE(range_error("{from: 0, to: 16, factor: 2}").find("above 0"), std::string::npos);
  EXPECT_NE(range_error("{from: 0, to: 16, count: 3, scale: log}").find("above 0"), std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16, step: 4, count: 3}").find("exactly one of"), std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16}").find("exactly one of"), std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16, step: 4, scale: log}").find("scale goes with count"),
            std::string::npos);
  EXPECT_NE(range_error("{from: fast, to: 16, step: 4}").find("'fast' does not start with a number"),
            std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16, count: 3, scale: cubic}").find("linear or log"),
            std::string::npos);
  EXPECT_NE(range_error("{from: 0, to: 1e9, step: 1}").find("more than 1000000 values"), std::string::npos);
  EXPECT_NE(range_error("{from: 4, to: 16, stride: 4}").find("stride"), std::string::npos);
}

TEST(SweepSample, FloydDrawsDistinctSortedIndicesReproducibly) {
  const std::vector<std::uint64_t> a = sample_indices(1000, 50, 7);
  EXPECT_EQ(a, sample_indices(1000, 50, 7));
  EXPECT_NE(a, sample_indices(1000, 50, 8));
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(std::set<std::uint64_t>(a.begin(), a.end()).size(), 50u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_LT(a.back(), 1000u);
  // All of them: every index once.
  const std::vector<std::uint64_t> all = sample_indices(10, 10, 3);
  EXPECT_EQ(all, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // Uniform enough: over many draws of 1 from 4, each index comes up about a quarter of the time.
  std::vector<int> counts(4);
  for (std::uint64_t seed = 0; seed < 4000; ++seed) ++counts[sample_indices(4, 1, seed).front()];
  for (const int c : counts) EXPECT_NEAR(c, 1000, 120);
}

class SweepFile : public ::testing::Test {
 protected:
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("dmlsim-sweep-plan-" + std::to_string(getpid()));
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return dir / name;
  }
  SweepPlan plan(const std::string& body) {
    return last_ = read_sweep_plan(write("s.yaml", "sweep:\n" + body));
  }
  std::string error(const std::string& body) {
    try {
      plan(body);
    } catch (const core::ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  std::vector<std::string> values(const SweepPoint& p) const {
    std::vector<std::string> v;
    for (const auto& [field, value] : last_.values(p)) v.push_back(value);
    return v;
  }
  SweepPlan last_;  // the plan whose points values() reads
};

TEST_F(SweepFile, ProductVariesTheLastAxisFastest) {
  const SweepPlan p = plan(
      "  experiment: e.yaml\n"
      "  set: {iterations: 1, strategy.size: 16MiB, simulation: {trace: none}}\n"
      "  axes:\n"
      "    strategy.algorithm: [ring, tree]\n"
      "    ranks: {from: 2, to: 6, step: 2}\n"
      "    strategy: [{type: collective, size: 1MiB}]\n");
  EXPECT_EQ(p.name, "s");
  EXPECT_EQ(p.experiment, dir / "e.yaml");
  EXPECT_EQ(p.set, (std::vector<std::pair<std::string, std::string>>{
                       {"iterations", "1"}, {"strategy.size", "16MiB"}, {"simulation", "{trace: none}"}}));
  ASSERT_EQ(p.points.size(), 6u);
  EXPECT_EQ(values(p.points[0]), (Values{"ring", "2", "{type: collective, size: 1MiB}"}));
  EXPECT_EQ(values(p.points[1]), (Values{"ring", "4", "{type: collective, size: 1MiB}"}));
  EXPECT_EQ(values(p.points[3]), (Values{"tree", "2", "{type: collective, size: 1MiB}"}));
  EXPECT_EQ(p.points[5].index, 5);
  EXPECT_EQ(p.values(p.points[5])[1].first, "ranks");
}

TEST_F(SweepFile, ZipPairsTheAxesAndRandomDrawsFromTheProduct) {
  const SweepPlan zip = plan(
      "  experiment: e.yaml\n  combine: zip\n"
      "  axes:\n    ranks: [2, 4, 8]\n    strategy.size: {from: 1MiB, to: 4MiB, factor: 2}\n");
  ASSERT_EQ(zip.points.size(), 3u);
  EXPECT_EQ(values(zip.points[2]), (Values{"8", "4MiB"}));
  EXPECT_NE(
      error(
          "  experiment: e.yaml\n  combine: zip\n  axes:\n    ranks: [2, 4]\n    strategy.size: [1, 2, 3]\n")
          .find("as many values each: ranks has 2, strategy.size has 3"),
      std::string::npos);

  const std::string random =
      "  experiment: e.yaml\n  combine: random\n  samples: 5\n  seed: 11\n"
      "  axes:\n    a: {from: 0, to: 9, step: 1}\n    b: {from: 0, to: 9, step: 1}\n";
  const SweepPlan r = plan(random);
  ASSERT_EQ(r.points.size(), 5u);
  std::set<std::string> seen;
  for (const SweepPoint& point : r.points) {
    const auto v = values(point);
    seen.insert(v[0] + "," + v[1]);
    // The point is the product's index sample_indices drew: a is its tens, b its units.
    EXPECT_EQ(std::stoi(v[0]) * 10 + std::stoi(v[1]),
              static_cast<int>(sample_indices(100, 5, 11)[static_cast<std::size_t>(point.index)]));
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_NE(error("  experiment: e.yaml\n  combine: random\n  samples: 5\n  axes:\n    a: [1, 2]\n")
                .find("5 samples from 2 points"),
            std::string::npos);
  EXPECT_NE(
      error("  experiment: e.yaml\n  samples: 5\n  axes:\n    a: [1, 2]\n").find("goes with combine: random"),
      std::string::npos);
}

TEST_F(SweepFile, BadSweepFilesNameFileLineAndField) {
  EXPECT_NE(error("  experiment: e.yaml\n  axes:\n    ranks: []\n")
                .find("s.yaml:4: field 'sweep.axes.ranks': no values"),
            std::string::npos);
  EXPECT_NE(
      error("  experiment: e.yaml\n  axes:\n    ranks: 4\n").find("expected a list of values, or a range"),
      std::string::npos);
  EXPECT_NE(error("  experiment: e.yaml\n  axes: {}\n").find("field 'sweep.axes'"), std::string::npos);
  EXPECT_NE(
      error("  experiment: e.yaml\n  combine: all\n  axes:\n    a: [1]\n").find("product, zip or random"),
      std::string::npos);
  EXPECT_NE(error("  experiment: e.yaml\n  axis:\n    a: [1]\n").find("axis"), std::string::npos);
  EXPECT_NE(error("  axes:\n    a: [1]\n").find("'sweep.experiment'"), std::string::npos);
  EXPECT_NE(
      error("  name: a/b\n  experiment: e.yaml\n  axes:\n    a: [1]\n").find("'a/b' is not a valid name"),
      std::string::npos);
  EXPECT_NE(error("  experiment: e.yaml\n  axes:\n    a: {from: 1, to: 1000, step: 1}\n"
                  "    b: {from: 1, to: 1000, step: 1}\n    c: [1, 2]\n")
                .find("2000000 points: more than 1000000"),
            std::string::npos);
}

TEST(SweepTable, WritesReadsAndMergesShards) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("dmlsim-sweep-table-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  SweepTable whole;
  whole.axes = {"strategy", "ranks"};
  for (int p = 0; p < 5; ++p) {
    SweepRow row{p,
                 {p == 1 ? "{type: collective, size: 1MiB}" : "ring", std::to_string(2 * p)},
                 "ok",
                 "",
                 "points/000" + std::to_string(p),
                 {}};
    row.figures["iteration_s"] = std::to_string(p) + ".5";
    if (p == 3) row.figures["only_here"] = "x";
    if (p == 4) {
      row.status = "failed";
      row.error = "a \"quoted\" error, with a comma\nand a second line";
      row.figures.clear();
    }
    whole.rows.push_back(row);
  }
  std::ostringstream text;
  write_sweep_csv(whole, text);
  EXPECT_EQ(text.str().substr(0, text.str().find('\n')),
            "point,strategy,ranks,status,error,output,iteration_s,only_here");
  EXPECT_NE(text.str().find("1,\"{type: collective, size: 1MiB}\",2,ok,,points/0001,1.5,\n"),
            std::string::npos);
  EXPECT_NE(text.str().find("\"a \"\"quoted\"\" error, with a comma\nand a second line\""),
            std::string::npos);

  // Shards: every other point, written out of order.
  const auto shard = [&](std::vector<int> points, const std::string& name) {
    SweepTable t;
    t.axes = whole.axes;
    for (const int p : points) t.rows.push_back(whole.rows[static_cast<std::size_t>(p)]);
    std::ofstream out(dir / name);
    write_sweep_csv(t, out);
    return dir / name;
  };
  const auto a = shard({4, 0, 2}, "a.csv"), b = shard({1, 3}, "b.csv");
  const SweepTable back = read_sweep_csv(a);
  EXPECT_EQ(back.axes, whole.axes);
  ASSERT_EQ(back.rows.size(), 3u);
  EXPECT_EQ(back.rows[2].error, whole.rows[4].error);
  std::ostringstream merged;
  write_sweep_csv(merge_sweep_tables({b, a}), merged);
  EXPECT_EQ(merged.str(), text.str());

  // Overlapping shards, and shards of different sweeps, are refused.
  const auto c = shard({3}, "c.csv");
  EXPECT_THROW(merge_sweep_tables({a, b, c}), core::ConfigError);
  SweepTable other;
  other.axes = {"ranks"};
  std::ofstream(dir / "d.csv") << [&] {
    std::ostringstream o;
    write_sweep_csv(other, o);
    return o.str();
  }();
  EXPECT_THROW(merge_sweep_tables({a, dir / "d.csv"}), core::ConfigError);
  std::ofstream(dir / "e.csv") << "iteration,time\n1,2\n";
  EXPECT_THROW(read_sweep_csv(dir / "e.csv"), core::ConfigError);
  std::filesystem::remove_all(dir);
}

TEST(SweepFigures, EveryScalarFlattenedWithTheBusiestLinkAndTheOneCollective) {
  const nlohmann::json summary = nlohmann::json::parse(R"({
    "iteration_s": 0.1, "ranks": 4, "machine": null, "memory_fits": true, "platform": "star",
    "parallelism": {"dp": 4, "order": "dp"}, "iterations_s": [0.1, 0.1],
    "links": [{"link": "a", "bytes": 10}, {"link": "b", "bytes": 5}],
    "collectives": [{"collective": "all-reduce", "busbw_GBps": 2.5}],
    "per_rank": [{"rank": 0}]})");
  const std::map<std::string, std::string> f = summary_figures(summary);
  EXPECT_EQ(f, (std::map<std::string, std::string>{{"iteration_s", "0.1"},
                                                   {"ranks", "4"},
                                                   {"machine", ""},
                                                   {"memory_fits", "true"},
                                                   {"platform", "star"},
                                                   {"parallelism.dp", "4"},
                                                   {"parallelism.order", "dp"},
                                                   {"busiest_link.link", "a"},
                                                   {"busiest_link.bytes", "10"},
                                                   {"collective.collective", "all-reduce"},
                                                   {"collective.busbw_GBps", "2.5"}}));
  // Two kinds of collective: none is "the" collective.
  nlohmann::json two = summary;
  two["collectives"].push_back({{"collective", "all-gather"}});
  EXPECT_EQ(summary_figures(two).count("collective.collective"), 0u);
  // Numbers read back exactly.
  const double third = 1.0 / 3;
  EXPECT_EQ(std::stod(summary_figures(nlohmann::json{{"x", third}}).at("x")), third);
}

// --set platform.FIELD where the experiment names a platform file: the file's field changes.
TEST_F(SweepFile, OverridesReachIntoTheFilesAnExperimentNames) {
  write("p.yaml",
        "platform:\n  name: p\n  topology: star\n  hosts: 4\n  link: {bandwidth: 25Gbps, latency: 1us}\n  "
        "device: h100\n");
  const auto e =
      write("e.yaml", "experiment:\n  platform: p.yaml\n  strategy: {type: collective, size: 1MiB}\n");
  EXPECT_DOUBLE_EQ(core::load_experiment(e).platform.path(0, 1)->bandwidth, 25e9 / 8);
  EXPECT_DOUBLE_EQ(
      core::load_experiment(e, {{"platform.link.bandwidth", "10Gbps"}}).platform.path(0, 1)->bandwidth,
      10e9 / 8);
  // The error names the platform file and the field, as set from the command line.
  try {
    core::load_experiment(e, {{"platform.link.bandwidth", "fast"}});
    FAIL() << "expected an error";
  } catch (const core::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("p.yaml: field 'platform.link.bandwidth' (from --set)"),
              std::string::npos)
        << err.what();
  }
  // A new platform file, then a field of it.
  write("q.yaml",
        "platform:\n  name: q\n  topology: star\n  hosts: 8\n  link: {bandwidth: 50Gbps, latency: 1us}\n  "
        "device: h100\n");
  const core::Experiment q = core::load_experiment(
      e, {{"platform.link.bandwidth", "1Gbps"}, {"platform", "q.yaml"}, {"platform.hosts", "6"}});
  EXPECT_EQ(q.platform.name, "q");
  EXPECT_EQ(q.platform.host_count(), 6);
  EXPECT_DOUBLE_EQ(q.platform.path(0, 1)->bandwidth, 50e9 / 8);
}

}  // namespace
}  // namespace dmlsim::apps
