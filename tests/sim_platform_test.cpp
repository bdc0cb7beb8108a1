// The SimGrid platforms built from YAML topologies route every pair of hosts over the links the
// analytic model of core::Platform::path describes (same latency, same bottleneck bandwidth).
#include <gtest/gtest.h>

#include "core/platform.hpp"
#include "route_check.hpp"

namespace dmlsim {
namespace {

void expect_routes_match(const std::string& yaml) {
  testing::expect_routes_match(
      core::parse_platform(core::ConfigNode::load_string(yaml, "p.yaml").at("platform")));
}

TEST(SimPlatform, Star) {
  expect_routes_match(R"(
platform: {topology: star, hosts: 5, link: {bandwidth: 10Gbps, latency: 1us}, device: cpu})");
}

TEST(SimPlatform, FatTree) {
  expect_routes_match(R"(
platform:
  topology: fat-tree
  hosts: 12
  hosts_per_leaf: 4
  spines: 2
  host_link: {bandwidth: 100Gbps, latency: 1us}
  spine_link: {bandwidth: 40Gbps, latency: 300ns}
  device: cpu)");
}

TEST(SimPlatform, GpuNodesOnOneSwitch) {
  expect_routes_match(R"(
platform:
  topology: gpu-nodes
  nodes: 3
  gpus_per_node: 4
  nvlink: {bandwidth: 450GBps, latency: 700ns}
  nic: {bandwidth: 400Gbps, latency: 1.5us}
  device: h100)");
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

}  // namespace
}  // namespace dmlsim
