#pragma once
// Reading the collective options shared by strategies (algorithm, pipelining chunk, node size).
#include <string>

#include "core/config_node.hpp"
#include "core/experiment.hpp"
#include "strategies/collectives/collectives.hpp"

namespace dmlsim::strategies {

struct CollectiveChoice {
  std::string algorithm;
  CollectiveOptions options;
};

// Reads `<key>` (an algorithm name, default `fallback`), `tree_chunk`, `local_size` (default: GPUs
// per node of the platform), `inner` and `partner_order` from `node`, and checks them for a group of
// `group_size` (errors name the field).
CollectiveChoice read_collective_choice(const core::ConfigNode& node, const core::Experiment& experiment,
                                        Collective collective, const char* key, const char* fallback,
                                        int group_size);

}  // namespace dmlsim::strategies
