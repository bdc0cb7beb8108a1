// The SimGrid platforms built from YAML topologies route every pair of hosts over the links the
// analytic model of core::Platform::path describes (same latency, same bottleneck bandwidth).
#include <gtest/gtest.h>

#include <simgrid/s4u.hpp>

#include "core/platform.hpp"
#include "sim/platform_builder.hpp"

namespace dmlsim {
namespace {

namespace sg = simgrid::s4u;

void expect_routes_match(const std::string& yaml) {
  int argc = 2;
  char name[] = "test";
  char quiet[] = "--log=root.thres:warning";
  char* argv[] = {name, quiet, nullptr};
  sg::Engine engine(&argc, argv);
  const core::Platform platform =
      core::parse_platform(core::ConfigNode::load_string(yaml, "p.yaml").at("platform"));
  const auto hosts = sim::build_platform(engine, platform);
  ASSERT_EQ(static_cast<int>(hosts.size()), platform.host_count());
  for (int a = 0; a < platform.host_count(); ++a) {
    for (int b = 0; b < platform.host_count(); ++b) {
      if (a == b) continue;
      std::vector<sg::Link*> links;
      double latency = 0;
      hosts[a]->route_to(hosts[b], links, &latency);
      double bandwidth = 1e300;
      for (const sg::Link* l : links) bandwidth = std::min(bandwidth, l->get_bandwidth());
      const core::PathParams expected = *platform.path(a, b);
      ASSERT_DOUBLE_EQ(latency, expected.latency) << a << " -> " << b;
      ASSERT_DOUBLE_EQ(bandwidth, expected.bandwidth) << a << " -> " << b;
    }
  }
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
