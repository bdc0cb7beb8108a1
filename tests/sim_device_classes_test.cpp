// A platform that mixes device classes and has a link whose directions differ: each host computes
// at its own device's roofline, and a transfer takes the sender's uplink and the receiver's
// downlink, in the simulator and in the closed-form path.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/communicator.hpp"
#include "core/kernel.hpp"
#include "sim_helpers.hpp"

namespace dmlsim {
namespace {

// Host 0: an H100 behind an uplink of 1 Gbit/s and a downlink of 4 Gbit/s; host 1: a CPU behind a
// symmetric 4 Gbit/s link. 10 µs per link.
constexpr const char* kExperiment = R"(
experiment:
  platform:
    topology: star
    hosts: 2
    link: {bandwidth: 4Gbps, latency: 10us}
    host_links: {0: {up: 1Gbps, down: 4Gbps, latency: 10us}}
    device: h100
    host_devices: {1: cpu}
  strategy: {type: collective, size: 4KiB}
  simulation: {payload: true}
)";

TEST(SimDeviceClasses, EachHostComputesOnItsDeviceAndEachDirectionHasItsRate) {
  const core::Experiment e = testing::experiment_from_yaml(kExperiment);
  ASSERT_EQ(e.platform.describe_devices(), "H100-SXM5-80GB ×1, generic-cpu-2core ×1");
  const core::Kernel gemm = core::gemm("gemm", 1024, 1024, 1024, core::DType::fp32);
  constexpr std::uint64_t kBytes = 8 << 20;
  std::vector<double> computed(2), sent(2);
  sim::simulate(e, [&](core::Rank& rank) {
    core::Communicator c = rank.communicator(core::Group::world(2), "p2p");
    std::vector<std::byte> data(kBytes);
    // 0 → 1, then 1 → 0 as soon as it has arrived (a send ends when its transfer does): each
    // receiver times its transfer from when the sender started it.
    for (int sender = 0; sender < 2; ++sender) {
      const double start = rank.now();
      if (rank.rank() == sender) {
        core::Request s = c.isend(1 - sender, {kBytes, data.data()});
        rank.wait(s);
      } else {
        core::Request r = c.irecv(sender, {kBytes, data.data()});
        rank.wait(r);
        sent[static_cast<std::size_t>(sender)] = rank.now() - start;
      }
    }
    const double start = rank.now();
    rank.compute(gemm);
    computed[static_cast<std::size_t>(rank.rank())] = rank.now() - start;
  });
  // Roofline per host.
  EXPECT_NEAR(computed[0], e.platform.device_of(0).kernel_seconds(gemm), 1e-12);
  EXPECT_NEAR(computed[1], e.platform.device_of(1).kernel_seconds(gemm), 1e-12);
  EXPECT_GT(computed[1], 10 * computed[0]) << "the CPU is the slower device";
  // α = 20 µs; 0 → 1 at host 0's 1 Gbit/s uplink, 1 → 0 at 4 Gbit/s (host 1's uplink, host 0's
  // downlink).
  const double bytes = static_cast<double>(kBytes);
  EXPECT_NEAR(sent[0], 20e-6 + bytes * 8 / 1e9, 1e-9);
  EXPECT_NEAR(sent[1], 20e-6 + bytes * 8 / 4e9, 1e-9);
  EXPECT_DOUBLE_EQ(e.platform.path(0, 1)->bandwidth, 1e9 / 8);
  EXPECT_DOUBLE_EQ(e.platform.path(1, 0)->bandwidth, 4e9 / 8);
}

// The closed-form prediction of data-parallel training waits for the slowest replica: here the
// CPU host's, not the default device's.
TEST(SimDeviceClasses, DataParallelPredictionWaitsForTheSlowerDevice) {
  const auto experiment = [](const std::string& host_devices) {
    return testing::experiment_from_yaml(fmt::format(R"(
experiment:
  platform: {{topology: star, hosts: 2, link: {{bandwidth: 10Gbps, latency: 1us}}, device: h100{}}}
  model: {{type: mlp, widths: [1024, 1024, 1024], batch: 64, dtype: fp32}}
  strategy: {{type: data-parallel, allreduce: ring}}
)",
                                                     host_devices));
  };
  const core::Experiment same = experiment(""), mixed = experiment(", host_devices: {1: cpu}");
  const double fast = strategies::make_strategy(same)->predict().iteration_seconds;
  const double slow = strategies::make_strategy(mixed)->predict().iteration_seconds;
  // Communication (6.7 ms) is the same; forward, backward and optimizer take the CPU's time
  // (the H100's GEMMs of 64 rows are a wave each, ~13 µs; the CPU's ~1 ms).
  EXPECT_GT(slow, 2 * fast);
  // And the simulation agrees with it.
  const sim::SimResult r = testing::simulate_strategy(mixed);
  EXPECT_NEAR(r.simulated_seconds / slow, 1.0, 0.02);
}

}  // namespace
}  // namespace dmlsim
