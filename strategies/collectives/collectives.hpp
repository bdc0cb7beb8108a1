#pragma once
// The collective algorithms by name: each is a pure function (group size, my index, element
// count) → my Schedule, with its closed-form alpha-beta cost beside it (cost.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/schedule.hpp"

namespace dmlsim::strategies {

enum class Collective { all_reduce, reduce_scatter, all_gather, broadcast, reduce };
std::string_view to_string(Collective c);
std::optional<Collective> parse_collective(std::string_view name);
inline constexpr Collective kAllCollectives[] = {Collective::all_reduce, Collective::reduce_scatter,
                                                 Collective::all_gather, Collective::broadcast,
                                                 Collective::reduce};

struct CollectiveOptions {
  std::uint64_t tree_chunk_bytes = std::uint64_t{1} << 20;  // pipelining chunk of tree algorithms
  int local_size = 1;                                       // members per node, for hierarchical
  std::string inner = "ring";                               // hierarchical's inter-node all-reduce
};

// Algorithm names known for a collective, e.g. all-reduce: ring, halving-doubling, tree,
// double-binary-tree, hierarchical.
std::vector<std::string_view> algorithms(Collective c);

// Member `index` of an n-member group's schedule for `count` elements of `element_bytes`.
// Throws ValueError naming the known algorithms when `algorithm` is unknown, or when the group
// does not suit it (a power of two, a multiple of local_size).
core::SchedulePtr make_schedule(Collective c, std::string_view algorithm, int n, int index,
                                std::uint64_t count, std::uint32_t element_bytes,
                                const CollectiveOptions& options);

// Checks the same conditions without building anything (for option validation).
void validate_algorithm(Collective c, std::string_view algorithm, int n, const CollectiveOptions& options);

}  // namespace dmlsim::strategies
