#include <gtest/gtest.h>

#include "core/device.hpp"
#include "core/errors.hpp"

namespace dmlsim::core {
namespace {

TEST(Device, ShippedProfilesLoad) {
  for (const char* name : {"h100", "a100", "cpu"}) {
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

}  // namespace
}  // namespace dmlsim::core
