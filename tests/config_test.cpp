// Loaders: every error names file:line and the field.
#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/platform.hpp"

namespace dmlsim::core {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    const ConfigNode root = ConfigNode::load_string(yaml, "test.yaml");
    parse_platform(root.at("platform"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(PlatformLoader, Star) {
  const ConfigNode root = ConfigNode::load_string(R"(
platform:
  topology: star
  hosts: 16
  link: {bandwidth: 25Gbps, latency: 1us}
  device: h100
)",
                                                  "star.yaml");
  const Platform p = parse_platform(root.at("platform"));
  EXPECT_EQ(p.host_count(), 16);
  EXPECT_EQ(p.name, "star");
  const auto path = p.path(0, 5);
  ASSERT_TRUE(path);
  EXPECT_DOUBLE_EQ(path->latency, 2e-6);
  EXPECT_DOUBLE_EQ(path->bandwidth, 25e9 / 8);
  EXPECT_EQ(p.device.name, "H100-SXM5-80GB");
}

TEST(PlatformLoader, FatTreeOversubscriptionSetsSpineLinks) {
  const ConfigNode root = ConfigNode::load_string(R"(
platform:
  topology: fat-tree
  hosts: 32
  hosts_per_leaf: 8
  spines: 2
  host_link: {bandwidth: 100Gbps, latency: 1us}
  oversubscription: 2
  spine_latency: 500ns
  device: a100
)",
                                                  "ft.yaml");
  const Platform p = parse_platform(root.at("platform"));
  const auto& f = std::get<FatTreeTopology>(p.topology);
  EXPECT_EQ(f.tree.leaves, 4);
  // 8 hosts × 100 Gbps down, 2:1 → 400 Gbps up over 2 spines = 200 Gbps each.
  EXPECT_DOUBLE_EQ(f.tree.spine_link.bandwidth, 200e9 / 8);
  EXPECT_DOUBLE_EQ(p.path(0, 7)->latency, 2e-6);
  EXPECT_DOUBLE_EQ(p.path(0, 8)->latency, 3e-6);
}

TEST(PlatformLoader, GpuNodes) {
  const ConfigNode root = ConfigNode::load_string(R"(
platform:
  topology: gpu-nodes
  nodes: 8
  gpus_per_node: 8
  nvlink: {bandwidth: 450GBps, latency: 700ns}
  nic: {bandwidth: 400Gbps, latency: 1.5us}
  device: h100
)",
                                                  "g.yaml");
  const Platform p = parse_platform(root.at("platform"));
  EXPECT_EQ(p.host_count(), 64);
  EXPECT_EQ(p.devices_per_node(), 8);
  EXPECT_DOUBLE_EQ(p.path(0, 7)->bandwidth, 450e9);
  EXPECT_DOUBLE_EQ(p.path(0, 8)->bandwidth, 50e9);
  EXPECT_DOUBLE_EQ(p.path(0, 8)->latency, 3e-6);
}

TEST(PlatformLoader, MissingFieldNamesFileLineAndField) {
  const std::string e = error_of("platform:\n  topology: star\n  hosts: 4\n  device: h100\n");
  EXPECT_EQ(e, "test.yaml:2: field 'platform.link': missing (required)");
}

TEST(PlatformLoader, BadUnitNamesTheField) {
  const std::string e = error_of(
      "platform:\n  topology: star\n  hosts: 4\n  link: {bandwidth: 25Gbs, latency: 1us}\n  device: h100\n");
  EXPECT_NE(e.find("test.yaml:4: field 'platform.link.bandwidth': '25Gbs' has an unknown bandwidth unit"),
            std::string::npos)
      << e;
}

TEST(PlatformLoader, UnknownTopology) {
  const std::string e = error_of("platform:\n  topology: hypercube\n  device: h100\n");
  EXPECT_NE(e.find("test.yaml:2: field 'platform.topology': unknown topology 'hypercube'"), std::string::npos)
      << e;
}

TEST(PlatformLoader, MisspeltFieldGetsASuggestion) {
  const std::string e = error_of(
      "platform:\n  topology: star\n  hosts: 4\n  link: {bandwith: 25Gbps, latency: 1us}\n  device: h100\n");
  EXPECT_NE(e.find("field 'platform.link.bandwith': unknown field (did you mean 'bandwidth'?)"),
            std::string::npos)
      << e;
}

TEST(PlatformLoader, UnknownDevice) {
  const std::string e = error_of(
      "platform:\n  topology: star\n  hosts: 4\n  link: {bandwidth: 1Gbps, latency: 1us}\n  device: tpu\n");
  EXPECT_NE(e.find("test.yaml:5: field 'platform.device': unknown device 'tpu'"), std::string::npos) << e;
}

TEST(PlatformLoader, YamlSyntaxError) {
  const std::string e = error_of("platform:\n  topology: [star\n");
  // yaml-cpp notices the unclosed sequence at the end of the text, line 3.
  EXPECT_NE(e.find("test.yaml:3: YAML syntax error"), std::string::npos) << e;
}

TEST(ExperimentLoader, RanksMustFitThePlatform) {
  try {
    const ConfigNode root = ConfigNode::load_string(R"(
experiment:
  platform:
    topology: star
    hosts: 4
    link: {bandwidth: 1Gbps, latency: 1us}
    device: cpu
  ranks: 8
  strategy: {type: collective}
)",
                                                    "exp.yaml");
    parse_experiment(root.at("experiment"));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("exp.yaml:8: field 'experiment.ranks': 8 ranks do not fit"),
              std::string::npos)
        << e.what();
  }
}

TEST(ExperimentLoader, NonexistentPlatformFile) {
  try {
    const ConfigNode root = ConfigNode::load_string(
        "experiment:\n  platform: does-not-exist.yaml\n  strategy: {type: collective}\n", "dir/exp.yaml");
    parse_experiment(root.at("experiment"));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "dir/exp.yaml:2: field 'experiment.platform': file 'dir/does-not-exist.yaml' "
                  "does not exist"),
              std::string::npos)
        << e.what();
  }
}

TEST(ExperimentLoader, NonexistentFile) {
  try {
    load_experiment("no/such/experiment.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "no/such/experiment.yaml: no such file");
  }
}

}  // namespace
}  // namespace dmlsim::core
