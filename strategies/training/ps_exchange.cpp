#include "strategies/training/ps_exchange.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"

namespace dmlsim::strategies {

PsLayout::PsLayout(const std::vector<BucketSpec>& buckets, int servers, std::uint64_t chunk_elements)
    : servers_(servers) {
  if (servers < 1) throw core::ValueError("a parameter server needs at least one server");
  if (chunk_elements == 0) throw core::ValueError("chunks must hold at least one element");
  if (buckets.empty()) throw core::ValueError("nothing to exchange: no gradient bucket");
  const auto k = static_cast<std::uint64_t>(servers);
  for (const BucketSpec& spec : buckets) {
    if (spec.count == 0) throw core::ValueError("empty gradient bucket");
    PsBucket b;
    b.closing_layer = spec.closing_layer;
    b.offset = elements_;
    b.count = spec.count;
    // Rounds of k pieces of at most chunk_elements each.
    b.rounds = std::max<std::uint64_t>(1, (spec.count + k * chunk_elements - 1) / (k * chunk_elements));
    elements_ += spec.count;
    buckets_.push_back(b);
  }
}

core::ElementRange PsLayout::round_range(std::size_t b, std::uint64_t t) const {
  const PsBucket& bucket = buckets_[b];
  core::ElementRange r = core::chunk_range(bucket.count, bucket.rounds, t);
  r.offset += bucket.offset;
  return r;
}

core::ElementRange PsLayout::piece(std::size_t b, std::uint64_t t, int s) const {
  const core::ElementRange round = round_range(b, t);
  core::ElementRange p =
      core::chunk_range(round.count, static_cast<std::uint64_t>(servers_), static_cast<std::uint64_t>(s));
  p.offset += round.offset;
  return p;
}

std::optional<std::pair<std::size_t, std::uint64_t>> PsLayout::pulled_round(std::size_t b,
                                                                            std::uint64_t t) const {
  if (t > 0) return std::pair{b, t - 1};
  if (b > 0) return std::pair{b - 1, buckets_[b - 1].rounds - 1};
  return std::nullopt;
}

core::ElementRange PsLayout::window(std::size_t b) const {
  const PsBucket& bucket = buckets_[b];
  if (b == 0) return {bucket.offset, bucket.count};
  const core::ElementRange previous_last = round_range(b - 1, buckets_[b - 1].rounds - 1);
  return {previous_last.offset, previous_last.count + bucket.count};
}

std::size_t PsLayout::exchange_rounds(std::size_t b) const {
  return static_cast<std::size_t>(buckets_[b].rounds) + (b + 1 == buckets_.size() ? 1 : 0);
}

std::vector<core::ElementRange> PsLayout::pieces_of(int s) const {
  std::vector<core::ElementRange> out;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    for (std::uint64_t t = 0; t < buckets_[b].rounds; ++t) {
      const core::ElementRange p = piece(b, t, s);
      if (p.count > 0) out.push_back(p);  // empty pieces are skipped on both sides
    }
  }
  return out;
}

int PsRoles::server_of(int member) const {
  if (colocated) return member < servers ? member : -1;
  return member >= workers && member < workers + servers ? member - workers : -1;
}

PsExchangeSchedule::PsExchangeSchedule(std::shared_ptr<const PsLayout> layout, std::size_t bucket,
                                       PsRoles roles, int index)
    : Schedule("push-pull", fmt::format("{} server{}", roles.servers, roles.servers == 1 ? "" : "s"),
               roles.group_size(), index, layout->window(bucket).count),
      layout_(std::move(layout)),
      bucket_(bucket),
      roles_(roles),
      rounds_(layout_->exchange_rounds(bucket)),
      base_(layout_->window(bucket).offset) {
  if (roles.servers != layout_->servers()) {
    throw core::ValueError(
        fmt::format("layout is for {} servers, the roles for {}", layout_->servers(), roles.servers));
  }
  if (roles.colocated && roles.servers > roles.workers) {
    throw core::ValueError(
        fmt::format("{} colocated servers need as many workers ({} given)", roles.servers, roles.workers));
  }
}

void PsExchangeSchedule::round(std::size_t t, std::vector<core::Op>& out) const {
  using core::OpKind;
  const int me = index();
  const PsLayout& layout = *layout_;
  const bool push = t < layout.buckets()[bucket_].rounds;
  const auto pulled = layout.pulled_round(bucket_, t);
  const int my_server = roles_.server_of(me);
  auto local = [&](core::ElementRange r) {
    r.offset -= base_;
    return r;
  };
  auto add = [&](OpKind kind, int peer, core::ElementRange r) { out.push_back({kind, peer, local(r)}); };

  // Push direction first (worker → server), then pull (server → worker): see the header.
  if (push && roles_.is_worker(me)) {
    for (int s = 0; s < roles_.servers; ++s) {
      if (roles_.server_member(s) != me)
        add(OpKind::send, roles_.server_member(s), layout.piece(bucket_, t, s));
    }
  }
  if (push && my_server >= 0) {
    for (int w = 0; w < roles_.workers; ++w) {
      if (w != me) add(OpKind::recv_reduce, w, layout.piece(bucket_, t, my_server));
    }
  }
  if (pulled && my_server >= 0) {
    for (int w = 0; w < roles_.workers; ++w) {
      if (w != me) add(OpKind::send, w, layout.piece(pulled->first, pulled->second, my_server));
    }
  }
  if (pulled && roles_.is_worker(me)) {
    for (int s = 0; s < roles_.servers; ++s) {
      if (roles_.server_member(s) != me) {
        add(OpKind::recv_copy, roles_.server_member(s), layout.piece(pulled->first, pulled->second, s));
      }
    }
  }
}

}  // namespace dmlsim::strategies
