// The SimGrid platforms built from YAML topologies route every pair of hosts over the links the
// analytic model of core::Platform::path describes (same latency, same bottleneck bandwidth).
#include <gtest/gtest.h>

#include "core/platform.hpp"
#include "route_check.hpp"

namespace dmlsim {
namespace {

core::Platform platform_from(const std::string& yaml) {
  return core::parse_platform(core::ConfigNode::load_string(yaml, "p.yaml").at("platform"));
}

void expect_routes_match(const std::string& yaml) {
  testing::expect_routes_match(platform_from(yaml));
}

// The analytic path against hand-computed latency (s) and bandwidth (bit/s): the route check
// above only compares it with the SimGrid routes built from the same description.
void expect_path(const std::string& yaml, int a, int b, double latency, double bits_per_second) {
  const auto path = platform_from(yaml).path(a, b);
  ASSERT_TRUE(path.has_value());
  EXPECT_NEAR(path->latency, latency, 1e-15) << a << " -> " << b;
  EXPECT_DOUBLE_EQ(path->bandwidth, bits_per_second / 8) << a << " -> " << b;
}

TEST(SimPlatform, Star) {
  const char* yaml = R"(
platform: {topology: star, hosts: 5, link: {bandwidth: 10Gbps, latency: 1us}, device: cpu})";
  expect_path(yaml, 0, 4, 2e-6, 10e9);  // two links
  expect_routes_match(yaml);
}

TEST(SimPlatform, FatTree) {
  const char* yaml = R"(
platform:
  topology: fat-tree
  hosts: 12
  hosts_per_leaf: 4
  spines: 2
  host_link: {bandwidth: 100Gbps, latency: 1us}
  spine_link: {bandwidth: 40Gbps, latency: 300ns}
  device: cpu)";
  expect_path(yaml, 0, 3, 2e-6, 100e9);  // same leaf: two host links
  // Across leaves: up to a spine and down, over a leaf uplink of 2 spines × 40 Gbit/s (ECMP).
  expect_path(yaml, 1, 9, 2e-6 + 2 * 0.3e-6, 80e9);
  expect_routes_match(yaml);
}

TEST(SimPlatform, GpuNodesOnOneSwitch) {
  const char* yaml = R"(
platform:
  topology: gpu-nodes
  nodes: 3
  gpus_per_node: 4
  nvlink: {bandwidth: 450GBps, latency: 700ns}
  nic: {bandwidth: 400Gbps, latency: 1.5us}
  device: h100)";
  expect_path(yaml, 0, 3, 2 * 0.7e-6, 450e9 * 8);  // through the node's NVSwitch
  expect_path(yaml, 1, 6, 2 * 1.5e-6, 400e9);      // GPU 1's NIC to node 1's GPU 2's NIC
  expect_routes_match(yaml);
}

TEST(SimPlatform, GpuNodesOnAFatTree) {
  expect_routes_match(R"(
platform:
  topology: gpu-nodes
  nodes: 4
  gpus_per_node: 2
  nvlink: {bandwidth: 450GBps, latency: 700ns}
  nic: {bandwidth: 400Gbps, latency: 1.5us}
  fabric: {nodes_per_leaf: 2, spines: 2, oversubscription: 4, spine_latency: 600ns}
  device: h100)");
}

// Links whose directions differ: a path takes the sender's uplink and the receiver's downlink, in
// the analytic model and in the SimGrid routes; a range of hosts shares one exception.
TEST(SimPlatform, AsymmetricLinksGoTheirOwnRateEachWay) {
  const char* star = R"(
platform:
  topology: star
  hosts: 6
  link: {bandwidth: 10Gbps, latency: 1us}
  host_links: {"2-4": {up: 50Mbps, down: 200Mbps, latency: 20ms}}
  device: cpu)";
  expect_path(star, 3, 0, 20e-3 + 1e-6, 50e6);   // client up
  expect_path(star, 0, 3, 20e-3 + 1e-6, 200e6);  // client down
  expect_path(star, 2, 4, 40e-3, 50e6);
  expect_path(star, 0, 5, 2e-6, 10e9);
  expect_routes_match(star);
}

