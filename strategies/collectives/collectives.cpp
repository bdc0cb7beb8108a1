#include "strategies/collectives/collectives.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.hpp"
#include "strategies/collectives/binary_tree.hpp"
#include "strategies/collectives/halving_doubling.hpp"
#include "strategies/collectives/hierarchical.hpp"
#include "strategies/collectives/ring.hpp"

namespace dmlsim::strategies {

std::vector<std::string_view> algorithms(Collective c) {
  switch (c) {
    case Collective::all_reduce:
      return {"ring", "halving-doubling", "tree", "double-binary-tree", "hierarchical"};
    case Collective::reduce_scatter:
      return {"ring", "halving-doubling"};
    case Collective::all_gather:
      return {"ring", "halving-doubling"};
    case Collective::broadcast:
      return {"tree"};
    case Collective::reduce:
      return {"tree"};
  }
  return {};
}

void validate_algorithm(Collective c, std::string_view algorithm, int n, const CollectiveOptions& options) {
  const auto known = algorithms(c);
  if (std::find(known.begin(), known.end(), algorithm) == known.end()) {
    throw core::ValueError(fmt::format("unknown {} algorithm '{}' (known: {})", to_string(c), algorithm,
                                       fmt::join(known, ", ")));
  }
  if (algorithm == "halving-doubling" && c != Collective::all_reduce && !is_power_of_two(n)) {
    throw core::ValueError(
        fmt::format("halving-doubling {} needs a power-of-two group, got {} members", to_string(c), n));
  }
  if (algorithm == "hierarchical") {
    if (options.local_size < 1 || n % options.local_size != 0) {
      throw core::ValueError(
          fmt::format("hierarchical all-reduce needs the group ({} members) to be whole nodes of {}", n,
                      options.local_size));
    }
    if (options.inner == "hierarchical") throw core::ValueError("hierarchical all-reduce cannot nest itself");
    validate_algorithm(Collective::all_reduce, options.inner, n / options.local_size, options);
  }
}

core::SchedulePtr make_schedule(Collective c, std::string_view algorithm, int n, int index,
                                std::uint64_t count, std::uint32_t element_bytes,
                                const CollectiveOptions& options) {
  validate_algorithm(c, algorithm, n, options);
  const std::uint64_t chunks = pipeline_chunks(count * element_bytes, options.tree_chunk_bytes);
  switch (c) {
    case Collective::all_reduce:
      if (algorithm == "ring") return std::make_shared<RingAllReduce>(n, index, count);
      if (algorithm == "halving-doubling") return std::make_shared<HalvingDoublingAllReduce>(n, index, count);
      if (algorithm == "tree") return make_tree_all_reduce(n, index, count, chunks);
      if (algorithm == "double-binary-tree") {
        return make_double_tree_all_reduce(
            n, index, count, pipeline_chunks(count / 2 * element_bytes, options.tree_chunk_bytes));
      }
      if (algorithm == "hierarchical") {
        // Every rail must pipeline its tree in the same number of chunks: size them on the largest rail.
        const std::uint64_t rail_count =
            core::chunk_range(count, static_cast<std::uint64_t>(options.local_size), 0).count;
        const std::uint64_t per_tree = options.inner == "double-binary-tree" ? rail_count / 2 : rail_count;
        return make_hierarchical_all_reduce(
            n, index, count, options.local_size, options.inner,
            pipeline_chunks(per_tree * element_bytes, options.tree_chunk_bytes));
      }
      break;
    case Collective::reduce_scatter:
      if (algorithm == "ring") return std::make_shared<RingReduceScatter>(n, index, count);
      return std::make_shared<HalvingReduceScatter>(n, index, count);
    case Collective::all_gather:
      if (algorithm == "ring") return std::make_shared<RingAllGather>(n, index, count);
      return std::make_shared<DoublingAllGather>(n, index, count);
    case Collective::broadcast:
      return make_tree_broadcast(n, index, count, chunks);
    case Collective::reduce:
      return make_tree_reduce(n, index, count, chunks);
  }
  throw core::ValueError(fmt::format("no schedule for {} {}", to_string(c), algorithm));
}

}  // namespace dmlsim::strategies
