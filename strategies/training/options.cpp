#include "strategies/training/options.hpp"

#include "core/errors.hpp"

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
  try {
    validate_algorithm(collective, c.algorithm, group_size, c.options);
  } catch (const core::ValueError& e) {
    const char* field = key;
    const std::string what = e.what();
    if (what.find("local_size") != std::string::npos || what.find("whole nodes") != std::string::npos) {
      field = node.has("local_size") ? "local_size" : key;
    } else if (c.algorithm == "hierarchical" && what.find(c.options.inner) != std::string::npos &&
               node.has("inner")) {
      field = "inner";
    }
    if (node.has(field)) node.at(field).fail(what);
    node.fail(what);
  }
  return c;
}

}  // namespace dmlsim::strategies
