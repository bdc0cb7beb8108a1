#pragma once
// Recursive halving and doubling (Rabenseifner's all-reduce; Thakur, Rabenseifner & Gropp,
// IJHPCA 2005). With p = 2^k members and the buffer cut into p blocks:
//   reduce-scatter by recursive halving: k rounds; in each a member exchanges half of its current
//   window with the member whose index differs in one bit, keeping the half that bit names;
//   all-gather by recursive doubling: the same exchanges in reverse, windows doubling.
// The all-reduce's partner order is an option (PartnerOrder): bits from the lowest (distance 1
// first, as MPICH's MPIR_Allreduce_intra_reduce_scatter_allgather and Open MPI's
// ompi_coll_base_allreduce_intra_redscat_allgather do it; a member ends the reduce-scatter with
// block bit-reverse(index)) or from the highest (distance n/2 first; it ends with block index).
// All-reduce accepts any n: the first 2r members (r = n − p) fold pairwise into p virtual members
// before, and unfold after (two extra rounds, full buffer each way). The stand-alone
// reduce-scatter and all-gather need a power-of-two group and leave block i on member i, so they
// run distance n/2 first and distance 1 first respectively (MPICH's recursive-halving
// reduce-scatter and recursive-doubling all-gather).
#include "core/schedule.hpp"
#include "strategies/collectives/collectives.hpp"

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
  HalvingDoublingAllReduce(int n, int index, std::uint64_t count,
                           PartnerOrder order = PartnerOrder::distance_doubling);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;

 private:
  PartnerOrder order_;
  int p_ = 1;  // largest power of two <= n
  int log_p_ = 0;
  int extra_ = 0;     // n − p members fold into partners
  int virtual_ = -1;  // this member's index among the p, or −1 while folded away
};

}  // namespace dmlsim::strategies
