#pragma once
// Where a profile's figures come from. A device or platform file may say, per figure, whether it
// was measured (on the machine, by `dmlsim calibrate` or a benchmark), published (a datasheet,
// a paper, a public nccl-tests table — cited) or assumed (a guess nobody checked):
//
//   sources:
//     nvlink.bandwidth: "published: NVIDIA DGX A100 datasheet, 600 GB/s bidirectional per GPU"
//     nvlink.efficiency: "published: nccl-tests all_reduce_perf, 8 × A100, 232.8 GB/s busbw at 4 GiB"
//     efficiency.compute: "assumed"
//
// Each key names a field of the same mapping (dotted into sub-mappings); `dmlsim run` and
// `dmlsim explain` name the assumed figures of the platform they run on.
#include <string>
#include <vector>

#include "core/config_node.hpp"

namespace dmlsim::core {

enum class SourceKind { measured, published, assumed };

struct FigureSource {
  std::string field;  // "nvlink.efficiency", relative to the mapping that holds `sources`
  SourceKind kind = SourceKind::assumed;
  std::string citation;  // the text after "kind:", may be empty
};

// Reads `owner.sources` (absent: no entries). Throws ConfigError naming the entry when a key
// names no field of `owner` or a value does not start with measured, published or assumed.
std::vector<FigureSource> parse_sources(const ConfigNode& owner);

}  // namespace dmlsim::core