TEST(SimPlatform, AsymmetricHostLinksOnAFatTree) {
  expect_routes_match(R"(
platform:
  topology: fat-tree
  hosts: 8
  hosts_per_leaf: 4
  spines: 2
  host_link: {up: 10Gbps, down: 40Gbps, latency: 1us}
  host_links: {7: {bandwidth: 1Gbps, latency: 1us}}
  oversubscription: 2
  device: cpu)");
}

TEST(SimPlatform, AsymmetricNicsOnGpuNodes) {
  const char* yaml = R"(
platform:
  topology: gpu-nodes
  nodes: 2
  gpus_per_node: 2
  nvlink: {bandwidth: 450GBps, latency: 700ns}
  nic: {up: 100Gbps, down: 200Gbps, latency: 1.5us}
  device: h100)";
  expect_path(yaml, 0, 2, 3e-6, 100e9);
  expect_routes_match(yaml);
}

// NICs shared by a node's GPUs: GPU j leaves through NIC j / (GPUs per NIC), reached directly,
// over its PCIe link or over its NVLink port; flows through one NIC share it.
TEST(SimPlatform, NicsSharedByANodesGpus) {
  const std::string nodes = R"(
platform:
  topology: gpu-nodes
  nodes: 4
  gpus_per_node: 4
  nics_per_node: 2
  nvlink: {bandwidth: 450GBps, latency: 700ns}
  nic: {bandwidth: 100Gbps, latency: 1.5us}
  device: h100)";
  const core::Platform direct = platform_from(nodes);
  EXPECT_EQ(direct.nic_of(0), 0);
  EXPECT_EQ(direct.nic_of(1), 0);
  EXPECT_EQ(direct.nic_of(2), 1);
  EXPECT_EQ(direct.nic_of(7), 3);  // node 1's second NIC
  EXPECT_EQ(direct.nic_of(8), 4);
  expect_path(nodes, 1, 6, 2 * 1.5e-6, 100e9);
  const auto shared = direct.path(1, 6, 2, 4);  // 2 flows out of GPU 1's NIC, 4 into GPU 6's
  EXPECT_DOUBLE_EQ(shared->bandwidth, 100e9 / 8 / 4);
  EXPECT_DOUBLE_EQ(shared->latency, 2 * 1.5e-6);
  EXPECT_DOUBLE_EQ(direct.path(0, 1, 2, 4)->bandwidth, 450e9 / 4);  // inside a node: the NVLink ports
  EXPECT_EQ(direct.describe(),
            "gpu-nodes: 4 nodes × 4 GPUs, NVLink 3.6 Tbps / 700 ns per GPU, 2 NICs of 100 Gbps / 1.5 us per "
            "node, each shared by 2 GPUs; H100-SXM5-80GB");
  expect_routes_match(nodes);
}

TEST(SimPlatform, GpusReachTheirNicOverPcie) {
  const char* yaml = R"(
platform:
  topology: gpu-nodes
  nodes: 4
  gpus_per_node: 4
  nics_per_node: 1
  gpu_to_nic: pcie
  pcie: {bandwidth: 8GBps, latency: 1us}
  nvlink: {bandwidth: 450GBps, latency: 700ns}
  nic: {bandwidth: 100Gbps, latency: 1.5us}
  fabric: {nodes_per_leaf: 2, spines: 1, oversubscription: 1, spine_latency: 500ns}
  device: h100)";
  // Two PCIe links, two NIC links and, across leaves, two spine hops; the PCIe link is the bottleneck.
  expect_path(yaml, 0, 5, 2e-6 + 3e-6, 64e9);
  expect_path(yaml, 0, 9, 2e-6 + 3e-6 + 1e-6, 64e9);
  expect_path(yaml, 0, 3, 1.4e-6, 3600e9);  // inside a node: NVLink only
  // A leaf's uplink carries its 2 nodes' single NICs (oversubscription 1).
  const core::Platform platform = platform_from(yaml);
  EXPECT_DOUBLE_EQ(std::get<core::GpuNodesTopology>(platform.topology).fabric.leaf_uplink_bandwidth(),
                   2 * 100e9 / 8);
  expect_routes_match(yaml);
}

