#include "strategies/training/options.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"
#include "strategies/collectives/algorithm.hpp"

namespace dmlsim::strategies {

CollectiveChoice read_collective_choice(const core::ConfigNode& node, const core::Experiment& experiment,
                                        Collective collective, const char* key, const char* fallback,
                                        int group_size) {
  CollectiveChoice c;
  c.algorithm = node.string_or(key, fallback);
  c.options.tree_chunk_bytes = node.bytes_or("tree_chunk", c.options.tree_chunk_bytes);
  if (c.options.tree_chunk_bytes == 0) node.at("tree_chunk").fail("must be positive");
  c.options.local_size =
      static_cast<int>(node.integer_in_or("local_size", 1, 1 << 16, experiment.platform.devices_per_node()));
  c.options.inner = node.string_or("inner", "ring");
  const std::string order = node.string_or("partner_order", "distance-doubling");
  if (order == "distance-halving") {
    c.options.partner_order = PartnerOrder::distance_halving;
  } else if (order != "distance-doubling") {
    node.at("partner_order")
        .fail(fmt::format("unknown partner order '{}' (distance-doubling | distance-halving)", order));
  }
  if (const auto problem = algorithm_problem(collective, c.algorithm, group_size, c.options)) {
    // The option the problem is about, where the file sets it; else the algorithm, else the strategy.
    const char* field = problem->field == "algorithm" ? key : problem->field.c_str();
    if (!node.has(field)) field = key;
    if (node.has(field)) node.at(field).fail(problem->message);
    node.fail(problem->message);
  }
  return c;
}

}  // namespace dmlsim::strategies
