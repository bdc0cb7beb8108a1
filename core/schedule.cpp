#include "core/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "core/errors.hpp"

namespace dmlsim::core {

ElementRange chunk_range(std::uint64_t count, std::uint64_t parts, std::uint64_t i) {
  const std::uint64_t base = count / parts, extra = count % parts;
  return ElementRange{i * base + std::min(i, extra), base + (i < extra ? 1 : 0)};
}

Schedule::Schedule(std::string collective, std::string algorithm, int group_size, int index,
                   std::uint64_t count)
    : collective_(std::move(collective)),
      algorithm_(std::move(algorithm)),
      group_size_(group_size),
      index_(index),
      count_(count) {
  if (group_size < 1 || index < 0 || index >= group_size) {
    throw ValueError(fmt::format("member {} of a group of {} does not exist", index, group_size));
  }
}

std::vector<std::vector<Op>> Schedule::all_rounds() const {
  std::vector<std::vector<Op>> out(rounds());
  for (std::size_t t = 0; t < out.size(); ++t) round(t, out[t]);
  return out;
}

namespace {

void append_embedded(const SequenceSchedule::Part& part, std::size_t t, std::vector<Op>& out) {
  const std::size_t first = out.size();
  part.schedule->round(t, out);
  for (std::size_t i = first; i < out.size(); ++i) {
    out[i].peer = part.embedding.first + part.embedding.stride * out[i].peer;
    out[i].range.offset += part.embedding.offset;
  }
}

}  // namespace

SequenceSchedule::SequenceSchedule(std::string collective, std::string algorithm, int group_size, int index,
                                   std::uint64_t count, std::vector<Part> parts)
    : Schedule(std::move(collective), std::move(algorithm), group_size, index, count),
      parts_(std::move(parts)) {
  starts_.push_back(0);
  for (const Part& p : parts_) starts_.push_back(starts_.back() + p.schedule->rounds());
}

void SequenceSchedule::round(std::size_t t, std::vector<Op>& out) const {
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), t);
  const std::size_t part = static_cast<std::size_t>(it - starts_.begin()) - 1;
  append_embedded(parts_[part], t - starts_[part], out);
}

std::vector<SchedulePart> SequenceSchedule::parts() const {
  std::vector<SchedulePart> out;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    if (parts_[i].name.empty()) return {};
    out.push_back({parts_[i].name, {starts_[i], starts_[i + 1]}, parts_[i].schedule->count()});
  }
  return out;
}

std::vector<RoundSpan> SequenceSchedule::mergeable_spans() const {
  std::vector<RoundSpan> out;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    for (RoundSpan s : parts_[i].schedule->mergeable_spans()) {
      out.push_back({s.begin + starts_[i], s.end + starts_[i]});
    }
  }
  return out;
}

ParallelSchedule::ParallelSchedule(std::string collective, std::string algorithm, int group_size, int index,
                                   std::uint64_t count, std::vector<SequenceSchedule::Part> parts)
    : Schedule(std::move(collective), std::move(algorithm), group_size, index, count),
      parts_(std::move(parts)) {
  for (const auto& p : parts_) rounds_ = std::max(rounds_, p.schedule->rounds());
}

void ParallelSchedule::round(std::size_t t, std::vector<Op>& out) const {
  for (const auto& p : parts_) {
    if (t < p.schedule->rounds()) append_embedded(p, t, out);
  }
}

std::vector<RoundSpan> ParallelSchedule::mergeable_spans() const {
  // A round range is mergeable when it is mergeable in every part (or the part is over by then).
  std::vector<RoundSpan> result{{0, rounds_}};
  for (const auto& p : parts_) {
    std::vector<RoundSpan> allowed = p.schedule->mergeable_spans();
    if (p.schedule->rounds() < rounds_) allowed.push_back({p.schedule->rounds(), rounds_});
    std::vector<RoundSpan> next;
    for (RoundSpan a : result) {
      for (RoundSpan b : allowed) {
        const RoundSpan c{std::max(a.begin, b.begin), std::min(a.end, b.end)};
        if (c.end > c.begin + 1) next.push_back(c);
      }
    }
    result = std::move(next);
  }
  return result;
}

std::vector<PeerTraffic> Schedule::traffic(RoundSpan span) const {
  return walk_traffic(*this, span);
}

namespace {

// Adds `more` into `into`, peers keep their first-use order.
void merge_traffic(std::vector<PeerTraffic>& into, const std::vector<PeerTraffic>& more, const Embedding& e) {
  for (PeerTraffic p : more) {
    p.peer = e.first + e.stride * p.peer;
    auto it = std::find_if(into.begin(), into.end(), [&](const PeerTraffic& q) { return q.peer == p.peer; });
    if (it == into.end()) {
      into.push_back(p);
      continue;
    }
    it->send_elements += p.send_elements;
    it->recv_elements += p.recv_elements;
    it->send_messages += p.send_messages;
    it->recv_messages += p.recv_messages;
  }
}

}  // namespace

