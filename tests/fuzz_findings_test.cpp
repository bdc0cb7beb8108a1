// What the fuzzers found (scripts/fuzz), kept as tests: every input under tests/fuzz-findings/ goes
// through the reader its name starts with, and must either load or fail as bad input does
// (core::ConfigError naming the file) — never with another exception. Plus hand-made variants of
// each finding for every loader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/sweep_plan.hpp"
#include "apps/sweep_table.hpp"
#include "core/config_node.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/model.hpp"
#include "core/platform.hpp"
#include "core/trace_csv_reader.hpp"
#include "core/trace_reader.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim {
namespace {

const std::string kOrigin = std::string(DMLSIM_SOURCE_DIR) + "/experiments/finding.yaml";

// The fuzz targets' readers (fuzz/*_fuzzer.cpp), by the prefix of a finding's file name.
void read_as(const std::string& kind, const std::string& text) {
  if (kind == "platform") {
    const auto root = core::ConfigNode::load_string(text, kOrigin);
    root.expect_only({"platform"});
    core::parse_platform(root.at("platform"));
  } else if (kind == "model") {
    const auto root = core::ConfigNode::load_string(text, kOrigin);
    root.expect_only({"model"});
    core::parse_model(root.at("model"));
  } else if (kind == "experiment") {
    const auto root = core::ConfigNode::load_string(text, kOrigin);
    root.expect_only({"experiment"});
    strategies::make_strategy(
        core::parse_experiment(root.at("experiment"), strategies::strategy_field_homes()));
  } else if (kind == "sweep") {
    apps::parse_sweep_plan(text, kOrigin);
  } else if (kind == "sweepcsv") {
    apps::parse_sweep_csv(text, "finding.csv");
  } else if (kind == "tracejson") {
    core::parse_chrome_trace(text, "finding.json");
  } else if (kind == "tracecsv") {
    core::parse_csv_trace(text, "finding.csv");
  } else {
    FAIL() << "no reader for " << kind;
  }
}

// "" when the text loads, else the ConfigError's message; any other exception fails the test.
std::string outcome(const std::string& kind, const std::string& text) {
  try {
    read_as(kind, text);
  } catch (const core::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << kind << ": not a ConfigError: " << e.what() << "\n" << text;
  }
  return "";
}

TEST(FuzzFindings, EveryKeptInputLoadsOrIsBadInput) {
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(DMLSIM_SOURCE_DIR) + "/tests/fuzz-findings")) {
    const std::string name = entry.path().filename().string();
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    SCOPED_TRACE(name);
    outcome(name.substr(0, name.find('-')), text.str());
    ++files;
  }
  EXPECT_GE(files, 1);
}

// A mapping key that is not a word — YAML's `? key` syntax allows lists and mappings as keys —
// used to escape as yaml-cpp's "bad conversion" (exit 1, no field named). Now: the file and line.
TEST(FuzzFindings, AKeyThatIsAListOrAMappingIsBadInputInEveryLoader) {
  // Shipped files, each with a key that is a list appended to its top mapping.
  const auto shipped = [](const std::string& file) {
    std::ifstream in(std::string(DMLSIM_SOURCE_DIR) + "/" + file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str() + "  ? [a, b]\n  : 1\n";
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"platform", shipped("platforms/star-16.yaml")},
      {"model", shipped("models/mlp-small.yaml")},
      {"experiment", shipped("experiments/allreduce-star.yaml")},
      {"sweep", shipped("experiments/sweep-allreduce.yaml")},
      {"platform", shipped("platforms/fat-tree-32.yaml") + "  ? {hosts: 4}\n"},
      {"sweep", "sweep:\n  experiment: e.yaml\n  set: {? [a]: 1}\n  axes: {ranks: [1]}\n"},
      {"platform", "? : x\nplatform: {}\n"},
  };
  for (const auto& [kind, text] : cases) {
    const std::string error = outcome(kind, text);
    EXPECT_NE(error.find("finding.yaml:"), std::string::npos) << kind << ": " << error << "\n" << text;
    EXPECT_TRUE(error.find("a field's name must be a word") != std::string::npos ||
                error.find("a field without a name") != std::string::npos)
        << error;
  }
}

}  // namespace
}  // namespace dmlsim
