#include "core/rank.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "core/communicator.hpp"
#include "core/errors.hpp"

namespace dmlsim::core {

void Rank::compute(std::span<const Kernel> kernels) {
  for (const Kernel& k : kernels) compute(k);
}

void Rank::compute_repeated(std::span<const Kernel> kernels, std::int64_t times) {
  for (std::int64_t i = 0; i < times; ++i) compute(kernels);
}

void Rank::wait_all(std::span<Request> requests) {
  for (Request& r : requests) wait(r);
}

std::optional<std::size_t> Rank::wait_any_for(std::span<Request>, double) {
  throw BackendError("this backend cannot wait for a message with a timeout (wait_any_for)");
}

bool Rank::cancel(Request&) {
  throw BackendError("this backend cannot cancel a receive");
}

void Rank::agree(const Group&, std::span<double>) {
  throw BackendError("this backend cannot agree on values outside the job's traffic (agree)");
}

Communicator Rank::communicator(const Group& group, std::string_view name, int epoch) {
  if (name.empty()) throw ValueError("a communicator needs a name");
  if (name.find('@') != std::string_view::npos)
    throw ValueError(fmt::format("communicator name '{}': '@' is kept for epochs (name@epoch)", name));
  if (epoch < 0) throw ValueError(fmt::format("communicator '{}': epoch {} is negative", name, epoch));
  const std::string key = epoch == 0 ? std::string(name) : fmt::format("{}@{}", name, epoch);
  if (group.index_of(rank()) < 0) {
    throw ValueError(
        fmt::format("rank {} asked for communicator '{}' of a group it is not a member of", rank(), key));
  }
  return Communicator(*this, group, key, epoch, open_context(group, key));
}

void check_member_schedule(const Schedule& schedule, const Group& group, ElementBuffer buffer, int rank) {
  if (buffer.count != schedule.count()) {
    throw ValueError(fmt::format("{} {} schedule is for {} elements, the buffer has {}",
                                 schedule.collective(), schedule.algorithm(), schedule.count(),
                                 buffer.count));
  }
  if (buffer.has_data() && buffer.element_bytes != sizeof(float)) {
    throw ValueError("collectives over real data reduce floats: element_bytes must be 4");
  }
  if (group.index_of(rank) != schedule.index() || group.size() != schedule.group_size()) {
    throw ValueError(fmt::format("rank {} runs the {} {} schedule of member {} of {} but is member {} of {}",
                                 rank, schedule.collective(), schedule.algorithm(), schedule.index(),
                                 schedule.group_size(), group.index_of(rank), group.size()));
  }
}

void Rank::run(const Schedule& schedule, const Group& group, ElementBuffer buffer, Tag tag) {
  check_member_schedule(schedule, group, buffer, rank());
  const double start = now();
  if (group.size() > 1) begin_collective();
  const std::vector<SchedulePart> parts = schedule.parts();
  if (parts.empty()) execute(schedule, group, buffer, tag, {0, schedule.rounds()});
  for (std::uint32_t i = 0; i < parts.size(); ++i) {
    const double part_start = now();
    execute(schedule, group, buffer, tag, parts[i].rounds);
    on_collective_part(schedule, parts[i], i, buffer, part_start, now());
  }
  on_collective(schedule, buffer, start, now());
}

void Rank::execute(const Schedule& schedule, const Group& group, ElementBuffer buffer, Tag tag,
                   RoundSpan rounds) {
  execute_steps(*this, schedule, group, buffer, tag, rounds.begin, rounds.end);
}

void Rank::on_collective(const Schedule&, ElementBuffer, double, double) {}
void Rank::on_collective_part(const Schedule&, const SchedulePart&, std::uint32_t, ElementBuffer, double,
                              double) {}

namespace {
struct CompletedCollective final : CollectiveHandle::State {};
}  // namespace

CollectiveHandle Rank::start(SchedulePtr schedule, Group group, ElementBuffer buffer, Tag tag,
                             std::string_view) {
  run(*schedule, group, buffer, tag);
  return CollectiveHandle(std::make_unique<CompletedCollective>());
}

void Rank::wait(CollectiveHandle& handle) {
  handle.release();
}

void Rank::wait_all(std::span<CollectiveHandle> handles) {
  for (CollectiveHandle& h : handles) wait(h);
}

void execute_steps(Rank& rank, const Schedule& schedule, const Group& group, ElementBuffer buffer, Tag tag,
                   std::size_t first_round, std::size_t end_round) {
  std::vector<Op> ops;
  std::vector<Request> requests;
  std::vector<std::vector<float>> scratch;  // one per recv_reduce of the round
  const auto element_bytes = buffer.element_bytes;
  auto slice = [&](const ElementRange& r) {
    return Buffer{r.count * element_bytes,
                  buffer.has_data() ? reinterpret_cast<std::byte*>(buffer.data + r.offset) : nullptr};
  };
  for (std::size_t t = first_round; t < end_round; ++t) {
    ops.clear();
    schedule.round(t, ops);
    requests.clear();
    std::size_t reductions = 0;
    for (const Op& op : ops) {
      if (op.range.count == 0) continue;  // both sides skip an empty chunk
      const int peer = group.at(op.peer);
      switch (op.kind) {
        case OpKind::send:
          requests.push_back(rank.isend(peer, slice(op.range), tag));
          break;
        case OpKind::recv_copy:
          requests.push_back(rank.irecv(peer, slice(op.range), tag));
          break;
        case OpKind::recv_reduce: {
          Buffer target{op.range.count * element_bytes, nullptr};
          if (buffer.has_data()) {
            if (scratch.size() <= reductions) scratch.emplace_back();
            scratch[reductions].resize(op.range.count);
            target.data = reinterpret_cast<std::byte*>(scratch[reductions].data());
          }
          ++reductions;
          requests.push_back(rank.irecv(peer, target, tag));
          break;
        }
      }
    }
    rank.wait_all(requests);
    if (!buffer.has_data()) continue;
    std::size_t r = 0;
    for (const Op& op : ops) {
      if (op.kind != OpKind::recv_reduce || op.range.count == 0) continue;
      float* dst = buffer.data + op.range.offset;
      const float* src = scratch[r++].data();
      for (std::uint64_t i = 0; i < op.range.count; ++i) dst[i] += src[i];
    }
  }
}

}  // namespace dmlsim::core
