#include "strategies/collectives/binary_tree.hpp"

#include <bit>

#include "strategies/collectives/algorithm.hpp"

namespace dmlsim::strategies {
namespace {

using core::Op;
using core::OpKind;

int lowest_bit(int r) {
  return std::countr_zero(static_cast<unsigned>(r));
}

// Parent of r in the infinite in-order tree: r ± 2^k, whichever has lowest set bit 2^(k+1).
int infinite_parent(int r) {
  const int k = lowest_bit(r);
  return ((r >> (k + 1)) & 1) ? r - (1 << k) : r + (1 << k);
}

}  // namespace

int BinaryTree::parent(int role) const {
  if (role == 0) return -1;
  const int root = static_cast<int>(std::bit_floor(static_cast<unsigned>(n - 1)));
  if (role == root) return 0;
  int q = infinite_parent(role);
  while (q >= n) q = infinite_parent(q);  // missing ancestors: attach to the nearest present one
  return q;
}

std::array<int, 2> BinaryTree::children(int role) const {
  if (role == 0) return {n > 1 ? static_cast<int>(std::bit_floor(static_cast<unsigned>(n - 1))) : -1, -1};
  const int k = lowest_bit(role);
  if (k == 0) return {-1, -1};
  std::array<int, 2> c{role - (1 << (k - 1)), -1};
  for (int j = k - 1; j >= 0; --j) {
    if (role + (1 << j) < n) {
      c[1] = role + (1 << j);
      break;
    }
  }
  return c;
}

int BinaryTree::depth(int role) const {
  int d = 0;
  for (int r = role; r != 0; r = parent(r)) ++d;
  return d;
}

int BinaryTree::max_depth() const {
  // Member 1 is the leftmost leaf, as deep as any (see the header).
  return n > 1 ? depth(1) : 0;
}

PipelinedTree::PipelinedTree(TreeDirection direction, int n, int index, std::uint64_t count,
                             std::uint64_t chunks, int rotation)
    : Schedule(direction == TreeDirection::reduce ? "reduce" : "broadcast", "tree", n, index, count),
      direction_(direction),
      tree_{n},
      chunks_(chunks < 1 ? 1 : chunks),
      rotation_(rotation % n) {
  role_ = (index - rotation_ + n) % n;
  depth_ = tree_.depth(role_);
  max_depth_ = tree_.max_depth();
  parent_ = tree_.parent(role_);
  children_ = tree_.children(role_);
}

std::size_t PipelinedTree::rounds() const {
  if (group_size() == 1) return 0;
  return chunks_ + static_cast<std::size_t>(max_depth_) - 1;
}

void PipelinedTree::round(std::size_t t, std::vector<Op>& out) const {
  const auto ti = static_cast<std::int64_t>(t);
  const auto chunks = static_cast<std::int64_t>(chunks_);
  auto chunk = [&](std::int64_t c) {
    return core::chunk_range(count(), chunks_, static_cast<std::uint64_t>(c));
  };
  auto valid = [&](std::int64_t c) { return c >= 0 && c < chunks; };
  if (direction_ == TreeDirection::reduce) {
    const std::int64_t from_children = ti - (max_depth_ - depth_ - 1);
    if (valid(from_children)) {
      for (int child : children_) {
        if (child >= 0) out.push_back({OpKind::recv_reduce, member_of(child), chunk(from_children)});
      }
    }
    const std::int64_t to_parent = ti - (max_depth_ - depth_);
    if (parent_ >= 0 && valid(to_parent)) out.push_back({OpKind::send, member_of(parent_), chunk(to_parent)});
  } else {
    const std::int64_t from_parent = ti - (depth_ - 1);
    if (parent_ >= 0 && valid(from_parent))
      out.push_back({OpKind::recv_copy, member_of(parent_), chunk(from_parent)});
    const std::int64_t to_children = ti - depth_;
    if (valid(to_children)) {
      for (int child : children_) {
        if (child >= 0) out.push_back({OpKind::send, member_of(child), chunk(to_children)});
      }
    }
  }
}

std::vector<core::RoundSpan> PipelinedTree::mergeable_spans() const {
  const auto begin = static_cast<std::size_t>(max_depth_);
  const std::size_t end = chunks_ - 1;
  if (group_size() == 1 || end < begin + 2) return {};
  return {{begin, end}};
}

std::uint64_t pipeline_chunks(std::uint64_t bytes, std::uint64_t chunk_bytes) {
  if (chunk_bytes == 0) return 1;
  const std::uint64_t c = (bytes + chunk_bytes - 1) / chunk_bytes;
  return c < 1 ? 1 : c;
}

namespace {

core::SchedulePtr tree_all_reduce(int n, int index, std::uint64_t count, std::uint64_t chunks, int rotation) {
  using Part = core::SequenceSchedule::Part;
  std::vector<Part> parts{
      Part{std::make_shared<PipelinedTree>(TreeDirection::reduce, n, index, count, chunks, rotation), {}, {}},
      Part{std::make_shared<PipelinedTree>(TreeDirection::broadcast, n, index, count, chunks, rotation),
           {},
           {}}};
  return std::make_shared<core::SequenceSchedule>("all-reduce", "tree", n, index, count, std::move(parts));
}

}  // namespace

core::SchedulePtr make_tree_reduce(int n, int index, std::uint64_t count, std::uint64_t chunks) {
  return std::make_shared<PipelinedTree>(TreeDirection::reduce, n, index, count, chunks);
}

core::SchedulePtr make_tree_broadcast(int n, int index, std::uint64_t count, std::uint64_t chunks) {
  return std::make_shared<PipelinedTree>(TreeDirection::broadcast, n, index, count, chunks);
}

core::SchedulePtr make_tree_all_reduce(int n, int index, std::uint64_t count, std::uint64_t chunks) {
  return tree_all_reduce(n, index, count, chunks, 0);
}

core::SchedulePtr make_double_tree_all_reduce(int n, int index, std::uint64_t count, std::uint64_t chunks) {
  if (n < 2) return tree_all_reduce(n, index, count, chunks, 0);
  const std::uint64_t first = count / 2;
  using Part = core::SequenceSchedule::Part;
  std::vector<Part> parts{
      Part{tree_all_reduce(n, index, first, chunks, 0), {0, 1, 0}, {}},
      Part{tree_all_reduce(n, index, count - first, chunks, 1), {0, 1, first}, {}},
  };
  return std::make_shared<core::ParallelSchedule>("all-reduce", "double-binary-tree", n, index, count,
                                                  std::move(parts));
}

const AlgorithmDescriptor kTreeAlgorithm{
    "tree",
    collective_bit(Collective::all_reduce) | collective_bit(Collective::broadcast) |
        collective_bit(Collective::reduce),
    "a pipelined binary tree of tree_chunk pieces: reduce to the root, broadcast back",
    nullptr,
    [](Collective c, int n, int index, std::uint64_t count, std::uint32_t element_bytes,
       const CollectiveOptions& options) -> core::SchedulePtr {
      const std::uint64_t basis = options.tree_chunk_basis != 0 ? options.tree_chunk_basis : count;
      const std::uint64_t chunks = pipeline_chunks(basis * element_bytes, options.tree_chunk_bytes);
      if (c == Collective::all_reduce) return make_tree_all_reduce(n, index, count, chunks);
      if (c == Collective::broadcast) return make_tree_broadcast(n, index, count, chunks);
      return make_tree_reduce(n, index, count, chunks);
    },
    [](Collective c, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions& options) {
      const std::uint64_t chunks = pipeline_chunks(count * element_bytes, options.tree_chunk_bytes);
      const CostTerms one =
          tree_cost(n, chunks, max_chunk_bytes(count, chunks, element_bytes), paths.whole.tree);
      return c == Collective::all_reduce ? CostTerms{2 * one.latency, 2 * one.transfer} : one;
    },
    [](const PathClasses& paths) { return paths.whole.tree; }};

const AlgorithmDescriptor kDoubleBinaryTreeAlgorithm{
    "double-binary-tree",
    collective_bit(Collective::all_reduce),
    "two complementary trees, half of the data each, in the same rounds (Sanders et al. 2009; NCCL)",
    nullptr,
    [](Collective, int n, int index, std::uint64_t count, std::uint32_t element_bytes,
       const CollectiveOptions& options) -> core::SchedulePtr {
      const std::uint64_t basis = options.tree_chunk_basis != 0 ? options.tree_chunk_basis : count;
      return make_double_tree_all_reduce(
          n, index, count, pipeline_chunks(basis / 2 * element_bytes, options.tree_chunk_bytes));
    },
    [](Collective, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions& options) {
      const std::uint64_t half = count - count / 2;  // the larger of the two halves
      const std::uint64_t chunks = pipeline_chunks(count / 2 * element_bytes, options.tree_chunk_bytes);
      const CostTerms one =
          tree_cost(n, chunks, max_chunk_bytes(half, chunks, element_bytes), paths.whole.double_tree);
      return CostTerms{2 * one.latency, 2 * one.transfer};
    },
    [](const PathClasses& paths) { return paths.whole.double_tree; }};

}  // namespace dmlsim::strategies
