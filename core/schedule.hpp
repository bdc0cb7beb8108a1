#pragma once
// A collective as data: for one member of a group, the ordered rounds of point-to-point steps it
// takes. Within a round every step is posted at once, then all complete, then received chunks are
// reduced into (or copied to) the buffer. Every member has the same number of rounds, and a
// message is sent and received in the same round index on both sides ("round-aligned"): this is
// what lets the simulator merge a span of rounds into aggregated flows consistently on both ends.
//
// Algorithms (strategies/collectives) derive from Schedule; rounds are generated on demand, so a
// 16 384-member ring costs O(1) memory per member. Rank::run executes a schedule on any backend.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dmlsim::core {

// What one member sends to / receives from one peer over a span of rounds.
struct PeerTraffic {
  int peer = 0;
  std::uint64_t send_elements = 0;
  std::uint64_t recv_elements = 0;
  std::uint32_t send_messages = 0;
  std::uint32_t recv_messages = 0;
  friend bool operator==(const PeerTraffic&, const PeerTraffic&) = default;
};

enum class OpKind : std::uint8_t {
  send,         // send range to peer
  recv_copy,    // receive range from peer into the buffer
  recv_reduce,  // receive range from peer and add it to the buffer
};

struct ElementRange {
  std::uint64_t offset = 0;
  std::uint64_t count = 0;
  friend bool operator==(const ElementRange&, const ElementRange&) = default;
};

struct Op {
  OpKind kind = OpKind::send;
  int peer = 0;  // group index
  ElementRange range;
  friend bool operator==(const Op&, const Op&) = default;
};

// Rounds [begin, end) that may run as one aggregated round in `flows` fidelity: in each of them
// every member repeats the same pattern of peers, so summing the bytes per peer keeps sender and
// receiver consistent and costs the same time on an uncontended network. Identical on all members.
struct RoundSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  friend bool operator==(const RoundSpan&, const RoundSpan&) = default;
};

// A named stretch of a schedule's rounds (hierarchical all-reduce: the intra-node reduce-scatter,
// the inter-node all-reduce, the intra-node all-gather), traced as its own event inside the
// collective's, so that a timeline shows where the time went.
struct SchedulePart {
  std::string name;
  RoundSpan rounds;
  std::uint64_t count = 0;  // elements it works on
};

// Near-equal split of `count` elements into `parts` chunks; the first count % parts chunks get one
// element more. Chunk i of any member is the same range, which is what makes schedules agree.
ElementRange chunk_range(std::uint64_t count, std::uint64_t parts, std::uint64_t i);

class Schedule {
 public:
  virtual ~Schedule() = default;

  std::string_view collective() const { return collective_; }  // "all-reduce", "broadcast", ...
  std::string_view algorithm() const { return algorithm_; }    // "ring", "tree", ...
  int group_size() const { return group_size_; }
  int index() const { return index_; }
  std::uint64_t count() const { return count_; }

  virtual std::size_t rounds() const = 0;
  // Appends the steps of round t (0 <= t < rounds()) to `out`.
  virtual void round(std::size_t t, std::vector<Op>& out) const = 0;
  virtual std::vector<RoundSpan> mergeable_spans() const { return {}; }
  // What this member sends to and receives from each peer over rounds [span.begin, span.end),
  // peers in first-use order. The default walks the rounds; algorithms with O(n) rounds give it
  // in closed form so that `flows` stays O(1) per member.
  virtual std::vector<struct PeerTraffic> traffic(RoundSpan span) const;
  // The schedule's named parts in round order, covering every round; none where it has no parts.
  virtual std::vector<SchedulePart> parts() const { return {}; }

  // Every round, materialized (tests, `dmlsim explain`, small groups only).
  std::vector<std::vector<Op>> all_rounds() const;

 protected:
  Schedule(std::string collective, std::string algorithm, int group_size, int index, std::uint64_t count);

 private:
  std::string collective_;
  std::string algorithm_;
  int group_size_;
  int index_;
  std::uint64_t count_;
};

using SchedulePtr = std::shared_ptr<const Schedule>;

// A schedule of a sub-group, placed into a larger group: sub-index i is group index
// first + stride·i, and element ranges shift by `offset`.
struct Embedding {
  int first = 0;
  int stride = 1;
  std::uint64_t offset = 0;
};

// Parts that run one after another (hierarchical all-reduce: intra, inter, intra; tree: reduce
// then broadcast). Rounds are concatenated; so are mergeable spans.
class SequenceSchedule final : public Schedule {
 public:
  struct Part {
    SchedulePtr schedule;
    Embedding embedding;
    std::string name;  // parts() lists the parts when every one is named
  };
  SequenceSchedule(std::string collective, std::string algorithm, int group_size, int index,
                   std::uint64_t count, std::vector<Part> parts);
  std::size_t rounds() const override { return starts_.back(); }
  void round(std::size_t t, std::vector<Op>& out) const override;
  std::vector<RoundSpan> mergeable_spans() const override;
  std::vector<PeerTraffic> traffic(RoundSpan span) const override;
  std::vector<SchedulePart> parts() const override;

 private:
  std::vector<Part> parts_;
  std::vector<std::size_t> starts_;  // first round of each part, then the total
};

// Parts that run in the same rounds on disjoint element ranges (double binary tree: two trees,
// half of the data each). A round holds the steps of every part, first part first.
class ParallelSchedule final : public Schedule {
 public:
  ParallelSchedule(std::string collective, std::string algorithm, int group_size, int index,
                   std::uint64_t count, std::vector<SequenceSchedule::Part> parts);
  std::size_t rounds() const override { return rounds_; }
  void round(std::size_t t, std::vector<Op>& out) const override;
  std::vector<RoundSpan> mergeable_spans() const override;
  std::vector<PeerTraffic> traffic(RoundSpan span) const override;

 private:
  std::vector<SequenceSchedule::Part> parts_;
  std::size_t rounds_ = 0;
};

// Per-peer totals of rounds [span.begin, span.end) by walking them (the reference for traffic()).
std::vector<PeerTraffic> walk_traffic(const Schedule& schedule, RoundSpan span);

// Checks what execution relies on, for tests: every round is well formed (ranges inside the
// buffer, peers valid and not self, no step writes what another step of the round reads), and —
// given every member's schedule — each message is matched by a receive of the same size in the
// same round. Returns an empty string when all holds, else the first problem found.
std::string check_round_aligned(std::span<const SchedulePtr> members);

}  // namespace dmlsim::core
