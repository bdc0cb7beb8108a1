#pragma once
// One descriptor per collective algorithm — its name, the collectives it implements, its option
// check, its schedule builder and its closed-form cost — defined beside the algorithm itself (ring.cpp,
// halving_doubling.cpp, binary_tree.cpp, hierarchical.cpp). Everything that lists, checks, builds
// or costs algorithms (make_schedule, validate_algorithm, collective_cost, the strategies' option
// reading, demo and compare) goes through algorithm_table(): a new algorithm is one descriptor
// and one line in the table.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "strategies/collectives/collectives.hpp"
#include "strategies/collectives/cost.hpp"

namespace dmlsim::strategies {

// Why an algorithm cannot run as asked, and which option to blame: "algorithm" (the choice
// itself), or the option's own key ("local_size", "inner").
struct AlgorithmProblem {
  std::string field;
  std::string message;
};

// What an algorithm that works node by node (hierarchical, rail-rings) says of a group that is not
// whole nodes of options.local_size; nullopt when it is.
std::optional<AlgorithmProblem> whole_nodes_problem(std::string_view algorithm, int n,
                                                    const CollectiveOptions& options);

constexpr unsigned collective_bit(Collective c) {
  return 1u << static_cast<unsigned>(c);
}

struct AlgorithmDescriptor {
  std::string_view name;
  unsigned collectives = 0;  // collective_bit()s of what it implements
  std::string_view summary;  // one line: what it is, where it comes from
  // nullopt when it can run `c` over n members with these options.
  std::optional<AlgorithmProblem> (*check)(Collective c, int n, const CollectiveOptions& options) = nullptr;
  core::SchedulePtr (*build)(Collective c, int n, int index, std::uint64_t count, std::uint32_t element_bytes,
                             const CollectiveOptions& options) = nullptr;
  // The critical path on a network where its paths do not contend (n ≥ 2).
  CostTerms (*cost)(Collective c, int n, std::uint64_t count, std::uint32_t element_bytes,
                    const PathClasses& paths, const CollectiveOptions& options) = nullptr;
  // The path its β terms mostly run on, for explanations ("S over B").
  AlphaBeta (*main_path)(const PathClasses& paths) = nullptr;

  bool implements(Collective c) const { return (collectives & collective_bit(c)) != 0; }
};

// Every algorithm, in the order they are listed to users.
std::span<const AlgorithmDescriptor* const> algorithm_table();
// The algorithm of this name that implements `c`, or null.
const AlgorithmDescriptor* find_algorithm(Collective c, std::string_view name);
// Whether `algorithm` can run `c` over n members: unknown names and failed checks alike.
std::optional<AlgorithmProblem> algorithm_problem(Collective c, std::string_view algorithm, int n,
                                                  const CollectiveOptions& options);

// The descriptors, defined beside each algorithm.
extern const AlgorithmDescriptor kRingAlgorithm;
extern const AlgorithmDescriptor kHalvingDoublingAlgorithm;
extern const AlgorithmDescriptor kTreeAlgorithm;
extern const AlgorithmDescriptor kDoubleBinaryTreeAlgorithm;
extern const AlgorithmDescriptor kHierarchicalAlgorithm;
extern const AlgorithmDescriptor kRailRingsAlgorithm;

}  // namespace dmlsim::strategies
