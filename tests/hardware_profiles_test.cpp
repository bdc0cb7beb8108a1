// The shipped hardware profiles against the published measurements they cite (README, "Shipped
// hardware"): each figure recomputed by the simulator, within 5 % for the large-size bus bandwidth
// and 20 % for the small-size time the profile was fitted to, 10 % (bandwidth) or 20 % (time) for
// a measurement held out of the fit. Beside them, the link fields that carry the fit (efficiency,
// per-message overhead, collective launch) held to the alpha-beta closed form, and the `sources`
// that say where each figure comes from.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::read_file;
using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

struct Published {
  const char* platform;  // platforms/NAME.yaml
  int ranks;
  const char* collective;
  const char* algorithm;
  const char* size;
  const char* figure;  // "busbw_GBps" or "time_s"
  double measured;
  double tolerance;  // relative
  bool fitted;       // used to fit the profile (else held out)
  const char* source;
};

// The measurements, as the sources in the platform files cite them (nccl-tests, out-of-place).
const Published kPublished[] = {
    {"dgx-a100", 8, "all-reduce", "ring", "1GiB", "busbw_GBps", 230.84, 0.05, true,
     "Hetu-Galvatron tests/profiler/test_hardware_profile.py (nccl-tests log, 8 x A100-SXM4-40GB)"},
    {"dgx-a100", 8, "all-reduce", "ring", "8B", "time_s", 21e-6, 0.20, true,
     "nccl-tests#123, ring LL, 8 GPUs ~21 us"},
    {"dgx-a100", 4, "all-reduce", "ring", "8B", "time_s", 15e-6, 0.20, true,
     "nccl-tests#123, ring LL, 4 GPUs ~15 us"},
    {"dgx-a100", 2, "all-reduce", "ring", "8B", "time_s", 12e-6, 0.20, true,
     "nccl-tests#123, ring LL, 2 GPUs ~12 us"},
    {"dgx-a100", 2, "all-reduce", "ring", "32B", "time_s", 10.14e-6, 0.20, false,
     "nccl#583, 2 x A100-SXM4-40GB, 32 B"},
    {"dgx-h100", 8, "all-reduce", "ring", "4GiB", "busbw_GBps", 370, 0.05, true,
     "nccl-tests#212 (NVIDIA): ~370 GB/s with NCCL_ALGO=RING"},
    {"dgx-h100", 8, "all-reduce", "ring", "4GiB", "busbw_GBps", 368.76, 0.10, false,
     "nccl-tests#309: 8 x H100, NCCL_NVLS_ENABLE=0, NCCL 2.26.2"},
    {"dgx-h100", 8, "all-gather", "ring", "4GiB", "busbw_GBps", 370, 0.10, false,
     "nccl-tests#212 (NVIDIA): ~370 GB/s busbw for non-allreduce operations"},
    {"dgx-h100", 2, "all-reduce", "ring", "8B", "time_s", 7.5e-6, 0.20, true,
     "nccl-tests#123 (NVIDIA): ~7.5 us on 2 GPUs"},
    // Across nodes, NCCL's rings run one per channel over the NIC rails: rail-rings.
    {"dgx-h100-64", 16, "all-reduce", "rail-rings", "8GiB", "busbw_GBps", 392.69, 0.10, false,
     "nccl-tests#309: 2 x 8 H100, 8 x 400G CX-7 each, NCCL_ALGO=Ring, NCCL 2.26.2"},
    {"dgx-h100-64", 64, "all-reduce", "rail-rings", "8GiB", "busbw_GBps", 391.37, 0.10, false,
     "nccl-tests#309: 8 x 8 H100, 400G IB, NCCL_MIN_CTAS=24, NCCL_IB_QPS_PER_CONNECTION=2"},
    // A cloud instance: 2 x GCP A3 over GPUDirect-TCPX, NCCL_ALGO=Ring (Google's published run).
    {"gcp-a3", 16, "all-reduce", "rail-rings", "8GiB", "busbw_GBps", 89.54, 0.05, true,
     "ai-infra-cluster-provisioning sample_workloads/nccltest/a3/README.md, 8 GiB"},
    {"gcp-a3", 16, "all-reduce", "rail-rings", "1GiB", "busbw_GBps", 86.99, 0.10, false,
     "the same run, 1 GiB"},
    {"gcp-a3", 16, "all-reduce", "rail-rings", "256MiB", "busbw_GBps", 84.32, 0.10, false,
     "the same run, 256 MiB"},
};

class ShippedProfile : public ::testing::TestWithParam<Published> {};

TEST_P(ShippedProfile, PredictsThePublishedMeasurement) {
  const Published& p = GetParam();
  ScratchDir scratch("profile");
  write_file(scratch / "e.yaml",
             fmt::format("experiment:\n  platform: {}\n  ranks: {}\n  iterations: 2\n  strategy: {{type: "
                         "collective, collective: {}, algorithm: {}, size: {}}}\n",
                         (testing::source_dir() / "platforms" / (std::string(p.platform) + ".yaml")).string(),
                         p.ranks, p.collective, p.algorithm, p.size));
  const auto r =
      run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / "out").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(read_file(scratch / "out" / "summary.json"));
  const double predicted = summary["collectives"][0][p.figure].get<double>();
  const double error = predicted / p.measured - 1;
  // The README's table is these lines.
  std::cout << fmt::format("| {} | {} × {} {} {} | {} | {:.4g} | {:.4g} | {:+.1f} % | {} |\n", p.platform,
                           p.ranks, p.collective, p.algorithm, p.size, p.figure, p.measured, predicted,
                           100 * error, p.fitted ? "fitted" : "held out");
  EXPECT_LE(std::abs(error), p.tolerance)
      << p.source << ": predicted " << predicted << ", measured " << p.measured;
}

