// The validation loop on the namespace testbed (root; skipped otherwise, saying so):
//  - the testbed delivers what the calibrated model predicts for a 64 MiB ping-pong (3 %), at
//    100 Mbit/s and at 1 Gbit/s;
//  - an asymmetric link delivers each direction at its own rate (3 %);
//  - the validation suite (experiments/validation/suite.yaml): calibrated simulation against
//    measured runs of all-reduces and data-parallel training; median |error| ≤ 10 %.
// Timing-sensitive: ctest runs these alone (RUN_SERIAL).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>
#include <map>

#include "cli_helpers.hpp"
#include "core/platform.hpp"
#include "core/trace_csv_reader.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

// One-way time of rank 0's 64 MiB round trips (median), from a pingpong run's trace.csv. Three trips:
// of two, the "median" was the slower one.
double one_way_64mib(const std::filesystem::path& csv) {
  std::vector<double> trips;
  const core::Trace trace = core::read_csv_trace(csv);
  for (const core::TraceEvent& e : trace.events()) {
    if (e.rank == 0 && e.lane == core::Lane::phase && trace.text(e.name) == "pingpong" &&
        e.bytes == (std::uint64_t{64} << 20))
      trips.push_back(e.duration());
  }
  if (trips.empty()) return 0;
  std::sort(trips.begin(), trips.end());
  return trips[trips.size() / 2] / 2;
}

class PingPong : public ::testing::TestWithParam<std::string> {};

TEST_P(PingPong, SixtyFourMebibytesTakeWhatTheCalibratedModelPredicts) {
  DMLSIM_REQUIRE_ROOT();
  const std::string rate = GetParam();
  ScratchDir scratch("validation-pingpong");
  write_file(
      scratch / "platform.yaml",
      fmt::format(
          "platform: {{topology: star, hosts: 2, link: {{bandwidth: {}, latency: 10us}}, device: cpu}}\n",
          rate));
  // Calibrate on sizes up to 16 MiB (the fit), then check a size it never saw: 64 MiB.
  const auto calibrated =
      run_dmlsim({"calibrate", (scratch / "platform.yaml").string(), "--network-only", "--max-size", "16MiB",
                  "--repeats", "3", "--out", (scratch / "cal").string()},
                 scratch);
  ASSERT_EQ(calibrated.exit_code, 0) << calibrated.err << calibrated.out;
  write_file(scratch / "pp.yaml", R"(experiment:
  platform: platform.yaml
  strategy: {type: pingpong, sizes: [64MiB], repeats: 3}
  simulation: {trace: phases}
)");
  const auto real = run_dmlsim({"run", (scratch / "pp.yaml").string(), "--backend", "real", "--timeout",
                                "300", "--out", (scratch / "real").string()},
                               scratch);
  ASSERT_EQ(real.exit_code, 0) << real.err;
  const auto sim = run_dmlsim(
      {"run", (scratch / "pp.yaml").string(), "--set",
       "platform=" + (scratch / "cal" / "platform.yaml").string(), "--out", (scratch / "sim").string()},
      scratch);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  const double measured = one_way_64mib(scratch / "real" / "trace.csv");
  const double predicted = one_way_64mib(scratch / "sim" / "trace.csv");
  std::cout << fmt::format("{}: 64 MiB one way measured {:.4f} s, predicted {:.4f} s ({:+.2f} %)\n", rate,
                           measured, predicted, (predicted - measured) / measured * 100);
  ASSERT_GT(measured, 0);
  EXPECT_NEAR(predicted / measured, 1.0, 0.03);
}

INSTANTIATE_TEST_SUITE_P(Testbed, PingPong, ::testing::Values("100Mbps", "1Gbps"));

