// Per-host link exceptions (`host_links`) of the star and fat-tree topologies: the SimGrid routes
// built from them have the latency and bandwidth Platform::path() promises, and bad entries are
// reported with file, line and field.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/platform.hpp"
#include "route_check.hpp"

namespace dmlsim {
namespace {

core::Platform platform_from(const std::string& yaml) {
  return core::parse_platform(core::ConfigNode::load_string(yaml, "p.yaml").at("platform"));
}

using testing::expect_routes_match;

TEST(HostLinks, StarRoutesUseTheOverriddenLinks) {
  const core::Platform p = platform_from(R"(
platform:
  topology: star
  hosts: 5
  link: {bandwidth: 10Gbps, latency: 1us}
  host_links: {3: {bandwidth: 1Gbps, latency: 10us}, 0: {bandwidth: 40Gbps, latency: 500ns}}
  device: cpu)");
  // Host 3 ↔ host 1: 10 µs + 1 µs, bottleneck host 3's 1 Gbit/s; host 0 ↔ host 1: 0.5 + 1 µs, 10 Gbit/s.
  EXPECT_DOUBLE_EQ(p.path(3, 1)->latency, 11e-6);
  EXPECT_DOUBLE_EQ(p.path(3, 1)->bandwidth, 1e9 / 8);
  EXPECT_DOUBLE_EQ(p.path(0, 1)->latency, 1.5e-6);
  EXPECT_DOUBLE_EQ(p.path(0, 1)->bandwidth, 10e9 / 8);
  EXPECT_DOUBLE_EQ(p.path(1, 2)->latency, 2e-6);
  expect_routes_match(p);
}

TEST(HostLinks, FatTreeRoutesUseTheOverriddenLinks) {
  const core::Platform p = platform_from(R"(
platform:
  topology: fat-tree
  hosts: 8
  hosts_per_leaf: 4
  spines: 2
  host_link: {bandwidth: 100Gbps, latency: 1us}
  host_links: {5: {bandwidth: 25Gbps, latency: 3us}}
  spine_link: {bandwidth: 40Gbps, latency: 300ns}
  device: cpu)");
  // Host 5 ↔ host 0 crosses the spines: 3 + 1 + 2·0.3 µs; bottleneck host 5's 25 Gbit/s.
  EXPECT_DOUBLE_EQ(p.path(5, 0)->latency, 4.6e-6);
  EXPECT_DOUBLE_EQ(p.path(5, 0)->bandwidth, 25e9 / 8);
  expect_routes_match(p);
}

TEST(HostLinks, OversubscriptionFromARatioCountsTheDefaultHostLink) {
  const core::Platform p = platform_from(R"(
platform:
  topology: fat-tree
  hosts: 8
  hosts_per_leaf: 4
  spines: 2
  host_link: {bandwidth: 100Gbps, latency: 1us}
  host_links: {5: {bandwidth: 25Gbps, latency: 3us}}
  oversubscription: 8
  spine_latency: 300ns
  device: cpu)");
  // Each leaf's uplink is 4 × 100 Gbit/s / 8 = 50 Gbit/s, host 5's slower link notwithstanding
  // (counting it would give (3 × 100 + 25) / 8 = 40.6 Gbit/s for leaf 1).
  EXPECT_DOUBLE_EQ(p.path(6, 1)->bandwidth, 50e9 / 8);
  EXPECT_DOUBLE_EQ(p.path(6, 1)->latency, 2.6e-6);
  EXPECT_DOUBLE_EQ(p.path(5, 1)->bandwidth, 25e9 / 8);
  expect_routes_match(p);
}

TEST(HostLinks, BadEntriesNameFileLineAndField) {
  const auto message = [](const std::string& yaml) {
    try {
      platform_from(yaml);
    } catch (const core::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(R"(
platform:
  topology: star
  hosts: 4
  link: {bandwidth: 10Gbps, latency: 1us}
  host_links: {7: {bandwidth: 1Gbps, latency: 1us}}
  device: cpu)"),
            "p.yaml:6: field 'platform.host_links.7': host 7 does not exist (the platform has 4)");
  EXPECT_EQ(message(R"(
platform:
  topology: star
  hosts: 4
  link: {bandwidth: 10Gbps, latency: 1us}
  host_links: {first: {bandwidth: 1Gbps, latency: 1us}}
  device: cpu)"),
            "p.yaml:6: field 'platform.host_links.first': key 'first': keys are host numbers or ranges such "
            "as 4-7");
  const std::string star =
      "platform:\n  topology: star\n  hosts: 4\n  link: {bandwidth: 10Gbps, latency: 1us}\n"
      "  device: cpu\n  sites:\n";
  EXPECT_EQ(
      message(star + "    eu: {uplink: {bandwidth: 1Gbps, latency: 1ms}, hosts: [0, 4], aggregator: 0}"),
      "p.yaml:7: field 'platform.sites.eu.hosts[1]': host 4 does not exist (the star has 4)");
  EXPECT_EQ(
      message(star + "    eu: {uplink: {bandwidth: 1Gbps, latency: 1ms}, hosts: [0, 1], aggregator: 0}\n"
                     "    us: {uplink: {bandwidth: 1Gbps, latency: 1ms}, hosts: [1, 2], aggregator: 2}"),
      "p.yaml:8: field 'platform.sites.us.hosts[0]': host 1 is in site 'eu' already");
  EXPECT_EQ(
      message(star + "    eu: {uplink: {bandwidth: 1Gbps, latency: 1ms}, hosts: [0, 1], aggregator: 3}"),
      "p.yaml:7: field 'platform.sites.eu.aggregator': host 3 is not one of the site's hosts");
  EXPECT_NE(message(star + "    eu: {uplink: {bandwidth: 1Gbps}, hosts: [0, 1], aggregator: 1}")
                .find("p.yaml:7: field 'platform.sites.eu.uplink"),
            std::string::npos);
  EXPECT_NE(message(star + "    eu: {uplink: {bandwidth: 1Gbps, latency: 1ms}, hosts: [0], aggregator: 0, "
                           "wan: 1}")
                .find("p.yaml:7: field 'platform.sites.eu.wan'"),
            std::string::npos);
  EXPECT_NE(message(R"(
platform:
  topology: fat-tree
  hosts: 4
  host_link: {bandwidth: 10Gbps, latency: 1us}
  host_links: {1: {bandwidth: fast, latency: 1us}}
  device: cpu)")
                .find("p.yaml:6: field 'platform.host_links.1.bandwidth'"),
            std::string::npos);
}

}  // namespace
}  // namespace dmlsim
