#pragma once
// The traffic of one parameter-server iteration, as data: which elements go to which server, in
// which round, and the push/pull pipeline of a gradient bucket as a core Schedule.
//
// The iteration buffer holds every gradient in backward order, bucket after bucket (as
// data-parallel plans them: a bucket closes when backward has produced enough gradients). A
// bucket of count elements is cut into C rounds of at most k·chunk elements, and each round into
// one piece per server (k servers): BytePS partitions tensors into chunks of at most 4 MB and
// spreads them over the servers (Jiang et al., OSDI 2020, §4.2). Server s owns piece s of every
// round.
//
// Exchange of bucket b, round t (a pipeline: push round t while pulling round t − 1):
//   worker:  send its piece of round t to each server; receive the aggregate of round t − 1
//   server:  receive (and add up) round t's piece from every worker; send round t − 1's aggregate
// Round t − 1 of the first round of a bucket is the last round of the previous bucket, so the
// pipeline runs on across buckets without draining; the last bucket has one more round, a pull
// only. Bucket b's schedule therefore works on a window of the iteration buffer: the previous
// bucket's last round followed by bucket b.
//
// Roles: members 0..n−1 of the exchange group are the workers. Dedicated servers are members
// n..n+k−1 (ranks of their own, on server hosts); colocated server s is worker s itself, whose
// exchange then carries both roles (its own contribution is added in place, no message to self).
// A worker that sends twice to one peer in a round (a colocated push to the peer's server and a
// pull answer to the peer's worker) posts the push first, and the peer receives in that order.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/schedule.hpp"

namespace dmlsim::strategies {

struct PsBucket {
  std::size_t closing_layer = 0;  // model layer whose backward completes the bucket
  std::uint64_t offset = 0;       // first element in the iteration buffer
  std::uint64_t count = 0;        // elements
  std::uint64_t rounds = 1;       // push rounds: pieces per server
};

class PsLayout {
 public:
  struct BucketSpec {
    std::size_t closing_layer = 0;
    std::uint64_t count = 0;
  };
  // Buckets in backward order; each piece holds at most `chunk_elements` elements.
  PsLayout(const std::vector<BucketSpec>& buckets, int servers, std::uint64_t chunk_elements);

  int servers() const { return servers_; }
  const std::vector<PsBucket>& buckets() const { return buckets_; }
  std::uint64_t elements() const { return elements_; }

  // The elements of round t of bucket b (absolute offsets in the iteration buffer).
  core::ElementRange round_range(std::size_t b, std::uint64_t t) const;
  // Server s's piece of round t of bucket b.
  core::ElementRange piece(std::size_t b, std::uint64_t t, int s) const;
  // The round pulled in round t of bucket b's exchange: (bucket, round), if any.
  std::optional<std::pair<std::size_t, std::uint64_t>> pulled_round(std::size_t b, std::uint64_t t) const;
  // What bucket b's exchange touches: the previous bucket's last round, then bucket b.
  core::ElementRange window(std::size_t b) const;
  // Rounds of bucket b's exchange (push rounds, plus the final pull round after the last bucket).
  std::size_t exchange_rounds(std::size_t b) const;
  // Server s's non-empty pieces over one iteration in push order: what each worker sends it, one
  // message each (executions skip empty pieces on both sides).
  std::vector<core::ElementRange> pieces_of(int s) const;

 private:
  int servers_ = 1;
  std::vector<PsBucket> buckets_;
  std::uint64_t elements_ = 0;
};

// Who plays which part in the exchange group (see the top of this file).
struct PsRoles {
  int workers = 1;
  int servers = 1;
  bool colocated = false;

  int group_size() const { return colocated ? workers : workers + servers; }
  int server_member(int s) const { return colocated ? s : workers + s; }
  // The server this member runs, or -1.
  int server_of(int member) const;
  bool is_worker(int member) const { return member < workers; }
};

// Member `index`'s part of bucket b's push/pull pipeline over the window of the iteration buffer.
// Servers add the pushed pieces up (recv_reduce) and workers receive the aggregate (recv_copy):
// after the exchange every worker holds the sum of the workers' gradients of the bucket.
class PsExchangeSchedule final : public core::Schedule {
 public:
  PsExchangeSchedule(std::shared_ptr<const PsLayout> layout, std::size_t bucket, PsRoles roles, int index);
  std::size_t rounds() const override { return rounds_; }
  void round(std::size_t t, std::vector<core::Op>& out) const override;

 private:
  std::shared_ptr<const PsLayout> layout_;
  std::size_t bucket_;
  PsRoles roles_;
  std::size_t rounds_;
  std::uint64_t base_;  // window offset in the iteration buffer
};

}  // namespace dmlsim::strategies