// A link whose directions differ, measured one way at a time: host 1 sends at its 100 Mbit/s
// uplink and receives at 400 Mbit/s (host 0: 400 Mbit/s both ways, so that each direction's
// bottleneck is the sender's own uplink; a bottleneck further on drops packets from the bridge's
// queue and TCP's recovery then costs up to ~7 % more, which the model does not describe). From a real
// ping-pong's trace (one clock for all ranks): 0 → 1 is rank 0's round-trip start to rank 1's receive end, 1
// → 0 from there to the round trip's end. Each against its model, the bottleneck's rate at the testbed's TCP
// goodput of 1448 payload bytes per 1514-byte frame (notes/testbed.md), within 3 %.
TEST(AsymmetricLink, EachDirectionIsMeasuredAtItsOwnRate) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("validation-asymmetric");
  write_file(scratch / "platform.yaml", R"(platform:
  topology: star
  hosts: 2
  link: {bandwidth: 400Mbps, latency: 0us}
  host_links: {1: {up: 100Mbps, down: 400Mbps, latency: 0us}}
  device: cpu
)");
  constexpr double kBytes = 16 << 20;
  write_file(scratch / "pp.yaml", R"(experiment:
  platform: platform.yaml
  strategy: {type: pingpong, sizes: [16MiB], repeats: 3}
  simulation: {trace: messages}
)");
  const auto real = run_dmlsim({"run", (scratch / "pp.yaml").string(), "--backend", "real", "--timeout",
                                "300", "--out", (scratch / "real").string()},
                               scratch);
  ASSERT_EQ(real.exit_code, 0) << real.err;
  // Per round trip i: rank 0's phase (start, end) and rank 1's receive end.
  std::map<int, double> trip_start, trip_end, received;
  const core::Trace trace = core::read_csv_trace(scratch / "real" / "trace.csv");
  for (const core::TraceEvent& e : trace.events()) {
    if (e.rank == 0 && e.lane == core::Lane::phase && trace.text(e.name) == "pingpong" &&
        e.bytes == std::uint64_t{16} << 20) {
      trip_start[e.iteration] = e.start;
      trip_end[e.iteration] = e.end;
    } else if (e.rank == 1 && e.lane == core::Lane::recv) {
      received[e.iteration] = e.end;
    }
  }
  ASSERT_EQ(trip_start.size(), 3u) << testing::read_file(scratch / "real" / "trace.csv").substr(0, 2000);
  constexpr double kGoodput = 1448.0 / 1514.0;
  const double down_model = kBytes * 8 / (400e6 * kGoodput), up_model = kBytes * 8 / (100e6 * kGoodput);
  std::vector<double> to_1, to_0;  // one per round trip; their medians are compared
  for (const auto& [i, start] : trip_start) {
    ASSERT_TRUE(received.count(i)) << "no receive on rank 1 in round trip " << i;
    to_1.push_back(received[i] - start);
    to_0.push_back(trip_end[i] - received[i]);
    std::cout << fmt::format("round trip {}: 0 → 1 {:.4f} s (model {:.4f}), 1 → 0 {:.4f} s (model {:.4f})\n",
                             i, to_1.back(), down_model, to_0.back(), up_model);
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  EXPECT_NEAR(median(to_1) / down_model, 1.0, 0.03) << "host 1's downlink";
  EXPECT_NEAR(median(to_0) / up_model, 1.0, 0.03) << "host 1's uplink";
}

