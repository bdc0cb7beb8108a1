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
  // Among the cuts whose largest chunk is that optimum, the most even one: the least sum of
  // squared chunk costs. (A head far heavier than a block sets the optimum alone; without this the
  // other chunks could be anything up to it — one block on some stages, six on others — and the
  // fuller stages would hold six blocks' activations for nothing.)
  const double target = best[k_parts][n] * (1 + 1e-12);
  std::vector<std::vector<double>> even(k_parts + 1, std::vector<double>(n + 1, kInfinity));
  std::vector<std::vector<std::size_t>> cut(k_parts + 1, std::vector<std::size_t>(n + 1, 0));
  even[0][0] = 0;
  for (std::size_t k = 1; k <= k_parts; ++k) {
    for (std::size_t i = k; i + (k_parts - k) <= n; ++i) {
      for (std::size_t j = k - 1; j < i; ++j) {
        const double part = prefix[i] - prefix[j];
        if (part > target || even[k - 1][j] == kInfinity) continue;
        if (const double total = even[k - 1][j] + part * part; total < even[k][i]) {
          even[k][i] = total;
          cut[k][i] = j;
        }
      }
    }
  }
  std::vector<std::size_t> bounds(k_parts + 1, n);
  for (std::size_t k = k_parts; k > 0; --k) bounds[k - 1] = cut[k][bounds[k]];
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
