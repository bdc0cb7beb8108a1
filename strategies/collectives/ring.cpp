#include "strategies/collectives/ring.hpp"

#include <algorithm>
#include <initializer_list>

#include "strategies/collectives/algorithm.hpp"

namespace dmlsim::strategies {
namespace {

using core::chunk_range;
using core::Op;
using core::OpKind;

std::uint64_t mod(std::int64_t a, std::int64_t n) {
  return static_cast<std::uint64_t>(((a % n) + n) % n);
}

// Reduce-scatter round t of member i: send chunk i−t−1 to the right, reduce chunk i−t−2 from the
// left. After n−1 rounds member i holds the full sum of chunk i.
void reduce_scatter_round(int n, int i, std::uint64_t count, std::size_t t, std::vector<Op>& out) {
  const auto ti = static_cast<std::int64_t>(t);
  out.push_back({OpKind::send, static_cast<int>(mod(i + 1, n)), chunk_range(count, n, mod(i - ti - 1, n))});
  out.push_back(
      {OpKind::recv_reduce, static_cast<int>(mod(i - 1, n)), chunk_range(count, n, mod(i - ti - 2, n))});
}

// All-gather round t of member i: send chunk i−t (owned or just received), copy chunk i−t−1.
void all_gather_round(int n, int i, std::uint64_t count, std::size_t t, std::vector<Op>& out) {
  const auto ti = static_cast<std::int64_t>(t);
  out.push_back({OpKind::send, static_cast<int>(mod(i + 1, n)), chunk_range(count, n, mod(i - ti, n))});
  out.push_back(
      {OpKind::recv_copy, static_cast<int>(mod(i - 1, n)), chunk_range(count, n, mod(i - ti - 1, n))});
}

std::vector<core::RoundSpan> whole(std::size_t rounds) {
  if (rounds < 2) return {};
  return {{0, rounds}};
}

// Over all of its rounds a ring phase moves every chunk but one, one message each.
struct AllChunksBut {
  std::uint64_t elements = 0;
  std::uint32_t messages = 0;
};
AllChunksBut all_chunks_but(int n, std::uint64_t count, std::int64_t excluded) {
  const auto un = static_cast<std::uint64_t>(n);
  const std::uint64_t skipped = chunk_range(count, un, mod(excluded, n)).count;
  const auto non_empty = static_cast<std::uint32_t>(std::min<std::uint64_t>(count, un));
  return {count - skipped, non_empty - (skipped > 0 ? 1u : 0u)};
}

// Totals of whole ring phases: sends to the right of every chunk but `send_excluded`, receives
// from the left of every chunk but `recv_excluded`, once per phase.
std::vector<core::PeerTraffic> ring_traffic(
    int n, int i, std::uint64_t count, std::initializer_list<std::pair<std::int64_t, std::int64_t>> phases) {
  core::PeerTraffic right{static_cast<int>(mod(i + 1, n))}, left{static_cast<int>(mod(i - 1, n))};
  for (const auto& [send_excluded, recv_excluded] : phases) {
    const AllChunksBut s = all_chunks_but(n, count, send_excluded),
                       r = all_chunks_but(n, count, recv_excluded);
    right.send_elements += s.elements;
    right.send_messages += s.messages;
    left.recv_elements += r.elements;
    left.recv_messages += r.messages;
  }
  if (right.peer == left.peer) {  // n = 2: one peer both ways
    right.recv_elements = left.recv_elements;
    right.recv_messages = left.recv_messages;
    left = {};
  }
  std::vector<core::PeerTraffic> out;
  for (const core::PeerTraffic& p : {right, left}) {
    if (p.send_elements + p.recv_elements > 0) out.push_back(p);  // empty chunks are never sent
  }
  return out;
}

bool whole_span(const core::RoundSpan& span, std::size_t rounds) {
  return span.begin == 0 && span.end == rounds;
}

}  // namespace

RingReduceScatter::RingReduceScatter(int n, int index, std::uint64_t count)
    : Schedule("reduce-scatter", "ring", n, index, count) {}
std::size_t RingReduceScatter::rounds() const {
  return static_cast<std::size_t>(group_size() - 1);
}
void RingReduceScatter::round(std::size_t t, std::vector<Op>& out) const {
  reduce_scatter_round(group_size(), index(), count(), t, out);
}
std::vector<core::RoundSpan> RingReduceScatter::mergeable_spans() const {
  return whole(rounds());
}
std::vector<core::PeerTraffic> RingReduceScatter::traffic(core::RoundSpan span) const {
  if (!whole_span(span, rounds()) || group_size() < 2) return Schedule::traffic(span);
  return ring_traffic(group_size(), index(), count(), {{index(), index() - 1}});
}

RingAllGather::RingAllGather(int n, int index, std::uint64_t count)
    : Schedule("all-gather", "ring", n, index, count) {}
std::size_t RingAllGather::rounds() const {
  return static_cast<std::size_t>(group_size() - 1);
}
void RingAllGather::round(std::size_t t, std::vector<Op>& out) const {
  all_gather_round(group_size(), index(), count(), t, out);
}
std::vector<core::RoundSpan> RingAllGather::mergeable_spans() const {
  return whole(rounds());
}
std::vector<core::PeerTraffic> RingAllGather::traffic(core::RoundSpan span) const {
  if (!whole_span(span, rounds()) || group_size() < 2) return Schedule::traffic(span);
  return ring_traffic(group_size(), index(), count(), {{index() + 1, index()}});
}

RingAllReduce::RingAllReduce(int n, int index, std::uint64_t count)
    : Schedule("all-reduce", "ring", n, index, count) {}
std::size_t RingAllReduce::rounds() const {
  return 2 * static_cast<std::size_t>(group_size() - 1);
}
void RingAllReduce::round(std::size_t t, std::vector<Op>& out) const {
  const auto half = static_cast<std::size_t>(group_size() - 1);
  if (t < half) {
    reduce_scatter_round(group_size(), index(), count(), t, out);
  } else {
    all_gather_round(group_size(), index(), count(), t - half, out);
  }
}
std::vector<core::RoundSpan> RingAllReduce::mergeable_spans() const {
  return whole(rounds());
}
std::vector<core::PeerTraffic> RingAllReduce::traffic(core::RoundSpan span) const {
  if (!whole_span(span, rounds()) || group_size() < 2) return Schedule::traffic(span);
  return ring_traffic(group_size(), index(), count(), {{index(), index() - 1}, {index() + 1, index()}});
}

const AlgorithmDescriptor kRingAlgorithm{
    "ring",
    collective_bit(Collective::all_reduce) | collective_bit(Collective::reduce_scatter) |
        collective_bit(Collective::all_gather),
    "n−1 steps of S/n around a ring, twice for all-reduce (Patarasuk & Yuan 2009): bandwidth-optimal",
    nullptr,
    [](Collective c, int n, int index, std::uint64_t count, std::uint32_t,
       const CollectiveOptions&) -> core::SchedulePtr {
      if (c == Collective::all_reduce) return std::make_shared<RingAllReduce>(n, index, count);
      if (c == Collective::reduce_scatter) return std::make_shared<RingReduceScatter>(n, index, count);
      return std::make_shared<RingAllGather>(n, index, count);
    },
    [](Collective c, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions&) {
      const int steps = c == Collective::all_reduce ? 2 * (n - 1) : n - 1;
      return ring_steps(steps, max_chunk_bytes(count, static_cast<std::uint64_t>(n), element_bytes),
                        paths.whole.ring);
    },
    [](const PathClasses& paths) { return paths.whole.ring; }};

}  // namespace dmlsim::strategies
