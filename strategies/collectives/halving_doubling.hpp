#pragma once
// Recursive halving and doubling (Rabenseifner's all-reduce; Thakur, Rabenseifner & Gropp,
// IJHPCA 2005). With p = 2^k members and the buffer cut into p blocks:
//   reduce-scatter by recursive halving: k rounds; in round s a member exchanges half of its
//   current window with the member whose index differs in bit k−1−s, keeping the half that holds
//   its own block, and ends with the sum of block `index`;
//   all-gather by recursive doubling: the same exchanges in reverse, windows doubling.
// All-reduce accepts any n: the first 2r members (r = n − p) fold pairwise into p virtual members
// before, and unfold after (two extra rounds, full buffer each way). The stand-alone
// reduce-scatter and all-gather need a power-of-two group.
#include "core/schedule.hpp"

namespace dmlsim::strategies {

bool is_power_of_two(int n);

class HalvingReduceScatter final : public core::Schedule {
 public:
  HalvingReduceScatter(int n, int index, std::uint64_t count);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;
};

class DoublingAllGather final : public core::Schedule {
 public:
  DoublingAllGather(int n, int index, std::uint64_t count);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;
};

class HalvingDoublingAllReduce final : public core::Schedule {
 public:
  HalvingDoublingAllReduce(int n, int index, std::uint64_t count);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;

 private:
  int p_ = 1;  // largest power of two <= n
  int log_p_ = 0;
  int extra_ = 0;     // n − p members fold into partners
  int virtual_ = -1;  // this member's index among the p, or −1 while folded away
};

}  // namespace dmlsim::strategies
