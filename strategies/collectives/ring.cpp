#include "strategies/collectives/ring.hpp"

namespace dmlsim::strategies {
namespace {

using core::chunk_range;
using core::Op;
using core::OpKind;

std::uint64_t mod(std::int64_t a, std::int64_t n) { return static_cast<std::uint64_t>(((a % n) + n) % n); }

// Reduce-scatter round t of member i: send chunk i−t−1 to the right, reduce chunk i−t−2 from the
// left. After n−1 rounds member i holds the full sum of chunk i.
void reduce_scatter_round(int n, int i, std::uint64_t count, std::size_t t, std::vector<Op>& out) {
  const auto ti = static_cast<std::int64_t>(t);
  out.push_back({OpKind::send, static_cast<int>(mod(i + 1, n)), chunk_range(count, n, mod(i - ti - 1, n))});
  out.push_back({OpKind::recv_reduce, static_cast<int>(mod(i - 1, n)), chunk_range(count, n, mod(i - ti - 2, n))});
}

// All-gather round t of member i: send chunk i−t (owned or just received), copy chunk i−t−1.
void all_gather_round(int n, int i, std::uint64_t count, std::size_t t, std::vector<Op>& out) {
  const auto ti = static_cast<std::int64_t>(t);
  out.push_back({OpKind::send, static_cast<int>(mod(i + 1, n)), chunk_range(count, n, mod(i - ti, n))});
  out.push_back({OpKind::recv_copy, static_cast<int>(mod(i - 1, n)), chunk_range(count, n, mod(i - ti - 1, n))});
}

std::vector<core::RoundSpan> whole(std::size_t rounds) {
  if (rounds < 2) return {};
  return {{0, rounds}};
}

}  // namespace

RingReduceScatter::RingReduceScatter(int n, int index, std::uint64_t count)
    : Schedule("reduce-scatter", "ring", n, index, count) {}
std::size_t RingReduceScatter::rounds() const { return static_cast<std::size_t>(group_size() - 1); }
void RingReduceScatter::round(std::size_t t, std::vector<Op>& out) const {
  reduce_scatter_round(group_size(), index(), count(), t, out);
}
std::vector<core::RoundSpan> RingReduceScatter::mergeable_spans() const { return whole(rounds()); }

RingAllGather::RingAllGather(int n, int index, std::uint64_t count) : Schedule("all-gather", "ring", n, index, count) {}
std::size_t RingAllGather::rounds() const { return static_cast<std::size_t>(group_size() - 1); }
void RingAllGather::round(std::size_t t, std::vector<Op>& out) const {
  all_gather_round(group_size(), index(), count(), t, out);
}
std::vector<core::RoundSpan> RingAllGather::mergeable_spans() const { return whole(rounds()); }

RingAllReduce::RingAllReduce(int n, int index, std::uint64_t count) : Schedule("all-reduce", "ring", n, index, count) {}
std::size_t RingAllReduce::rounds() const { return 2 * static_cast<std::size_t>(group_size() - 1); }
void RingAllReduce::round(std::size_t t, std::vector<Op>& out) const {
  const auto half = static_cast<std::size_t>(group_size() - 1);
  if (t < half) {
    reduce_scatter_round(group_size(), index(), count(), t, out);
  } else {
    all_gather_round(group_size(), index(), count(), t - half, out);
  }
}
std::vector<core::RoundSpan> RingAllReduce::mergeable_spans() const { return whole(rounds()); }

}  // namespace dmlsim::strategies
