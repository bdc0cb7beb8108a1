#pragma once
// A group of ranks as one rank sees it: its index in the group, a message context of its own and
// a named stream for collectives. Made by the backend (Rank::communicator), so that tags can
// never collide between communicators (data-parallel, tensor-parallel, pipeline and control
// traffic each have their own) and collectives are built for this member's index in the group,
// not its rank in the world.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/collective.hpp"
#include "core/errors.hpp"
#include "core/group.hpp"
#include "core/rank.hpp"

namespace dmlsim::core {

// The error of a rank that asks for a second communicator of one name over another group (every
// backend refuses it: the name must tell the communicator, in the trace too).
ValueError name_taken_error(int rank, std::string_view name);

class Communicator {
 public:
  const Group& group() const { return group_; }
  int index() const { return index_; }  // this rank's member index
  int size() const { return group_.size(); }
  int rank_of(int member) const { return group_.at(member); }
  const std::string& name() const { return name_; }  // with its epoch, "dp@1", past epoch 0
  int epoch() const { return epoch_; }
  std::uint32_t context() const { return context_; }
  Rank& rank() const { return *rank_; }

  // Point to point between members (group indices); tags are this communicator's own.
  Request isend(int member, Buffer buffer, int tag = 0);
  Request irecv(int member, Buffer buffer, int tag = 0);

  // A collective on the caller's control flow. The schedule must be this member's
  // (check_member_schedule).
  void run(const Schedule& schedule, ElementBuffer buffer);
  // A collective on this communicator's stream (see Rank::start); wait with rank().wait(handle).
  CollectiveHandle start(SchedulePtr schedule, ElementBuffer buffer);

  // The collective's schedule for this member, built by `algorithm`.
  SchedulePtr schedule(Collective collective, const CollectiveAlgorithm& algorithm, std::uint64_t count,
                       std::uint32_t element_bytes) const;
  void all_reduce(ElementBuffer buffer, const CollectiveAlgorithm& algorithm);
  void reduce_scatter(ElementBuffer buffer, const CollectiveAlgorithm& algorithm);
  void all_gather(ElementBuffer buffer, const CollectiveAlgorithm& algorithm);
  void broadcast(ElementBuffer buffer, const CollectiveAlgorithm& algorithm);  // from member 0
  void reduce(ElementBuffer buffer, const CollectiveAlgorithm& algorithm);     // to member 0

 private:
  friend class Rank;
  Communicator(Rank& rank, Group group, std::string name, int epoch, std::uint32_t context);
  void run(Collective collective, ElementBuffer buffer, const CollectiveAlgorithm& algorithm);

  Rank* rank_;
  Group group_;
  std::string name_;
  int epoch_;
  std::uint32_t context_;
  int index_;
};

}  // namespace dmlsim::core
