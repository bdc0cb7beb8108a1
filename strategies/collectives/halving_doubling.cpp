#include "strategies/collectives/halving_doubling.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>

#include "core/errors.hpp"
#include "strategies/collectives/algorithm.hpp"

namespace dmlsim::strategies {
namespace {

using core::ElementRange;
using core::Op;
using core::OpKind;

int log2_exact(int p) {
  return std::countr_zero(static_cast<unsigned>(p));
}

// Element range of blocks [first, first + blocks) when `count` is cut into p blocks.
ElementRange blocks(std::uint64_t count, int p, int first, int n_blocks) {
  const ElementRange a =
      core::chunk_range(count, static_cast<std::uint64_t>(p), static_cast<std::uint64_t>(first));
  const ElementRange b = core::chunk_range(count, static_cast<std::uint64_t>(p),
                                           static_cast<std::uint64_t>(first + n_blocks - 1));
  return ElementRange{a.offset, b.offset + b.count - a.offset};
}

// Recursive halving among p virtual members, round s (0 <= s < log p), for virtual member v.
// The window before round s is the 2m blocks (m = p >> (s+1)) aligned on v's upper bits.
void halving_round(int p, int v, std::uint64_t count, int s, const auto& to_group, std::vector<Op>& out) {
  const int m = p >> (s + 1);
  const int partner = v ^ m;
  const int base = v & ~(2 * m - 1);
  const bool keep_low = (v & m) == 0;
  const int kept = keep_low ? base : base + m;
  const int given = keep_low ? base + m : base;
  out.push_back({OpKind::send, to_group(partner), blocks(count, p, given, m)});
  out.push_back({OpKind::recv_reduce, to_group(partner), blocks(count, p, kept, m)});
}

// Recursive doubling, round s: windows of m = 1 << s blocks double by exchanging with v ^ m.
void doubling_round(int p, int v, std::uint64_t count, int s, const auto& to_group, std::vector<Op>& out) {
  const int m = 1 << s;
  const int partner = v ^ m;
  const int mine = v & ~(m - 1);
  const int theirs = partner & ~(m - 1);
  out.push_back({OpKind::send, to_group(partner), blocks(count, p, mine, m)});
  out.push_back({OpKind::recv_copy, to_group(partner), blocks(count, p, theirs, m)});
}

void require_power_of_two(int n, std::string_view what) {
  if (!is_power_of_two(n)) {
    throw core::ValueError(fmt::format("{} needs a power-of-two group, got {} members", what, n));
  }
}

}  // namespace

bool is_power_of_two(int n) {
  return n > 0 && std::has_single_bit(static_cast<unsigned>(n));
}

HalvingReduceScatter::HalvingReduceScatter(int n, int index, std::uint64_t count)
    : Schedule("reduce-scatter", "halving-doubling", n, index, count) {
  require_power_of_two(n, "recursive-halving reduce-scatter");
}
std::size_t HalvingReduceScatter::rounds() const {
  return static_cast<std::size_t>(log2_exact(group_size()));
}
void HalvingReduceScatter::round(std::size_t t, std::vector<Op>& out) const {
  halving_round(
      group_size(), index(), count(), static_cast<int>(t), [](int v) { return v; }, out);
}

DoublingAllGather::DoublingAllGather(int n, int index, std::uint64_t count)
    : Schedule("all-gather", "halving-doubling", n, index, count) {
  require_power_of_two(n, "recursive-doubling all-gather");
}
std::size_t DoublingAllGather::rounds() const {
  return static_cast<std::size_t>(log2_exact(group_size()));
}
void DoublingAllGather::round(std::size_t t, std::vector<Op>& out) const {
  doubling_round(
      group_size(), index(), count(), static_cast<int>(t), [](int v) { return v; }, out);
}

// Folding (n = p + r): members 2j and 2j+1 for j < r pair up; the even one hands its whole buffer
// to the odd one, which becomes virtual member j; members >= 2r become virtual member i − r.
HalvingDoublingAllReduce::HalvingDoublingAllReduce(int n, int index, std::uint64_t count)
    : Schedule("all-reduce", "halving-doubling", n, index, count) {
  p_ = static_cast<int>(std::bit_floor(static_cast<unsigned>(n)));
  log_p_ = log2_exact(p_);
  extra_ = n - p_;
  if (index < 2 * extra_) {
    virtual_ = index % 2 == 1 ? index / 2 : -1;
  } else {
    virtual_ = index - extra_;
  }
}

std::size_t HalvingDoublingAllReduce::rounds() const {
  return static_cast<std::size_t>(2 * log_p_ + (extra_ > 0 ? 2 : 0));
}

void HalvingDoublingAllReduce::round(std::size_t t, std::vector<Op>& out) const {
  const int i = index();
  const ElementRange all{0, count()};
  auto to_group = [this](int v) { return v < extra_ ? 2 * v + 1 : v + extra_; };
  int s = static_cast<int>(t);
  if (extra_ > 0) {
    const bool folding = i < 2 * extra_;
    if (s == 0) {  // fold in
      if (folding)
        out.push_back({i % 2 == 0 ? OpKind::send : OpKind::recv_reduce, i % 2 == 0 ? i + 1 : i - 1, all});
      return;
    }
    if (s == 2 * log_p_ + 1) {  // fold out
      if (folding)
        out.push_back({i % 2 == 1 ? OpKind::send : OpKind::recv_copy, i % 2 == 1 ? i - 1 : i + 1, all});
      return;
    }
    --s;
  }
  if (virtual_ < 0) return;  // folded away: idle in the middle rounds
  if (s < log_p_) {
    halving_round(p_, virtual_, count(), s, to_group, out);
  } else {
    doubling_round(p_, virtual_, count(), s - log_p_, to_group, out);
  }
}

const AlgorithmDescriptor kHalvingDoublingAlgorithm{
    "halving-doubling",
    collective_bit(Collective::all_reduce) | collective_bit(Collective::reduce_scatter) |
        collective_bit(Collective::all_gather),
    "recursive halving then doubling, log2(n) steps each (Rabenseifner; Thakur et al. 2005)",
    [](Collective c, int n, const CollectiveOptions&) -> std::optional<AlgorithmProblem> {
      // All-reduce folds the members beyond the largest power of two in and out; RS and AG cannot.
      if (c == Collective::all_reduce || is_power_of_two(n)) return std::nullopt;
      return AlgorithmProblem{
          "algorithm",
          fmt::format("halving-doubling {} needs a power-of-two group, got {} members", to_string(c), n)};
    },
    [](Collective c, int n, int index, std::uint64_t count, std::uint32_t,
       const CollectiveOptions&) -> core::SchedulePtr {
      if (c == Collective::all_reduce) return std::make_shared<HalvingDoublingAllReduce>(n, index, count);
      if (c == Collective::reduce_scatter) return std::make_shared<HalvingReduceScatter>(n, index, count);
      return std::make_shared<DoublingAllGather>(n, index, count);
    },
    [](Collective c, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions&) {
      const AlphaBeta& p = paths.whole.butterfly;
      const double bytes = static_cast<double>(count) * element_bytes;
      if (c != Collective::all_reduce)
        return CostTerms{std::log2(n) * p.alpha, (n - 1.0) / n * bytes / p.bandwidth};
      const int pw = static_cast<int>(std::bit_floor(static_cast<unsigned>(n)));
      CostTerms t{2 * std::log2(pw) * p.alpha, 2.0 * (pw - 1) / pw * bytes / p.bandwidth};
      if (pw != n) t += CostTerms{2 * p.alpha, 2 * bytes / p.bandwidth};
      return t;
    },
    [](const PathClasses& paths) { return paths.whole.butterfly; }};

}  // namespace dmlsim::strategies
