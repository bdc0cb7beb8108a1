#pragma once
// Pipelined binary-tree reduce, broadcast and all-reduce, and the double binary tree of
// Sanders, Speck & Träff (Parallel Computing 2009), as NCCL uses it.
//
// The tree over n members: member 0 is the top and has one child; members 1..n−1 form an
// in-order binary tree whose root is the largest power of two below n. In that tree a member r
// whose lowest set bit is 2^k has children r − 2^(k−1) and the first of r + 2^(k−1), r + 2^(k−2),
// … that exists. Odd members are leaves. For n = 2^m the members 1..n−1 form a perfect tree and
// every leaf is at depth D = m.
//
// Pipelining: the buffer is cut into C chunks. In a reduce, a member at depth d sends chunk c to
// its parent in round c + D − d and receives it from its children in round c + D − d − 1; a
// broadcast runs the mirror image. Every message is sent and received in the same round, the
// schedule has C + D − 1 rounds, and rounds [D, C−1) repeat the same peers for every member.
//
// Double binary tree: two such trees, the second shifted by one member (member i plays role
// i − 1), so for even n every member is a leaf in one tree and inner in the other; each tree
// all-reduces half of the buffer in the same rounds.
#include <array>

#include "core/schedule.hpp"

namespace dmlsim::strategies {

// The tree of roles 0..n−1 described above.
struct BinaryTree {
  int n = 1;
  int parent(int role) const;                   // −1 for the top (role 0)
  std::array<int, 2> children(int role) const;  // −1 where absent
  int depth(int role) const;                    // top 0, root 1
  int max_depth() const;                        // D
  int max_fan_in() const { return n >= 4 ? 2 : 1; }
};

enum class TreeDirection { reduce, broadcast };

// One direction over a tree whose roles are shifted by `rotation` (member i plays role i − rotation).
class PipelinedTree final : public core::Schedule {
 public:
  PipelinedTree(TreeDirection direction, int n, int index, std::uint64_t count, std::uint64_t chunks,
                int rotation = 0);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;
  std::vector<core::RoundSpan> mergeable_spans() const override;

 private:
  int member_of(int role) const { return (role + rotation_) % group_size(); }
  TreeDirection direction_;
  BinaryTree tree_;
  std::uint64_t chunks_;
  int rotation_;
  int role_;
  int depth_;
  int max_depth_;
  int parent_;
  std::array<int, 2> children_;
};

// Chunks a pipelined tree uses for `bytes`: ceil(bytes / chunk_bytes), at least 1.
std::uint64_t pipeline_chunks(std::uint64_t bytes, std::uint64_t chunk_bytes);

core::SchedulePtr make_tree_reduce(int n, int index, std::uint64_t count, std::uint64_t chunks);
core::SchedulePtr make_tree_broadcast(int n, int index, std::uint64_t count, std::uint64_t chunks);
core::SchedulePtr make_tree_all_reduce(int n, int index, std::uint64_t count, std::uint64_t chunks);
// `chunks` per tree, each tree carrying half of the buffer.
core::SchedulePtr make_double_tree_all_reduce(int n, int index, std::uint64_t count, std::uint64_t chunks);

}  // namespace dmlsim::strategies