// A mixed testbed (issue 15, item 6): host 2 behind a 200 Mbit/s link with 500 µs added, host 3
// behind 1 Gbit/s with 1 ms added. Calibration fits each class of link with its own ping-pong and
// keeps every host's link (before, it wrote the default link only and the slow host was simulated
// at 1 Gbit/s: −79 %). The rates come out at the testbed's TCP goodput where the link is the
// bottleneck (1448 of 1514 bytes per frame), the latencies what the delay line adds (less, at
// most, the transfer time the fit subtracts from a 4 KiB message that passed in tbf's bucket).
// Validated: ring and halving-doubling all-reduce of 16 MiB over the four hosts, within the
// suite's 10 %: ring measured −2.8 to −3.8 % here. Before the delay line took GSO packets in batches at
// real-time priority, host 3 calibrated at 39 % of its rate and the ring measured −19 to −28 %: the delay
// line waited for a CPU behind the busy-polling ranks and TCP saw longer round trips than the wire's.
TEST(MixedLinks, CalibrationKeepsEveryHostLinkAndValidatesAllReduces) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("validation-mixed");
  write_file(scratch / "platform.yaml", R"(platform:
  topology: star
  hosts: 4
  link: {bandwidth: 1Gbps, latency: 0us}
  host_links: {2: {bandwidth: 200Mbps, latency: 500us}, 3: {bandwidth: 1Gbps, latency: 1ms}}
  device: cpu
)");
  const auto calibrated =
      run_dmlsim({"calibrate", (scratch / "platform.yaml").string(), "--network-only", "--max-size", "4MiB",
                  "--repeats", "3", "--out", (scratch / "cal").string()},
                 scratch);
  ASSERT_EQ(calibrated.exit_code, 0) << calibrated.err << calibrated.out;
  std::cout << calibrated.out;
  const core::Platform p = core::load_platform(scratch / "cal" / "platform.yaml");
  const auto* star = std::get_if<core::StarTopology>(&p.topology);
  ASSERT_NE(star, nullptr);
  ASSERT_EQ(star->host_links.size(), 2u) << "hosts 2 and 3 keep links of their own";
  ASSERT_TRUE(star->host_links.contains(2) && star->host_links.contains(3));
  constexpr double kGoodput = 1448.0 / 1514.0;
  EXPECT_NEAR(star->link.bandwidth / (1e9 / 8 * kGoodput), 1.0, 0.05);
  EXPECT_NEAR(star->link_of(2).bandwidth / (200e6 / 8 * kGoodput), 1.0, 0.05);
  EXPECT_NEAR(star->link_of(3).bandwidth / (1e9 / 8 * kGoodput), 1.0, 0.05);
  EXPECT_GE(star->link_of(2).latency, 500e-6 - 4096 / star->link_of(2).bandwidth);
  EXPECT_LE(star->link_of(2).latency, 1e-3);
  EXPECT_GE(star->link_of(3).latency, 1e-3 - 4096 / star->link_of(3).bandwidth);
  EXPECT_LE(star->link_of(3).latency, 2e-3);

  for (const char* algorithm : {"ring", "halving-doubling"}) {
    SCOPED_TRACE(algorithm);
    write_file(scratch / "allreduce.yaml", fmt::format(R"(experiment:
  platform: platform.yaml
  iterations: 3
  strategy: {{type: collective, algorithm: {}, size: 16MiB}}
)",
                                                       algorithm));
    const std::filesystem::path out = scratch / fmt::format("v-{}", algorithm);
    const auto validated =
        run_dmlsim({"validate", (scratch / "allreduce.yaml").string(), "--calibrated",
                    (scratch / "cal" / "platform.yaml").string(), "--repeat", "3", "--out", out.string()},
                   scratch);
    std::cout << validated.out;
    ASSERT_EQ(validated.exit_code, 0) << validated.err;
    const auto report = testing::read_json(out / "validation.json");
    std::cout << fmt::format("  other processes kept {:.2f} cores busy around the real runs\n",
                             report["other_cores_around"].get<double>());
    if (report["busy"].get<bool>()) {
      std::cout << "  the machine was busy: the error is reported, not checked\n";
    } else {
      EXPECT_LE(std::abs(report["error_percent"].get<double>()), 10.0);
    }
  }
}

// Calibrates `platform` with the 2NN's kernels into scratch/cal.
void calibrate_for_the_2nn(const ScratchDir& scratch, const std::string& platform) {
  const auto calibrated =
      run_dmlsim({"calibrate", (testing::source_dir() / platform).string(), "--model",
                  (testing::source_dir() / "models/fedavg-2nn.yaml").string(), "--max-size", "4MiB",
                  "--repeats", "3", "--out", (scratch / "cal").string()},
                 scratch);
  ASSERT_EQ(calibrated.exit_code, 0) << calibrated.err << calibrated.out;
  std::cout << calibrated.out;
}

