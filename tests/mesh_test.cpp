// The device mesh: coordinates and groups of every dimension for a rank order, and the
// `parallelism` block's errors naming file, line and field.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/mesh.hpp"

namespace dmlsim::core {
namespace {

std::vector<int> members(const Group& g) {
  std::vector<int> out;
  for (int i = 0; i < g.size(); ++i) out.push_back(g.at(i));
  return out;
}

// dp 2 × tp 4 × pp 2 in order tp-dp-pp: rank = tp + 4·dp + 8·pp (Megatron-LM's layout).
TEST(Mesh, CoordinatesAndGroupsFollowTheOrderFastestFirst) {
  const Mesh m({{"tp", 4}, {"dp", 2}, {"pp", 2}});
  EXPECT_EQ(m.ranks(), 16);
  EXPECT_EQ(m.order(), "tp-dp-pp");
  EXPECT_EQ(m.describe(), "dp 2 × tp 4 × pp 2 (order tp-dp-pp)");
  for (int r = 0; r < 16; ++r) {
    const int tp = r % 4, dp = r / 4 % 2, pp = r / 8;
    EXPECT_EQ(m.coordinate(r, "tp"), tp);
    EXPECT_EQ(m.coordinate(r, "dp"), dp);
    EXPECT_EQ(m.coordinate(r, "pp"), pp);
    EXPECT_EQ(m.coordinate(r, "ep"), 0) << "a dimension the mesh lacks";
    const int c[] = {tp, dp, pp};
    EXPECT_EQ(m.rank_at(c), r);
    // Each group: the ranks that differ only along that dimension, in coordinate order.
    std::vector<int> tp_group, dp_group, pp_group;
    for (int i = 0; i < 4; ++i) tp_group.push_back(i + 4 * dp + 8 * pp);
    for (int i = 0; i < 2; ++i) dp_group.push_back(tp + 4 * i + 8 * pp);
    for (int i = 0; i < 2; ++i) pp_group.push_back(tp + 4 * dp + 8 * i);
    EXPECT_EQ(members(m.group("tp", r)), tp_group) << r;
    EXPECT_EQ(members(m.group("dp", r)), dp_group) << r;
    EXPECT_EQ(members(m.group("pp", r)), pp_group) << r;
    EXPECT_EQ(members(m.group("ep", r)), std::vector<int>{r});
    EXPECT_EQ(m.group("tp", r).index_of(r), tp);
  }
  // The tp groups partition the ranks.
  std::set<std::vector<int>> tp_groups;
  for (int r = 0; r < 16; ++r) tp_groups.insert(members(m.group("tp", r)));
  EXPECT_EQ(tp_groups.size(), 4u);
}

// summary.json states the mesh as {"dp": 2, "tp": 4, "pp": 2, "order": "tp-dp-pp"}; the GUI reads it
// back and labels each rank with its coordinates along the dimensions larger than 1.
TEST(Mesh, RoundTripsThroughSummaryJsonAndLabelsCoordinates) {
  const Mesh m({{"tp", 4}, {"dp", 2}, {"cp", 1}, {"pp", 2}});
  const nlohmann::json j = to_json(m);
  EXPECT_EQ(j, nlohmann::json::parse(R"({"tp": 4, "dp": 2, "cp": 1, "pp": 2, "order": "tp-dp-cp-pp"})"));
  const Mesh back = mesh_from_json(j);
  EXPECT_EQ(back.order(), m.order());
  EXPECT_EQ(back.ranks(), 16);
  EXPECT_EQ(m.coordinates_label(0), "dp 0 · tp 0 · pp 0");
  EXPECT_EQ(m.coordinates_label(13), "dp 1 · tp 1 · pp 1") << "13 = 1 + 4·1 + 8·1";
  EXPECT_EQ(m.coordinates_label(6), "dp 1 · tp 2 · pp 0");
  EXPECT_EQ(Mesh::data_parallel(8).coordinates_label(5), "dp 5");
  EXPECT_EQ(Mesh::data_parallel(1).coordinates_label(0), "");

  const char* bad[] = {
      R"([1, 2])",                                // not an object
      R"({"dp": 2})",                             // no order
      R"({"dp": 2, "order": "dp-tp"})",           // a dimension without a size
      R"({"dp": 2, "tp": 2, "order": "dp"})",     // a size the order leaves out
      R"({"dp": "2", "order": "dp"})",            // not an integer
      R"({"dp": 2, "xx": 2, "order": "dp-xx"})",  // not a dimension
      R"({"dp": 0, "order": "dp"})",              // empty
  };
  for (const char* text : bad) EXPECT_THROW(mesh_from_json(nlohmann::json::parse(text)), ValueError) << text;
}

TEST(Mesh, ExperimentWithoutParallelismIsDataParallelOverEveryRank) {
  const Experiment e = parse_experiment(ConfigNode::load_string(R"(experiment:
  platform: {topology: star, hosts: 8, link: {bandwidth: 10Gbps, latency: 1us}, device: h100}
  strategy: {type: collective, size: 1MiB}
)",
                                                                "e.yaml")
                                            .at("experiment"));
  EXPECT_EQ(e.mesh.ranks(), 8);
  EXPECT_EQ(e.mesh.size("dp"), 8);
  EXPECT_EQ(e.mesh.order(), "dp");
}

TEST(Mesh, ParallelismBlockGivesTheRanksAndTheOrder) {
  const Experiment e = parse_experiment(ConfigNode::load_string(R"(experiment:
  platform: {topology: star, hosts: 32, link: {bandwidth: 10Gbps, latency: 1us}, device: h100}
  parallelism: {dp: 2, tp: 4, pp: 2, order: pp-tp-dp}
  strategy: {type: collective, size: 1MiB}
)",
                                                                "e.yaml")
                                            .at("experiment"));
  EXPECT_EQ(e.ranks, 16);
  EXPECT_EQ(e.mesh.order(), "pp-tp-dp");
  EXPECT_EQ(e.mesh.coordinate(5, "tp"), 2);  // 5 = pp 1 + 2·tp 2 + 8·dp 0
  EXPECT_EQ(e.mesh.coordinate(5, "pp"), 1);
  // Without an order: tp fastest, then dp, then pp.
  const Experiment d = parse_experiment(ConfigNode::load_string(R"(experiment:
  platform: {topology: star, hosts: 32, link: {bandwidth: 10Gbps, latency: 1us}, device: h100}
  parallelism: {pp: 2, dp: 2, tp: 4}
  strategy: {type: collective, size: 1MiB}
)",
                                                                "e.yaml")
                                            .at("experiment"));
  EXPECT_EQ(d.mesh.order(), "tp-dp-pp");
}

