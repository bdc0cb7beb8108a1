#include "strategies/collectives/cost.hpp"

#include "strategies/collectives/algorithm.hpp"
#include "strategies/collectives/binary_tree.hpp"

namespace dmlsim::strategies {

double max_chunk_bytes(std::uint64_t count, std::uint64_t parts, std::uint32_t element_bytes) {
  return static_cast<double>(core::chunk_range(count, parts, 0).count * element_bytes);
}

CostTerms ring_steps(int steps, double chunk_bytes, const AlphaBeta& p) {
  return CostTerms{steps * p.alpha, steps * chunk_bytes / p.bandwidth};
}

CostTerms tree_cost(int n, std::uint64_t chunks, double chunk_bytes, const AlphaBeta& p) {
  if (n <= 1) return {};
  const BinaryTree tree{n};
  const double rounds = static_cast<double>(chunks) + tree.max_depth() - 1;
  const double full_rounds = rounds - 1;  // every round but the last moves f chunks through a port
  return CostTerms{rounds * p.alpha, (full_rounds * tree.max_fan_in() + 1) * chunk_bytes / p.bandwidth};
}

CostTerms collective_cost(Collective c, std::string_view algorithm, int n, std::uint64_t count,
                          std::uint32_t element_bytes, const PathClasses& paths,
                          const CollectiveOptions& options) {
  validate_algorithm(c, algorithm, n, options);
  if (n <= 1) return {};
  CostTerms cost = find_algorithm(c, algorithm)->cost(c, n, count, element_bytes, paths, options);
  cost.latency += paths.launch;
  return cost;
}

}  // namespace dmlsim::strategies