// Validates `experiment` against the simulation on scratch/cal's platform: within 10 %.
void validate_within_ten_percent(const ScratchDir& scratch, const std::string& experiment, int repeat) {
  const auto validated =
      run_dmlsim({"validate", (testing::source_dir() / experiment).string(), "--calibrated",
                  (scratch / "cal" / "platform.yaml").string(), "--repeat", std::to_string(repeat),
                  "--max-error", "10", "--out", (scratch / "v").string()},
                 scratch);
  std::cout << validated.out;
  ASSERT_EQ(validated.exit_code, 0) << validated.err;
  EXPECT_LE(std::abs(testing::read_json(scratch / "v" / "validation.json")["error_percent"].get<double>()),
            10.0);
}

// Federated rounds on a testbed of six clients in three asymmetric link classes (issue 13): calibrated
// on the testbed (a ping-pong per link class, the 2NN's kernel shapes), FedAvg with 3 of the 6
// clients drawn each round, measured 5 times against the calibrated simulation. Measured here −3.3
// and −3.8 %. With every client in every round it measured −10.4 … −12.0 % (and failed CI): the
// testbed's own work — four delay lines forwarding packets at real-time priority (a third of a
// core), the waiting ranks' polls, the network stack — left the training clients about one of the
// two cores, and their kernels ran 2–3× their calibrated times; without the delay lines the same
// round measured −3 %. The simulated platform describes the cores, not the testbed's helpers.
TEST(FederatedValidation, SixClientsOfThreeAsymmetricLinkClassesWithinTenPercent) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("validation-federated");
  ASSERT_NO_FATAL_FAILURE(calibrate_for_the_2nn(scratch, "platforms/testbed-edge-6.yaml"));
  validate_within_ten_percent(scratch, "experiments/validation/federated-edge6.yaml", 5);
}

// Hierarchical FL on a testbed of two regions, each a switch of its own behind a shaped WAN link
// with its latency (issue 13): calibrated on the testbed (a ping-pong per link class inside a
// region, one per region's WAN path from its aggregator to the server, the 2NN's kernel shapes),
// five cloud rounds of two edge rounds each, measured three times against the calibrated
// simulation. Measured here −4.7 %.
TEST(FederatedValidation, HierarchicalRoundsOverTwoRegionsWithinTenPercent) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("validation-federated-regional");
  ASSERT_NO_FATAL_FAILURE(calibrate_for_the_2nn(scratch, "platforms/testbed-edge-regional.yaml"));
  // The calibrated platform keeps the regions: their WAN links, hosts and aggregators.
  const std::string platform = testing::read_file(scratch / "cal" / "platform.yaml");
  EXPECT_NE(platform.find("region north: {uplink: {bandwidth: "), std::string::npos) << platform;
  EXPECT_NE(platform.find("hosts: [2, 3, 5], aggregator: 5}"), std::string::npos) << platform;
  validate_within_ten_percent(scratch, "experiments/validation/federated-regional.yaml", 3);
}

TEST(ValidationSuite, CalibratedSimulationMatchesMeasuredRuns) {
  DMLSIM_REQUIRE_ROOT();
  // Kept under the build tree for inspection and for regenerating the README's table.
  const auto out = std::filesystem::path(DMLSIM_BINARY_DIR) / "validation";
  ScratchDir scratch("validation-suite");
  const auto r = run_dmlsim(
      {"validate", "--suite", (testing::source_dir() / "experiments/validation/suite.yaml").string(),
       "--max-error", "10", "--out", out.string()},
      scratch);
  std::cout << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto report = testing::read_json(out / "validation.json");
  EXPECT_EQ(report["cases"].size(), 16u);
  // Cases measured while other processes kept the machine busy are reported, not checked.
  if (!report["busy_cases"].empty()) std::cout << "busy cases: " << report["busy_cases"].dump() << "\n";
  if (!report["median_abs_error_percent_quiet"].is_null()) {
    EXPECT_LE(report["median_abs_error_percent_quiet"].get<double>(), 10.0);
  }
}

}  // namespace
}  // namespace dmlsim
