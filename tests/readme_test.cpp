// The file formats documented in README.md parse: every ```yaml block there is loaded with the
// loader of its top-level key (relative paths resolve as if the block lived in experiments/).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "apps/sweep_plan.hpp"
#include "core/device.hpp"
#include "core/experiment.hpp"
#include "core/model.hpp"
#include "core/platform.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim {
namespace {

std::vector<std::string> yaml_blocks() {
  std::ifstream in(std::string(DMLSIM_SOURCE_DIR) + "/README.md");
  std::vector<std::string> blocks;
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```yaml") {
      inside = true;
      block.clear();
    } else if (inside && line == "```") {
      inside = false;
      blocks.push_back(block);
    } else if (inside) {
      block += line + "\n";
    }
  }
  return blocks;
}

TEST(Readme, EveryYamlExampleParses) {
  const auto blocks = yaml_blocks();
  ASSERT_GE(blocks.size(), 8u);
  const std::string origin = std::string(DMLSIM_SOURCE_DIR) + "/experiments/readme-example.yaml";
  std::map<std::string, int> parsed;  // top-level key → blocks
  for (const std::string& text : blocks) {
    SCOPED_TRACE(text);
    const core::ConfigNode root = core::ConfigNode::load_string(text, origin);
    const std::string key = root.keys().front();
    if (key == "platform") {
      EXPECT_GT(core::parse_platform(root.at(key)).host_count(), 0);
    } else if (key == "model") {
      EXPECT_GT(core::parse_model(root.at(key)).parameters(), 0);
    } else if (key == "device") {
      EXPECT_GT(core::parse_device(root.at(key)).memory_bandwidth, 0);
    } else if (key == "experiment") {
      const core::Experiment e = core::parse_experiment(root.at(key));
      EXPECT_NO_THROW(strategies::make_strategy(e));
    } else if (key == "strategy") {
      // A strategy block: try it inside a small experiment.
      const std::string experiment = "experiment:\n  platform: ../platforms/star-16.yaml\n" + [&] {
        std::string indented;
        std::istringstream lines(text);
        for (std::string l; std::getline(lines, l);) indented += "  " + l + "\n";
        return indented;
      }();
      const core::Experiment e =
          core::parse_experiment(core::ConfigNode::load_string(experiment, origin).at("experiment"));
      EXPECT_NO_THROW(strategies::make_strategy(e));
    } else if (key == "sweep") {
      const auto file =
          std::filesystem::temp_directory_path() / fmt::format("dmlsim-readme-sweep-{}.yaml", getpid());
      std::ofstream(file) << text;
      EXPECT_GT(apps::read_sweep_plan(file).points.size(), 0u);
      std::filesystem::remove(file);
    } else {
      ADD_FAILURE() << "unexpected top-level key " << key;
    }
    ++parsed[key];
  }
  // Every format the README documents has an example that went through its loader.
  for (const char* key : {"platform", "model", "device", "experiment", "strategy", "sweep"})
    EXPECT_GE(parsed[key], 1) << key;
}

}  // namespace
}  // namespace dmlsim