TEST(SimPlatform, GpusReachTheirNicThroughTheNodeSwitch) {
  const char* yaml = R"(
platform:
  topology: gpu-nodes
  nodes: 2
  gpus_per_node: 8
  nics_per_node: 1
  gpu_to_nic: nvlink
  nvlink: {bandwidth: 10GBps, latency: 700ns}
  nic: {bandwidth: 400Gbps, latency: 1.5us}
  device: h100)";
  expect_path(yaml, 3, 12, 2 * 0.7e-6 + 2 * 1.5e-6, 80e9);  // the NVLink port is the bottleneck
  EXPECT_EQ(
      platform_from(yaml).describe(),
      "gpu-nodes: 2 nodes × 8 GPUs, NVLink 80 Gbps / 700 ns per GPU, 1 NIC of 400 Gbps / 1.5 us per node, "
      "each shared by 8 GPUs through the node switch; H100-SXM5-80GB");
  expect_routes_match(yaml);
}

TEST(SimPlatform, BadLinkAndDeviceFieldsAreNamed) {
  const auto message = [](const std::string& yaml) {
    try {
      platform_from(yaml);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(
      message("platform: {topology: star, hosts: 2, link: {up: 1Gbps, latency: 1us}, device: cpu}"),
      "p.yaml:1: field 'platform.link': give either 'bandwidth' (both directions) or both 'up' and 'down'");
  EXPECT_EQ(
      message("platform: {topology: star, hosts: 2, link: {bandwidth: 1Gbps, up: 1Gbps, down: 2Gbps, "
              "latency: 1us}, device: cpu}"),
      "p.yaml:1: field 'platform.link': give either 'bandwidth' (both directions) or both 'up' and 'down'");
  EXPECT_EQ(
      message("platform: {topology: star, hosts: 4, link: {bandwidth: 1Gbps, latency: 1us}, device: cpu, "
              "host_devices: {\"1-5\": h100}}"),
      "p.yaml:1: field 'platform.host_devices.1-5': host 5 does not exist (the platform has 4)");
  EXPECT_EQ(
      message("platform: {topology: star, hosts: 4, link: {bandwidth: 1Gbps, latency: 1us}, device: cpu, "
              "host_devices: {\"1-2\": h100, 2: a100}}"),
      "p.yaml:1: field 'platform.host_devices.2': host 2 is given twice");
  const std::string nodes =
      "platform: {topology: gpu-nodes, nodes: 2, gpus_per_node: 8, nvlink: {bandwidth: 450GBps, latency: "
      "1us}, "
      "nic: {bandwidth: 100Gbps, latency: 1us}, device: h100";
  EXPECT_EQ(
      message(nodes + ", nics_per_node: 3}"),
      "p.yaml:1: field 'platform.nics_per_node': must divide gpus_per_node (8): each NIC serves the same "
      "number of GPUs");
  EXPECT_EQ(message(nodes + ", gpu_to_nic: pci}"),
            "p.yaml:1: field 'platform.gpu_to_nic': unknown way 'pci' (known: direct, nvlink, pcie)");
  EXPECT_EQ(message(nodes + ", gpu_to_nic: pcie}"), "p.yaml:1: field 'platform.pcie': missing (required)");
  EXPECT_EQ(message(nodes + ", pcie: {bandwidth: 32GBps, latency: 1us}}"),
            "p.yaml:1: field 'platform.pcie': is used only with 'gpu_to_nic: pcie'");
  const core::Platform mixed = platform_from(
      "platform: {topology: star, hosts: 4, link: {bandwidth: 1Gbps, latency: 1us}, device: cpu, "
      "host_devices: {\"2-3\": h100}}");
  EXPECT_EQ(mixed.device_of(1).name, "generic-cpu-2core");
  EXPECT_EQ(mixed.device_of(2).name, "H100-SXM5-80GB");
  EXPECT_EQ(mixed.device_of(3).name, "H100-SXM5-80GB");
  EXPECT_EQ(mixed.describe_devices(), "generic-cpu-2core ×2, H100-SXM5-80GB ×2");
}

}  // namespace
}  // namespace dmlsim