std::vector<PeerTraffic> SequenceSchedule::traffic(RoundSpan span) const {
  std::vector<PeerTraffic> out;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    const std::size_t begin = std::max(span.begin, starts_[i]), end = std::min(span.end, starts_[i + 1]);
    if (begin >= end) continue;
    merge_traffic(out, parts_[i].schedule->traffic({begin - starts_[i], end - starts_[i]}),
                  parts_[i].embedding);
  }
  return out;
}

std::vector<PeerTraffic> ParallelSchedule::traffic(RoundSpan span) const {
  std::vector<PeerTraffic> out;
  for (const auto& p : parts_) {
    const std::size_t end = std::min(span.end, p.schedule->rounds());
    if (span.begin < end) merge_traffic(out, p.schedule->traffic({span.begin, end}), p.embedding);
  }
  return out;
}

std::vector<PeerTraffic> walk_traffic(const Schedule& schedule, RoundSpan span) {
  std::vector<PeerTraffic> out;
  std::vector<Op> ops;
  for (std::size_t t = span.begin; t < span.end; ++t) {
    ops.clear();
    schedule.round(t, ops);
    for (const Op& op : ops) {
      if (op.range.count == 0) continue;
      auto it = std::find_if(out.begin(), out.end(), [&](const PeerTraffic& p) { return p.peer == op.peer; });
      if (it == out.end()) {
        out.push_back(PeerTraffic{op.peer});
        it = out.end() - 1;
      }
      if (op.kind == OpKind::send) {
        it->send_elements += op.range.count;
        ++it->send_messages;
      } else {
        it->recv_elements += op.range.count;
        ++it->recv_messages;
      }
    }
  }
  return out;
}

namespace {

bool overlaps(const ElementRange& a, const ElementRange& b) {
  return a.count > 0 && b.count > 0 && a.offset < b.offset + b.count && b.offset < a.offset + a.count;
}

std::string check_round(const Schedule& s, std::size_t t, const std::vector<Op>& ops) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& a = ops[i];
    if (a.peer < 0 || a.peer >= s.group_size() || a.peer == s.index()) {
      return fmt::format("member {} round {}: invalid peer {}", s.index(), t, a.peer);
    }
    if (a.range.offset + a.range.count > s.count()) {
      return fmt::format("member {} round {}: range [{}, +{}) outside the buffer of {}", s.index(), t,
                         a.range.offset, a.range.count, s.count());
    }
    for (std::size_t j = 0; j < ops.size(); ++j) {
      const Op& b = ops[j];
      if (i == j || a.kind == OpKind::send || !overlaps(a.range, b.range)) continue;
      // Several reductions into one range are fine (each lands in its own scratch first); a copy
      // over anything else, or a receive over what this round sends, is not.
      if (b.kind == OpKind::send || a.kind == OpKind::recv_copy || b.kind == OpKind::recv_copy) {
        return fmt::format("member {} round {}: step {} writes a range that step {} also uses", s.index(), t,
                           i, j);
      }
    }
  }
  return {};
}

}  // namespace

std::string check_round_aligned(std::span<const SchedulePtr> members) {
  const int n = static_cast<int>(members.size());
  for (int i = 0; i < n; ++i) {
    if (members[i]->group_size() != n || members[i]->index() != i) {
      return fmt::format("schedule {} claims index {} of {}", i, members[i]->index(),
                         members[i]->group_size());
    }
    if (members[i]->rounds() != members[0]->rounds()) {
      return fmt::format("member {} has {} rounds, member 0 has {}", i, members[i]->rounds(),
                         members[0]->rounds());
    }
    if (members[i]->mergeable_spans() != members[0]->mergeable_spans()) {
      return fmt::format("member {} has different mergeable spans from member 0", i);
    }
  }
  std::vector<std::vector<Op>> ops(static_cast<std::size_t>(n));
  for (std::size_t t = 0; t < members[0]->rounds(); ++t) {
    // (src, dst) → sizes in posting order, for sends and for receives.
    std::map<std::pair<int, int>, std::vector<std::uint64_t>> sends, recvs;
    for (int i = 0; i < n; ++i) {
      auto& round_ops = ops[static_cast<std::size_t>(i)];
      round_ops.clear();
      members[i]->round(t, round_ops);
      if (std::string problem = check_round(*members[i], t, round_ops); !problem.empty()) return problem;
      for (const Op& op : round_ops) {
        if (op.range.count == 0) continue;
        if (op.kind == OpKind::send) {
          sends[{i, op.peer}].push_back(op.range.count);
        } else {
          recvs[{op.peer, i}].push_back(op.range.count);
        }
      }
    }
    if (sends != recvs) {
      for (const auto& [pair, sizes] : sends) {
        if (recvs[pair] != sizes) {
          return fmt::format("round {}: {} → {} sends {} messages that the receiver does not match", t,
                             pair.first, pair.second, sizes.size());
        }
      }
      return fmt::format("round {}: a receive has no matching send", t);
    }
  }
  return {};
}

}  // namespace dmlsim::core
