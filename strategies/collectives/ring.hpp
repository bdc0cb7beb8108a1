#pragma once
// Ring algorithms (Patarasuk & Yuan, JPDC 2009). The buffer is cut into n chunks; member i sends
// to i+1 and receives from i−1. Reduce-scatter takes n−1 rounds and leaves member i with the sum
// of chunk i; all-gather takes n−1 rounds and spreads every member's chunk i to all; all-reduce
// is the two back to back. Every round repeats the same peers, so the whole schedule is one
// mergeable span: in `flows` fidelity it is one message per member.
#include "core/schedule.hpp"

namespace dmlsim::strategies {

class RingReduceScatter final : public core::Schedule {
 public:
  RingReduceScatter(int n, int index, std::uint64_t count);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;
  std::vector<core::RoundSpan> mergeable_spans() const override;
  std::vector<core::PeerTraffic> traffic(core::RoundSpan span) const override;
};

class RingAllGather final : public core::Schedule {
 public:
  RingAllGather(int n, int index, std::uint64_t count);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;
  std::vector<core::RoundSpan> mergeable_spans() const override;
  std::vector<core::PeerTraffic> traffic(core::RoundSpan span) const override;
};

class RingAllReduce final : public core::Schedule {
 public:
  RingAllReduce(int n, int index, std::uint64_t count);
  std::size_t rounds() const override;
  void round(std::size_t t, std::vector<core::Op>& out) const override;
  std::vector<core::RoundSpan> mergeable_spans() const override;
  std::vector<core::PeerTraffic> traffic(core::RoundSpan span) const override;
};

}  // namespace dmlsim::strategies
