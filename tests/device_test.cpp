#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/device.hpp"
#include "core/errors.hpp"

namespace dmlsim::core {
namespace {

TEST(Device, ShippedProfilesLoad) {
  for (const char* name : {"h100", "h200", "a100", "cpu"}) {
    const auto d = builtin_device(name);
    ASSERT_TRUE(d) << name;
    EXPECT_TRUE(d->peak(DType::fp32)) << name;
    EXPECT_GT(d->memory_bandwidth, 0) << name;
  }
  const auto h100 = *builtin_device("h100");
  EXPECT_DOUBLE_EQ(*h100.peak(DType::bf16), 989.4e12);
  EXPECT_DOUBLE_EQ(h100.memory_bandwidth, 3.35e12);
}

TEST(Device, RooflineComputeBound) {
  DeviceProfile d;
  d.name = "test";
  d.peak_flops[static_cast<std::size_t>(DType::fp16)] = 100e12;
  d.peak_flops[static_cast<std::size_t>(DType::fp32)] = 10e12;
  d.memory_bandwidth = 1e12;
  d.compute_efficiency = 0.5;
  d.memory_efficiency = 0.8;
  // 4096³ GEMM in fp16: 2·4096³ flops at 50 TFLOP/s effective; bytes 3·4096²·2 at 0.8 TB/s.
  const Kernel k = gemm("g", 4096, 4096, 4096, DType::fp16);
  const double compute = 2.0 * 4096 * 4096 * 4096 / 50e12;
  const double memory = 3.0 * 4096 * 4096 * 2 / 0.8e12;
  ASSERT_GT(compute, memory);
  EXPECT_DOUBLE_EQ(d.kernel_seconds(k), compute);
}

TEST(Device, RooflineMemoryBound) {
  DeviceProfile d;
  d.name = "test";
  d.peak_flops[static_cast<std::size_t>(DType::fp32)] = 10e12;
  d.memory_bandwidth = 1e12;
  d.launch_overhead = 3e-6;
  // Elementwise over 1e8 fp16 values, 2 accesses each: 4e8 bytes at 1 TB/s, plus the launch.
  const Kernel k = elementwise("e", 100'000'000, DType::fp16, 1, 2);
  EXPECT_DOUBLE_EQ(d.kernel_seconds(k), 3e-6 + 4e8 / 1e12);
}

TEST(Device, MissingDtypeIsAnError) {
  const auto cpu = *builtin_device("cpu");
  EXPECT_THROW(cpu.kernel_seconds(gemm("g", 8, 8, 8, DType::bf16)), ValueError);
}

// Tiles and waves: a 1000 × 2000 × 64 GEMM in 100 × 200 tiles on 30 SMs is 10 × 10 = 100 tiles,
// ⌈100 / 30⌉ = 4 waves, each the K-loop of one tile at the SM's share of the rate.
TEST(Device, GemmByTilesAndWaves) {
  DeviceProfile d;
  d.name = "test";
  d.peak_flops[static_cast<std::size_t>(DType::bf16)] = 300e12;
  d.peak_flops[static_cast<std::size_t>(DType::fp32)] = 30e12;
  d.memory_bandwidth = 1e15;  // never the bound here
  d.compute_efficiency = 0.5;
  d.gemm = GemmModel{30, 100, 200, 5e-6, 0.25};
  const double wave = 2.0 * 100 * 200 * 64 / (300e12 / 30 * 0.5);
  EXPECT_DOUBLE_EQ(d.kernel_seconds(gemm("g", 1000, 2000, 64, DType::bf16)), 5e-6 + 4 * wave);
  // 11 × 10 = 110 tiles still fit 4 waves; a batch of 2 (200 tiles) takes 7.
  EXPECT_DOUBLE_EQ(d.kernel_seconds(gemm("g", 1096, 2000, 64, DType::bf16)), 5e-6 + 4 * wave);
  EXPECT_DOUBLE_EQ(d.kernel_seconds(gemm("g", 1000, 2000, 64, DType::bf16, 2)), 5e-6 + 7 * wave);
  // Fewer tiles (4) than SMs: the flops at the in-wave rate, the GPU filled by smaller tiles.
  EXPECT_DOUBLE_EQ(d.kernel_seconds(gemm("g", 200, 400, 64, DType::bf16)),
                   5e-6 + 2.0 * 200 * 400 * 64 / 150e12);
  // A tensor-core dtype needs 16-byte multiples (8 bf16 elements): the work slows, not the fixed
  // cost. fp32 runs on the CUDA cores, without that penalty.
  EXPECT_DOUBLE_EQ(d.kernel_seconds(gemm("g", 1000, 2001, 64, DType::bf16)), 5e-6 + 4 * wave / 0.25);
  EXPECT_DOUBLE_EQ(d.kernel_seconds(gemm("g", 1000, 2001, 64, DType::fp32)),
                   5e-6 + 4 * 2.0 * 100 * 200 * 64 / (30e12 / 30 * 0.5));
}

// The shipped H100 profile against the GPT-1.3B GEMMs timed on an H100 (scripts/gpu-check,
// docs/gpu/gpu-check.json), which were not used to fit it (its gemm model was fitted to the same
// shapes timed on an H200). Compute-bound shapes within 10 %; the batched attention GEMMs are
// memory-bound, priced at the assumed 80 % of the memory bandwidth, and measured at 69–78 %:
// within 15 %.
TEST(Device, ShippedH100PredictsTheGemmsTimedOnAnH100) {
  std::ifstream in(std::string(DMLSIM_SOURCE_DIR) + "/docs/gpu/gpu-check.json");
  ASSERT_TRUE(in);
  const auto report = nlohmann::json::parse(in);
  const DeviceProfile h100 = *builtin_device("h100");
  int gemms = 0;
  for (const auto& k : report["kernels"]) {
    std::istringstream shape(k["shape"].get<std::string>());
    std::string kind, batch;
    std::int64_t m = 0, n = 0, kk = 0;
    shape >> kind >> m >> n >> kk >> batch;
    if (kind != "gemm") continue;
    ++gemms;
    const std::int64_t b = std::stoll(batch.substr(1));
    const double predicted = h100.kernel_seconds(gemm("g", m, n, kk, DType::bf16, b));
    const double measured = k["measured_s"].get<double>();
    EXPECT_LE(std::abs(predicted / measured - 1), b > 1 ? 0.15 : 0.10)
        << k["shape"] << ": predicted " << predicted << " s, measured " << measured << " s";
  }
  EXPECT_EQ(gemms, 15);
}

TEST(Device, BadGemmModelIsAnError) {
  const auto root = ConfigNode::load_string(
      "device: {name: d, peak: {fp32: 1TFLOPS}, memory_bandwidth: 1TBps, memory: 1GB, gemm: {sms: 4, "
      "unaligned: 2}}",
      "d.yaml");
  try {
    (void)parse_device(root.at("device"));
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'device.gemm.unaligned': must be in (0, 1]"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dmlsim::core
