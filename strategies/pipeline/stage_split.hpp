#pragma once
// Cutting a model's layers into the pipeline's p·v chunks: contiguous ranges, each at least one
// layer, balanced so that the slowest chunk is as fast as it can be (the linear partition problem,
// solved exactly by dynamic programming), or as given.
#include <cstddef>
#include <span>
#include <vector>

namespace dmlsim::strategies::pipeline {

// Layer ranges [bounds[k], bounds[k + 1]) of `parts` chunks over layers with these costs (any
// non-negative measure: seconds of forward and backward). Minimises the largest chunk's cost; among
// those cuts, the most even (least sum of squared chunk costs). Throws ValueError with fewer
// layers than parts.
std::vector<std::size_t> balanced_split(std::span<const double> layer_costs, int parts);

// The same bounds from layers per chunk; throws ValueError unless each count is ≥ 1 and they add
// up to `layers`.
std::vector<std::size_t> split_from_counts(std::span<const int> layers_per_chunk, std::size_t layers);

}  // namespace dmlsim::strategies::pipeline