std::string experiment_error(const std::string& parallelism, const std::string& ranks = "") {
  try {
    parse_experiment(
        ConfigNode::load_string(fmt::format(R"(experiment:
  platform: {{topology: star, hosts: 16, link: {{bandwidth: 10Gbps, latency: 1us}}, device: h100}}
  {}
  parallelism: {}
  strategy: {{type: collective, size: 1MiB}}
)",
                                            ranks.empty() ? "iterations: 1" : "ranks: " + ranks, parallelism),
                                "e.yaml")
            .at("experiment"));
  } catch (const ConfigError& err) {
    return err.what();
  }
  return "";
}

TEST(Mesh, BadParallelismNamesFileLineAndField) {
  EXPECT_EQ(
      experiment_error("{dp: 2, tp: 4}", "16"),
      "e.yaml:4: field 'experiment.parallelism': dp 2 × tp 4 (order tp-dp) has 8 ranks, the experiment 16");
  EXPECT_EQ(experiment_error("{dp: 4, tp: 8}"),
            "e.yaml:4: field 'experiment.parallelism': dp 4 × tp 8 (order tp-dp) needs 32 ranks; platform "
            "'star' has "
            "16 hosts (one rank per host)");
  EXPECT_EQ(experiment_error("{dp: 2, xp: 4}"),
            "e.yaml:4: field 'experiment.parallelism.xp': unknown field (did you mean 'tp'?)");
  EXPECT_EQ(experiment_error("{dp: 0}"),
            "e.yaml:4: field 'experiment.parallelism.dp': 0 is out of range [1, 1048576]");
  EXPECT_EQ(
      experiment_error("{dp: 2, tp: 2, order: tp-pp}"),
      "e.yaml:4: field 'experiment.parallelism.order': 'pp' is not a dimension of this mesh (give its size)");
  EXPECT_EQ(
      experiment_error("{dp: 2, tp: 2, order: tp}"),
      "e.yaml:4: field 'experiment.parallelism.order': orders 1 of the 2 dimensions given; list them all, "
      "fastest first");
  EXPECT_EQ(experiment_error("{dp: 2, tp: 2, order: tp-tp}"),
            "e.yaml:4: field 'experiment.parallelism.order': 'tp' appears twice");
  EXPECT_EQ(experiment_error("{dp: 2, order: dp-zz}"),
            "e.yaml:4: field 'experiment.parallelism.order': unknown parallel dimension 'zz' (known: tp, cp, "
            "ep, dp, "
            "pp)");
  EXPECT_EQ(experiment_error("{order: dp}"),
            "e.yaml:4: field 'experiment.parallelism': names no dimension (known: tp, cp, ep, dp, pp)");
}

TEST(Group, EqualMembersMakeEqualGroupsWhicheverWayTheyWereMade) {
  EXPECT_EQ(Group::of({0, 1, 2, 3}), Group::world(4));
  EXPECT_EQ(Group::of({1, 3, 5}), Group::strided(1, 3, 2));
  EXPECT_EQ(Group::of({1, 3, 5}).hash(), Group::strided(1, 3, 2).hash());
  EXPECT_EQ(Group::of({7}), Group::strided(7, 1, 5));
  EXPECT_FALSE(Group::of({0, 2, 1}) == Group::world(3));
  EXPECT_EQ(Group::of({0, 2, 1}), Group::of({0, 2, 1}));
  EXPECT_FALSE(Group::world(3) == Group::world(4));
}

}  // namespace
}  // namespace dmlsim::core
