#pragma once
// The collectives a communicator can run, and what an algorithm must provide to run one: a
// member's schedule. The algorithms themselves live in strategies/collectives.
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/schedule.hpp"

namespace dmlsim::core {

enum class Collective { all_reduce, reduce_scatter, all_gather, broadcast, reduce };
std::string_view to_string(Collective c);
std::optional<Collective> parse_collective(std::string_view name);
inline constexpr Collective kAllCollectives[] = {Collective::all_reduce, Collective::reduce_scatter,
                                                 Collective::all_gather, Collective::broadcast,
                                                 Collective::reduce};

// An algorithm with its options chosen (ring; hierarchical over nodes of 8 with a tree inside...).
class CollectiveAlgorithm {
 public:
  virtual ~CollectiveAlgorithm() = default;
  // Member `index` of an n-member group's schedule of `collective` over `count` elements.
  virtual SchedulePtr schedule(Collective collective, int n, int index, std::uint64_t count,
                               std::uint32_t element_bytes) const = 0;
};

}  // namespace dmlsim::core
