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
