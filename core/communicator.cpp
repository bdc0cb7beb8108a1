#include "core/communicator.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"

namespace dmlsim::core {

ValueError name_taken_error(int rank, std::string_view name) {
  return ValueError(fmt::format(
      "rank {} already holds a communicator named '{}' over another group; give each group its own name",
      rank, name));
}

Communicator::Communicator(Rank& rank, Group group, std::string name, int epoch, std::uint32_t context)
    : rank_(&rank), group_(std::move(group)), name_(std::move(name)), epoch_(epoch), context_(context) {
  index_ = group_.index_of(rank.rank());
}

Request Communicator::isend(int member, Buffer buffer, int tag) {
  return rank_->isend(group_.at(member), buffer, Tag(context_, tag));
}

Request Communicator::irecv(int member, Buffer buffer, int tag) {
  return rank_->irecv(group_.at(member), buffer, Tag(context_, tag));
}

void Communicator::run(const Schedule& schedule, ElementBuffer buffer) {
  rank_->run(schedule, group_, buffer, Tag(context_, 0));
}

CollectiveHandle Communicator::start(SchedulePtr schedule, ElementBuffer buffer) {
  // Checked now, not when the stream gets to it: the error belongs to the caller.
  check_member_schedule(*schedule, group_, buffer, rank_->rank());
  return rank_->start(std::move(schedule), group_, buffer, Tag(context_, 0), name_);
}

SchedulePtr Communicator::schedule(Collective collective, const CollectiveAlgorithm& algorithm,
                                   std::uint64_t count, std::uint32_t element_bytes) const {
  return algorithm.schedule(collective, size(), index_, count, element_bytes);
}

void Communicator::run(Collective collective, ElementBuffer buffer, const CollectiveAlgorithm& algorithm) {
  run(*schedule(collective, algorithm, buffer.count, buffer.element_bytes), buffer);
}

void Communicator::all_reduce(ElementBuffer buffer, const CollectiveAlgorithm& algorithm) {
  run(Collective::all_reduce, buffer, algorithm);
}
void Communicator::reduce_scatter(ElementBuffer buffer, const CollectiveAlgorithm& algorithm) {
  run(Collective::reduce_scatter, buffer, algorithm);
}
void Communicator::all_gather(ElementBuffer buffer, const CollectiveAlgorithm& algorithm) {
  run(Collective::all_gather, buffer, algorithm);
}
void Communicator::broadcast(ElementBuffer buffer, const CollectiveAlgorithm& algorithm) {
  run(Collective::broadcast, buffer, algorithm);
}
void Communicator::reduce(ElementBuffer buffer, const CollectiveAlgorithm& algorithm) {
  run(Collective::reduce, buffer, algorithm);
}

}  // namespace dmlsim::core
