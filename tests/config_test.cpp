// Loaders: every error names file:line and the field.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/model.hpp"
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

TEST(PlatformLoader, OversubscriptionMustBeFinitePositive) {
  for (const char* ratio : {".nan", ".inf", "0", "-2"}) {
    const std::string e = error_of(fmt::format(
        "platform:\n  topology: fat-tree\n  hosts: 4\n  hosts_per_leaf: 2\n  spines: 1\n"
        "  host_link: {{bandwidth: 1Gbps, latency: 1us}}\n  oversubscription: {}\n  device: cpu\n",
        ratio));
    EXPECT_NE(e.find("test.yaml:7: field 'platform.oversubscription': "), std::string::npos)
        << ratio << ": " << e;
  }
}

TEST(PlatformLoader, DeviceEfficiencyMustBeInUnitInterval) {
  for (const char* eff : {".nan", ".inf", "0", "1.5"}) {
    const std::string e = error_of(fmt::format(
        "platform:\n  topology: star\n  hosts: 2\n  link: {{bandwidth: 1Gbps, latency: 1us}}\n  device:\n"
        "    name: d\n    peak: {{fp32: 1TFLOPS}}\n    memory_bandwidth: 1TBps\n    memory: 1GB\n"
        "    efficiency: {{compute: {}}}\n",
        eff));
    EXPECT_NE(e.find("test.yaml:10: field 'platform.device.efficiency.compute': "), std::string::npos)
        << eff << ": " << e;
  }
}

