#include "strategies/collectives/cost.hpp"

#include <bit>
#include <cmath>

#include "strategies/collectives/binary_tree.hpp"
#include "strategies/collectives/halving_doubling.hpp"

namespace dmlsim::strategies {
namespace {

double max_chunk_bytes(std::uint64_t count, std::uint64_t parts, std::uint32_t element_bytes) {
  return static_cast<double>(core::chunk_range(count, parts, 0).count * element_bytes);
}

CostTerms ring_steps(int steps, double chunk_bytes, const AlphaBeta& p) {
  return CostTerms{steps * p.alpha, steps * chunk_bytes / p.bandwidth};
}

}  // namespace

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
  const AlphaBeta& p = paths.flat;
  const double bytes = static_cast<double>(count) * element_bytes;
  const auto un = static_cast<std::uint64_t>(n);
  const std::uint64_t chunks = pipeline_chunks(count * element_bytes, options.tree_chunk_bytes);
  switch (c) {
    case Collective::all_reduce: {
      if (algorithm == "ring") return ring_steps(2 * (n - 1), max_chunk_bytes(count, un, element_bytes), p);
      if (algorithm == "halving-doubling") {
        const int pw = static_cast<int>(std::bit_floor(static_cast<unsigned>(n)));
        const double log_p = std::log2(pw);
        CostTerms t{2 * log_p * p.alpha, 2.0 * (pw - 1) / pw * bytes / p.bandwidth};
        if (pw != n) t += CostTerms{2 * p.alpha, 2 * bytes / p.bandwidth};
        return t;
      }
      if (algorithm == "tree") {
        CostTerms one = tree_cost(n, chunks, max_chunk_bytes(count, chunks, element_bytes), p);
        return CostTerms{2 * one.latency, 2 * one.transfer};
      }
      if (algorithm == "double-binary-tree") {
        const std::uint64_t half = count - count / 2;  // the larger of the two halves
        const std::uint64_t tree_chunks =
            pipeline_chunks(count / 2 * element_bytes, options.tree_chunk_bytes);
        CostTerms one = tree_cost(n, tree_chunks, max_chunk_bytes(half, tree_chunks, element_bytes), p);
        return CostTerms{2 * one.latency, 2 * one.transfer};
      }
      // hierarchical
      const int g = options.local_size, nodes = n / g;
      const std::uint64_t rail = core::chunk_range(count, static_cast<std::uint64_t>(g), 0).count;
      CostTerms t = ring_steps(
          2 * (g - 1), max_chunk_bytes(count, static_cast<std::uint64_t>(g), element_bytes), paths.intra);
      PathClasses rail_paths = paths;
      rail_paths.flat = paths.inter;
      t += collective_cost(Collective::all_reduce, options.inner, nodes, rail, element_bytes, rail_paths,
                           options);
      return t;
    }
    case Collective::reduce_scatter:
    case Collective::all_gather:
      if (algorithm == "ring") return ring_steps(n - 1, max_chunk_bytes(count, un, element_bytes), p);
      return CostTerms{std::log2(n) * p.alpha, (n - 1.0) / n * bytes / p.bandwidth};
    case Collective::broadcast:
    case Collective::reduce:
      return tree_cost(n, chunks, max_chunk_bytes(count, chunks, element_bytes), p);
  }
  return {};
}

}  // namespace dmlsim::strategies
