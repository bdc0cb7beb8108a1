#include "strategies/collectives/halving_doubling.hpp"

#include <fmt/format.h>

#include <bit>

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

// The bit of the member index that reduce-scatter round s (0 <= s < log p) splits on: its
// partner differs from it in that bit, at distance `bit`.
int split_bit(int p, int s, PartnerOrder order) {
  return order == PartnerOrder::distance_doubling ? 1 << s : p >> (s + 1);
}

// First block of virtual member v's window before reduce-scatter round s (p >> s blocks): each
// earlier round r kept the upper half of the window when v has bit split_bit(r) set.
int window_start(int p, int v, int s, PartnerOrder order) {
  int start = 0;
  for (int r = 0; r < s; ++r) {
    if ((v & split_bit(p, r, order)) != 0) start += p >> (r + 1);
  }
  return start;
}

// Recursive halving among p virtual members, round s, for virtual member v: it sends the half of
// its window that its partner keeps and reduces the half it keeps.
void halving_round(int p, int v, std::uint64_t count, int s, PartnerOrder order, const auto& to_group,
                   std::vector<Op>& out) {
  const int half = p >> (s + 1);
  const int bit = split_bit(p, s, order);
  const int start = window_start(p, v, s, order);
  const bool keep_low = (v & bit) == 0;
  const int kept = keep_low ? start : start + half;
  const int given = keep_low ? start + half : start;
  out.push_back({OpKind::send, to_group(v ^ bit), blocks(count, p, given, half)});
  out.push_back({OpKind::recv_reduce, to_group(v ^ bit), blocks(count, p, kept, half)});
}

// Recursive doubling, round t: reduce-scatter round s = log p − 1 − t undone. v sends the window
// it kept in that round and receives the one its partner kept.
void doubling_round(int p, int v, std::uint64_t count, int t, PartnerOrder order, const auto& to_group,
                    std::vector<Op>& out) {
  const int s = log2_exact(p) - 1 - t;
  const int half = p >> (s + 1);
  const int partner = v ^ split_bit(p, s, order);
  out.push_back({OpKind::send, to_group(partner), blocks(count, p, window_start(p, v, s + 1, order), half)});
  out.push_back(
      {OpKind::recv_copy, to_group(partner), blocks(count, p, window_start(p, partner, s + 1, order), half)});
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
      group_size(), index(), count(), static_cast<int>(t), PartnerOrder::distance_halving,
      [](int v) { return v; }, out);
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
      group_size(), index(), count(), static_cast<int>(t), PartnerOrder::distance_halving,
      [](int v) { return v; }, out);
}

// Folding (n = p + r): members 2j and 2j+1 for j < r pair up; the even one hands its whole buffer
// to the odd one, which becomes virtual member j; members >= 2r become virtual member i − r.
HalvingDoublingAllReduce::HalvingDoublingAllReduce(int n, int index, std::uint64_t count, PartnerOrder order)
    : Schedule("all-reduce", "halving-doubling", n, index, count), order_(order) {
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
    halving_round(p_, virtual_, count(), s, order_, to_group, out);
  } else {
    doubling_round(p_, virtual_, count(), s - log_p_, order_, to_group, out);
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
       const CollectiveOptions& options) -> core::SchedulePtr {
      if (c == Collective::all_reduce)
        return std::make_shared<HalvingDoublingAllReduce>(n, index, count, options.partner_order);
      if (c == Collective::reduce_scatter) return std::make_shared<HalvingReduceScatter>(n, index, count);
      return std::make_shared<DoublingAllGather>(n, index, count);
    },
    [](Collective c, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions& options) {
      const GroupPaths& g = paths.whole;
      const double bytes = static_cast<double>(count) * element_bytes;
      if (c != Collective::all_reduce) {
        // The stand-alone halving / doubling: every distance once, S/2 ... S/n each.
        CostTerms t;
        for (int k = 0; (1 << k) < n; ++k) {
          const AlphaBeta& p = g.butterfly_at(k);
          t += CostTerms{p.alpha, bytes / (2 << (log2_exact(n) - 1 - k)) / p.bandwidth};
        }
        return t;
      }
      // Reduce-scatter round s moves S/2^(s+1) at distance split_bit(s); all-gather undoes it.
      const int pw = static_cast<int>(std::bit_floor(static_cast<unsigned>(n)));
      CostTerms t;
      for (int s = 0; s < log2_exact(pw); ++s) {
        const AlphaBeta& p = g.butterfly_at(log2_exact(split_bit(pw, s, options.partner_order)));
        t += CostTerms{2 * p.alpha, 2 * bytes / (2 << s) / p.bandwidth};
      }
      if (pw != n) t += CostTerms{2 * g.butterfly.alpha, 2 * bytes / g.butterfly.bandwidth};
      return t;
    },
    [](const PathClasses& paths) { return paths.whole.butterfly; }};

}  // namespace dmlsim::strategies