std::string model_error_of(const std::string& yaml) {
  try {
    const ConfigNode root = ConfigNode::load_string(yaml, "model.yaml");
    parse_model(root.at("model"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string layers_model(const std::string& parameters, const std::string& kernel) {
  return fmt::format(
      "model:\n  type: layers\n  layers:\n    - name: l\n      parameters: {}\n"
      "      forward: [{}]\n",
      parameters, kernel);
}

TEST(ModelLoader, LayersRejectNegativeAndNonFiniteNumbers) {
  EXPECT_NE(model_error_of(layers_model("10", "{gemm: [4, -8, 2]}"))
                .find("model.yaml:6: field 'model.layers[0].forward[0].gemm[1]': -8 is out of range [1, "),
            std::string::npos)
      << model_error_of(layers_model("10", "{gemm: [4, -8, 2]}"));
  EXPECT_NE(model_error_of(layers_model("-1000", "{gemm: [4, 8, 2]}"))
                .find("model.yaml:5: field 'model.layers[0].parameters': -1000 is out of range [0, "),
            std::string::npos);
  for (const char* flops : {".nan", ".inf", "-1"}) {
    const std::string e =
        model_error_of(layers_model("10", fmt::format("{{elementwise: 8, flops_per_element: {}}}", flops)));
    EXPECT_NE(e.find("model.yaml:6: field 'model.layers[0].forward[0].flops_per_element': "),
              std::string::npos)
        << flops << ": " << e;
  }
  EXPECT_EQ(model_error_of(layers_model("0", "{elementwise: 8, flops_per_element: 0}")), "");
}

std::string experiment_error_of(const std::string& slowdown) {
  try {
    const ConfigNode root = ConfigNode::load_string(
        "experiment:\n  platform: {topology: star, hosts: 4, link: {bandwidth: 1Gbps, latency: 1us}, device: "
        "cpu}\n"
        "  strategy: {type: collective}\n  slowdown: " +
            slowdown + "\n",
        "exp.yaml");
    parse_experiment(root.at("experiment"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ExperimentLoader, SlowdownMustBeFinitePositive) {
  for (const char* factor : {".nan", ".inf", "-.inf", "0", "-1"}) {
    const std::string e = experiment_error_of(fmt::format("{{3: {}}}", factor));
    EXPECT_NE(e.find("exp.yaml:4: field 'experiment.slowdown.3': "), std::string::npos)
        << factor << ": " << e;
  }
  EXPECT_EQ(experiment_error_of("{3: 2.5}"), "");
}

TEST(ExperimentLoader, SlowdownKeysAreWholeRankNumbers) {
  for (const char* key : {"3x", "x3", "1.5", "99999999999", " 3"}) {
    const std::string e = experiment_error_of(fmt::format("{{'{}': 2}}", key));
    EXPECT_NE(e.find("exp.yaml:4: field 'experiment.slowdown."), std::string::npos) << key << ": " << e;
    EXPECT_NE(e.find("is not a rank number"), std::string::npos) << key << ": " << e;
  }
  EXPECT_NE(experiment_error_of("{4: 2}").find("rank 4 does not exist (4 ranks)"), std::string::npos);
}

std::string set_error_of(const std::string& field, const std::string& value) {
  try {
    ConfigNode root = ConfigNode::load_string(
        "experiment:\n  name: x\n  platform: {topology: star, hosts: 4, link: {bandwidth: 1Gbps, latency: "
        "1us}, "
        "device: cpu}\n  strategy: {type: collective, size: 1MiB}\n",
        "exp.yaml");
    root.set("experiment." + field, value);
    parse_experiment(root.at("experiment"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ExperimentLoader, SetErrorsSayFromSetAndNameTheField) {
  // Mappings an override creates on its way down are not in the file either.
  EXPECT_EQ(set_error_of("nosuch.x", "1").substr(0, 57),
            "exp.yaml: field 'experiment.nosuch' (from --set): unknown");
  EXPECT_EQ(set_error_of("strategy", "~"),
            "exp.yaml: field 'experiment.strategy' (from --set): missing (required)");
  EXPECT_NE(set_error_of("a..b", "1").find("empty field name"), std::string::npos)
      << set_error_of("a..b", "1");
  // Below a mapping of the file too.
  EXPECT_NE(
      set_error_of("platform.nosuch", "1").find("exp.yaml: field 'experiment.platform.nosuch' (from --set)"),
      std::string::npos)
      << set_error_of("platform.nosuch", "1");
  EXPECT_EQ(set_error_of("strategy.size", "2MiB"), "");
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

// `ranks` counts the ranks that train, in `run` and in `compare` alike; a parameter server's
// dedicated servers are ranks of their own after them (colocated ones live in their workers').
TEST(ExperimentLoader, DedicatedServersAreRanksAfterTheTrainingRanks) {
  const auto load = [](const std::string& fields) {
    return parse_experiment(
        ConfigNode::load_string(
            "experiment:\n  platform: {topology: star, hosts: 8, link: {bandwidth: 1Gbps, "
            "latency: 1us}, device: cpu}\n" +
                fields,
            "exp.yaml")
            .at("experiment"));
  };
  const Experiment dedicated = load("  ranks: 4\n  strategy: {type: parameter-server, servers: 2}\n");
  EXPECT_EQ(dedicated.ranks, 6);
  EXPECT_EQ(dedicated.service_ranks, 2);
  EXPECT_EQ(dedicated.training_ranks(), 4);
  EXPECT_EQ(dedicated.mesh.ranks(), 4);
  EXPECT_EQ(dedicated.placement, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  // Without `ranks`, the workers take the hosts the servers leave; one server by default.
  EXPECT_EQ(load("  strategy: {type: parameter-server, servers: 3}\n").training_ranks(), 5);
  EXPECT_EQ(load("  strategy: {type: parameter-server}\n").ranks, 8);
  EXPECT_EQ(load("  strategy: {type: parameter-server}\n").training_ranks(), 7);
  const Experiment colocated =
      load("  ranks: 4\n  strategy: {type: parameter-server, servers: 2, server_placement: colocated}\n");
  EXPECT_EQ(colocated.ranks, 4);
  EXPECT_EQ(colocated.service_ranks, 0);
  EXPECT_EQ(load("  ranks: 4\n  strategy: {type: data-parallel}\n").ranks, 4);
  const auto error = [&](const std::string& fields) {
    try {
      load(fields);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("  ranks: 7\n  strategy: {type: parameter-server, servers: 2}\n"),
            "exp.yaml:3: field 'experiment.ranks': 7 ranks and 2 dedicated servers (strategy.servers) need 9 "
            "hosts; platform 'star' has 8 (one rank per host)");
  EXPECT_EQ(error("  strategy: {type: parameter-server, servers: 8}\n"),
            "exp.yaml:3: field 'experiment.strategy.servers': 8 dedicated servers leave no host of platform "
            "'star' (8 hosts) to train");
  EXPECT_EQ(error("  ranks: 2\n  placement: [0, 1]\n  strategy: {type: parameter-server}\n"),
            "exp.yaml:4: field 'experiment.placement': lists 2 hosts for 2 ranks and 1 dedicated server "
            "(strategy.servers), servers last");
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