std::string case_name(const ::testing::TestParamInfo<Published>& info) {
  std::string name = fmt::format("{}_{}_{}_{}_{}_{}", info.param.platform, info.param.ranks,
                                 info.param.collective, info.param.algorithm, info.param.size, info.index);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Published, ShippedProfile, ::testing::ValuesIn(kPublished), case_name);

// A ring all-reduce over links with an efficiency and a per-message overhead, on a platform with
// a collective launch cost: L + 2(n−1)(α + (S/n)/(e·B)), α = 2(latency + overhead) per path (two
// links), in the simulator and in `dmlsim explain` alike.
TEST(LinkFit, EfficiencyOverheadAndLaunchAreTheClosedForm) {
  ScratchDir scratch("link-fit");
  write_file(scratch / "e.yaml", R"(experiment:
  platform:
    topology: star
    hosts: 4
    link: {bandwidth: 10Gbps, latency: 5us, efficiency: 0.5, overhead: 3us}
    collective_launch: 20us
    device: cpu
  iterations: 2
  strategy: {type: collective, collective: all-reduce, algorithm: ring, size: 4MiB}
)");
  const auto r =
      run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / "out").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double n = 4, bytes = 4.0 * 1024 * 1024, bandwidth = 10e9 / 8 * 0.5, alpha = 2 * (5e-6 + 3e-6);
  const double expected = 20e-6 + 2 * (n - 1) * (alpha + bytes / n / bandwidth);
  const auto summary = nlohmann::json::parse(read_file(scratch / "out" / "summary.json"));
  EXPECT_NEAR(summary["collectives"][0]["time_s"].get<double>(), expected, expected * 1e-6);
  EXPECT_NE(r.out.find("10 Gbps × 0.5 / 5 us + 3 us per message"), std::string::npos) << r.out;

  const auto explain = run_dmlsim({"explain", (scratch / "e.yaml").string()}, scratch);
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  // explain prints 4 significant digits: its predicted iteration is the closed form to 0.05 %.
  const std::string line = "predicted iteration time";
  const std::size_t at = explain.out.find(line);
  ASSERT_NE(at, std::string::npos) << explain.out;
  const double predicted_ms = std::stod(explain.out.substr(at + line.size()));
  EXPECT_NEAR(predicted_ms, expected * 1e3, expected * 1e3 * 5e-4) << explain.out;
}

TEST(LinkFit, RunNamesTheAssumedFiguresOfItsProfile) {
  ScratchDir scratch("assumed");
  write_file(scratch / "e.yaml",
             fmt::format("experiment:\n  platform: {}\n  ranks: 8\n  iterations: 1\n  strategy: {{type: "
                         "collective, collective: all-reduce, algorithm: ring, size: 1MiB}}\n",
                         (testing::source_dir() / "platforms" / "dgx-a100.yaml").string()));
  const auto r =
      run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / "out").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("assumed, not measured or published: platform.nvlink.latency, platform.nic.latency, "
                       "device.efficiency.compute, device.efficiency.memory"),
            std::string::npos)
      << r.out;
}

struct BadFigure {
  const char* name;
  const char* platform_fields;  // appended to a valid star platform
  const char* message;
};

class BadProfile : public ::testing::TestWithParam<BadFigure> {};

TEST_P(BadProfile, IsOneClearErrorWithExitCodeTwo) {
  const BadFigure& b = GetParam();
  ScratchDir scratch(std::string("bad-profile-") + b.name);
  write_file(scratch / "p.yaml",
             std::string("platform:\n  topology: star\n  hosts: 2\n  device: cpu\n") + b.platform_fields);
  write_file(
      scratch / "e.yaml",
      "experiment:\n  platform: p.yaml\n  strategy: {type: collective, collective: all-reduce, algorithm: "
      "ring, size: 1MiB}\n");
  const auto r =
      run_dmlsim({"run", (scratch / "e.yaml").string(), "--out", (scratch / "out").string()}, scratch);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "out"));
}

const BadFigure kBadFigures[] = {
    {"efficiency", "  link: {bandwidth: 1Gbps, latency: 1us, efficiency: 78}\n",
     "p.yaml:5: field 'platform.link.efficiency': must be a fraction of the line rate in (0, 1]"},
    {"overhead", "  link: {bandwidth: 1Gbps, latency: 1us, overhead: fast}\n",
     "field 'platform.link.overhead'"},
    {"source_field",
     "  link: {bandwidth: 1Gbps, latency: 1us}\n  sources:\n    link.speed: \"published: a datasheet\"\n",
     "p.yaml:7: field 'platform.sources.link.speed': names the field 'link.speed', which this mapping does "
     "not have"},
    {"source_kind", "  link: {bandwidth: 1Gbps, latency: 1us}\n  sources:\n    link.bandwidth: \"guessed\"\n",
     "field 'platform.sources.link.bandwidth': must start with measured, published or assumed"},
    {"source_citation",
     "  link: {bandwidth: 1Gbps, latency: 1us}\n  sources:\n    link.bandwidth: published\n",
     "a published figure names its source"},
};

std::string bad_name(const ::testing::TestParamInfo<BadFigure>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(LinkFit, BadProfile, ::testing::ValuesIn(kBadFigures), bad_name);

}  // namespace
}  // namespace dmlsim
