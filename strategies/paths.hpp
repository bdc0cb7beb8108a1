#pragma once
// Path parameters a collective over a group sees on a platform, for the closed forms.
#include <optional>
#include <utility>
#include <vector>

#include "core/experiment.hpp"
#include "core/group.hpp"
#include "strategies/collectives/cost.hpp"

namespace dmlsim::strategies {

// flat: the slowest (highest latency, lowest bandwidth) of the paths between members i and i + 2^k
// (ring neighbours, halving-doubling partners, tree edges are among them); intra/inter: the
// slowest path inside a node and between nodes of `local_size` consecutive members. nullopt when
// the platform's paths are not known analytically (SimGrid XML).
std::optional<PathClasses> path_classes(const core::Experiment& experiment, const core::Group& group,
                                        int local_size);

// The slowest path of messages between these (sender, receiver) rank pairs sent all at once, each
// port shared by the messages through it (a pipeline boundary crossed by every replica together).
// nullopt when the platform's paths are not known analytically (SimGrid XML).
std::optional<AlphaBeta> concurrent_path(const core::Experiment& experiment,
                                         const std::vector<std::pair<int, int>>& rank_pairs);

}  // namespace dmlsim::strategies
