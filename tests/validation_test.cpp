// The validation loop on the namespace testbed (root; skipped otherwise, saying so):
//  - the testbed delivers what the calibrated model predicts for a 64 MiB ping-pong (3 %), at
//    100 Mbit/s and at 1 Gbit/s;
//  - the validation suite (experiments/validation/suite.yaml): calibrated simulation against
//    measured runs of all-reduces and data-parallel training; median |error| ≤ 10 %.
// Timing-sensitive: ctest runs these alone (RUN_SERIAL).
#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

// One-way time of rank 0's 64 MiB round trips (median), from a pingpong run's trace.csv.
double one_way_64mib(const std::filesystem::path& csv) {
  std::vector<double> trips;
  std::istringstream in(testing::read_file(csv));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() > 6 && f[0] == "0" && f[1] == "phase" && f[2] == "pingpong 67108864")
      trips.push_back(std::stod(f[6]));
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
  strategy: {type: pingpong, sizes: [64MiB], repeats: 2}
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
  EXPECT_EQ(report["cases"].size(), 13u);
  EXPECT_LE(report["median_abs_error_percent"].get<double>(), 10.0);
}

}  // namespace
}  // namespace dmlsim
