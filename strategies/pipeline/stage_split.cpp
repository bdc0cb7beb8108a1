#include "strategies/pipeline/stage_split.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/errors.hpp"

namespace dmlsim::strategies::pipeline {

std::vector<std::size_t> balanced_split(std::span<const double> layer_costs, int parts) {
  const std::size_t n = layer_costs.size();
  if (parts < 1 || n < static_cast<std::size_t>(parts)) {
    throw core::ValueError(
        fmt::format("{} layers cannot be cut into {} pipeline chunks of at least one layer each", n, parts));
  }
  const auto k_parts = static_cast<std::size_t>(parts);
  std::vector<double> prefix(n + 1, 0);
  std::partial_sum(layer_costs.begin(), layer_costs.end(), prefix.begin() + 1);
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  // best[k][i]: the smallest possible largest cost of the first i layers cut into k chunks.
  std::vector<std::vector<double>> best(k_parts + 1, std::vector<double>(n + 1, kInfinity));
  best[0][0] = 0;
  for (std::size_t k = 1; k <= k_parts; ++k) {
    for (std::size_t i = k; i + (k_parts - k) <= n; ++i) {
      for (std::size_t j = k - 1; j < i; ++j) {
        best[k][i] = std::min(best[k][i], std::max(best[k - 1][j], prefix[i] - prefix[j]));
      }
    }
  }
  // Walk forward: each chunk ends at the earliest layer that still allows the optimum.
  const double target = best[k_parts][n];
  std::vector<std::size_t> bounds{0};
  for (std::size_t k = 1; k < k_parts; ++k) {
    const std::size_t start = bounds.back();
    std::size_t end = start + 1;
    // The rest (k_parts − k chunks over layers end..n) must also stay within the target.
    auto rest_fits = [&](std::size_t e) {
      // Greedy check of the remaining layers: as few chunks as possible, each within the target.
      std::size_t chunks = 0, at = e;
      while (at < n) {
        std::size_t stop = at + 1;
        while (stop < n && prefix[stop + 1] - prefix[at] <= target) ++stop;
        at = stop;
        ++chunks;
      }
      return chunks <= k_parts - k && n - e >= k_parts - k;
    };
    while (!(prefix[end] - prefix[start] <= target && rest_fits(end))) ++end;
    bounds.push_back(end);
  }
  bounds.push_back(n);
  return bounds;
}

std::vector<std::size_t> split_from_counts(std::span<const int> layers_per_chunk, std::size_t layers) {
  std::vector<std::size_t> bounds{0};
  for (const int count : layers_per_chunk) {
    if (count < 1)
      throw core::ValueError(fmt::format("a chunk of {} layers (each needs at least one)", count));
    bounds.push_back(bounds.back() + static_cast<std::size_t>(count));
  }
  if (bounds.back() != layers) {
    throw core::ValueError(fmt::format("the chunks hold {} layers; the model has {}", bounds.back(), layers));
  }
  return bounds;
}

}  // namespace dmlsim::strategies::pipeline
