#include "strategies/collectives/algorithm.hpp"

#include <fmt/format.h>

#include <vector>

namespace dmlsim::strategies {

std::span<const AlgorithmDescriptor* const> algorithm_table() {
  static const AlgorithmDescriptor* const kTable[] = {&kRingAlgorithm,         &kHalvingDoublingAlgorithm,
                                                      &kTreeAlgorithm,         &kDoubleBinaryTreeAlgorithm,
                                                      &kHierarchicalAlgorithm, &kRailRingsAlgorithm};
  return kTable;
}

const AlgorithmDescriptor* find_algorithm(Collective c, std::string_view name) {
  for (const AlgorithmDescriptor* a : algorithm_table()) {
    if (a->name == name && a->implements(c)) return a;
  }
  return nullptr;
}

std::vector<std::string_view> algorithms(Collective c) {
  std::vector<std::string_view> names;
  for (const AlgorithmDescriptor* a : algorithm_table()) {
    if (a->implements(c)) names.push_back(a->name);
  }
  return names;
}

std::optional<AlgorithmProblem> algorithm_problem(Collective c, std::string_view algorithm, int n,
                                                  const CollectiveOptions& options) {
  const AlgorithmDescriptor* a = find_algorithm(c, algorithm);
  if (a == nullptr) {
    return AlgorithmProblem{"algorithm", fmt::format("unknown {} algorithm '{}' (known: {})", to_string(c),
                                                     algorithm, fmt::join(algorithms(c), ", "))};
  }
  return a->check ? a->check(c, n, options) : std::nullopt;
}

std::optional<AlgorithmProblem> whole_nodes_problem(std::string_view algorithm, int n,
                                                    const CollectiveOptions& options) {
  if (options.local_size >= 1 && n % options.local_size == 0) return std::nullopt;
  return AlgorithmProblem{"local_size",
                          fmt::format("{} all-reduce needs the group ({} members) to be whole nodes of {}",
                                      algorithm, n, options.local_size)};
}

}  // namespace dmlsim::strategies
