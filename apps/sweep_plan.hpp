#pragma once
// What `dmlsim sweep` runs: a base experiment and axes — fields of the experiment, each with the
// values to try — combined into points. A sweep file:
//   sweep:
//     name: allreduce-scaling                # default: the file's name
//     experiment: allreduce-star.yaml        # relative to this file
//     combine: product                       # product (default) | zip | random
//     samples: 20                            # random: points drawn from the product, no repeats
//     seed: 1                                # random: the same seed draws the same points
//     set: {iterations: 1}                   # fields of every point (before --set and the axes)
//     axes:                                  # any field --set can address
//       strategy.algorithm: [ring, tree]                     # a list of YAML values
//       ranks: {from: 4, to: 16, step: 4}                    # 4, 8, 12, 16
//       ranks: {from: 8, to: 1024, factor: 2}                # 8, 16, ..., 1024
//       platform.link.bandwidth: {from: 1Gbps, to: 100Gbps, count: 3, scale: log}
// A range's ends may carry a unit (the same on both ends): 1Gbps to 100Gbps in three log steps is
// 1Gbps, 10Gbps, 100Gbps.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_node.hpp"

namespace dmlsim::apps {

struct SweepAxis {
  std::string field;                // dotted path below `experiment`, as --set takes it
  std::vector<std::string> values;  // YAML values (flow style), as --set takes them
  std::string where;                // file:line, for errors
};

enum class SweepCombine { product, zip, random };

struct SweepPoint {
  int index = 0;                      // 0, 1, ... in the sweep's order
  std::vector<std::uint32_t> choice;  // per axis, in axis order: which of its values
};

struct SweepPlan {
  std::string name;
  std::filesystem::path experiment;
  std::vector<std::pair<std::string, std::string>> set;  // fields of every point: (field, YAML value)
  std::vector<SweepAxis> axes;
  SweepCombine combine = SweepCombine::product;
  std::int64_t samples = 0;  // random
  std::uint64_t seed = 0;    // random
  std::vector<SweepPoint> points;

  // The point's (field, value) pairs, one per axis in axis order, as --set takes them. (Points
  // keep indices only: a million points of long values would otherwise hold gigabytes.)
  std::vector<std::pair<std::string, std::string>> values(const SweepPoint& point) const;
};

// Reads a sweep file and lays out its points. Throws core::ConfigError naming the file, line and
// field on bad input (an axis without values, zipped axes of different lengths, a range that
// never reaches its end...).
SweepPlan read_sweep_plan(const std::filesystem::path& file);
// The same from the file's text (`file` names it in errors and anchors its relative paths).
SweepPlan parse_sweep_plan(std::string_view text, const std::filesystem::path& file);

// The values of a range axis `{from, to, step | factor | count [, scale: linear | log]}`.
std::vector<std::string> expand_range(const core::ConfigNode& range);

// `samples` distinct indices in [0, population), ascending, drawn with `seed` (Floyd's algorithm
// on std::mt19937_64, whose output the standard fixes: the same on every machine).
std::vector<std::uint64_t> sample_indices(std::uint64_t population, std::uint64_t samples,
                                          std::uint64_t seed);

}  // namespace dmlsim::apps
