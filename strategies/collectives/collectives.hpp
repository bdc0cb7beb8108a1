#pragma once
// The collective algorithms by name: each is a pure function (group size, my index, element
// count) → my Schedule, with its closed-form alpha-beta cost beside it (cost.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/collective.hpp"
#include "core/schedule.hpp"

namespace dmlsim::strategies {

using core::Collective;
using core::kAllCollectives;
using core::parse_collective;
using core::to_string;

// Which partner halving-doubling all-reduce exchanges its largest halves with. distance_doubling
// starts at distance 1 (MPICH's and Open MPI's Rabenseifner all-reduce, SMPI `rab_rdb`): on
// rank-contiguous placements the largest exchanges stay inside a switch or node. distance_halving
// starts at distance n/2 (recursive-halving reduce-scatter then recursive-doubling all-gather as
// two stand-alone collectives, SMPI `rab1` with `smpi/allgather:rdb`).
enum class PartnerOrder { distance_doubling, distance_halving };

struct CollectiveOptions {
  std::uint64_t tree_chunk_bytes = std::uint64_t{1} << 20;       // pipelining chunk of tree algorithms
  int local_size = 1;                                            // members per node, for hierarchical
  std::string inner = "ring";                                    // hierarchical's inter-node all-reduce
  PartnerOrder partner_order = PartnerOrder::distance_doubling;  // halving-doubling all-reduce's
  // Elements a tree sizes its pipeline chunks on; 0: its own buffer's. Hierarchical's rails carry
  // chunks that differ by one element, and must all pipeline in as many chunks as the largest.
  std::uint64_t tree_chunk_basis = 0;
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

// An algorithm by name with its options, for Communicator's collectives.
class NamedAlgorithm final : public core::CollectiveAlgorithm {
 public:
  NamedAlgorithm(std::string name, CollectiveOptions options = {})
      : name_(std::move(name)), options_(std::move(options)) {}
  core::SchedulePtr schedule(Collective collective, int n, int index, std::uint64_t count,
                             std::uint32_t element_bytes) const override {
    return make_schedule(collective, name_, n, index, count, element_bytes, options_);
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  CollectiveOptions options_;
};

}  // namespace dmlsim::strategies
