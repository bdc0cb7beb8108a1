#include "sim/sim_world.hpp"

#include "sim/platform_builder.hpp"

#include <fmt/format.h>

#include <simgrid/s4u.hpp>

#include "core/communicator.hpp"
#include "core/errors.hpp"

namespace dmlsim::sim {

namespace sg = simgrid::s4u;

SimWorld::SimWorld(const core::Experiment& experiment, std::vector<sg::Host*> rank_hosts, int job)
    : experiment_(experiment), job_(job), rank_hosts_(std::move(rank_hosts)) {
  if (experiment.platform.shared_cores > 0) shared_cores_ = sg::Host::by_name(kSharedCoresHost);
}

sg::Mailbox* SimWorld::mailbox(int src, int dst, core::Tag tag) {
  const core::MessageSequencer::Channel key{src, dst, tag, 0};
  if (const auto it = mailboxes_.find(key); it != mailboxes_.end()) return it->second;
  // Mailbox::by_name is a simcall: other actors run meanwhile and may grow the map, so no iterator
  // into it may be held across the call.
  sg::Mailbox* mailbox = sg::Mailbox::by_name(
      job_ == 0 ? fmt::format("{}>{}#{}.{}", src, dst, tag.context, tag.value)
                : fmt::format("j{}:{}>{}#{}.{}", job_, src, dst, tag.context, tag.value));
  mailboxes_.emplace(key, mailbox);
  return mailbox;
}

std::uint32_t SimWorld::context(int rank, const core::Group& group, std::string_view name) {
  ContextKey key{std::string(name), group};
  auto [it, added] = contexts_.try_emplace(std::move(key), static_cast<std::uint32_t>(context_names_.size()));
  if (added) context_names_.emplace_back(name);
  const std::uint32_t id = it->second;
  auto [held, first] = held_[std::string(name)].try_emplace(rank, id);
  if (!first && held->second != id) throw core::name_taken_error(rank, name);
  return id;
}

std::string_view SimWorld::context_name(std::uint32_t context) const {
  return context_names_[context];
}

const Route& SimWorld::route(int src, int dst) {
  const std::uint64_t key = pair_key(src, dst);
  if (const auto it = routes_.find(key); it != routes_.end()) return it->second;
  Route route;
  std::vector<sg::Link*> links;
  host_of(src)->route_to(host_of(dst), links, &route.latency);
  for (const sg::Link* link : links) {
    auto [index, added] = link_index_.try_emplace(link, static_cast<std::uint32_t>(links_.size()));
    if (added) {
      links_.push_back(link);
      link_bytes_.push_back(0);
    }
    route.links.push_back(index->second);
  }
  return routes_.emplace(key, std::move(route)).first->second;
}

void SimWorld::account(int src, int dst, std::uint64_t bytes) {
  ++messages_;
  for (std::uint32_t link : route(src, dst).links) link_bytes_[link] += bytes;
}

bool SimWorld::use_flows(int group_size) const {
  switch (experiment_.fidelity) {
    case core::CollectiveFidelity::steps:
      return false;
    case core::CollectiveFidelity::flows:
      return true;
    case core::CollectiveFidelity::automatic:
      return !experiment_.payload && group_size > core::kAutoStepsMaxGroup;
  }
  return false;
}

void SimWorld::begin_span(std::uint32_t context, const core::Group& group, std::size_t first_round, int index,
                          double arrival) {
  const int n = group.size();
  const auto key = std::make_tuple(context, group.hash(), first_round);
  std::shared_ptr<SpanInstance>& slot = spans_[key];
  if (!slot) {
    slot = std::make_shared<SpanInstance>();
    slot->begin_barrier = simgrid::s4u::Barrier::create(static_cast<unsigned>(n));
    slot->end_barrier = simgrid::s4u::Barrier::create(static_cast<unsigned>(n));
    slot->arrival.resize(static_cast<std::size_t>(n));
  }
  const std::shared_ptr<SpanInstance> span = slot;
  span->arrival[static_cast<std::size_t>(index)] = arrival;
  ++span->begun;
  span->begin_barrier->wait();
}

void SimWorld::agree(const core::Group& group, std::uint64_t sequence, int index, std::span<double> values) {
  std::shared_ptr<Agreement>& slot = agreements_[AgreementKey{group, sequence}];
  if (!slot) {
    slot = std::make_shared<Agreement>();
    slot->posted = simgrid::s4u::Semaphore::create(0);
  }
  const std::shared_ptr<Agreement> agreement = slot;
  const int others = group.size() - 1;
  if (index == 0) {
    agreement->values.assign(values.begin(), values.end());
    for (int i = 0; i < others; ++i) agreement->posted->release();
  } else {
    agreement->posted->acquire();
    if (agreement->values.size() != values.size()) {
      throw core::BackendError(fmt::format("agree: member {} gave {} values, member 0 gave {}", index,
                                           values.size(), agreement->values.size()));
    }
    std::copy(agreement->values.begin(), agreement->values.end(), values.begin());
    ++agreement->taken;
  }
  if (agreement->taken == others) agreements_.erase(AgreementKey{group, sequence});
}

double SimWorld::end_span(std::uint32_t context, const core::Group& group, std::size_t first_round, int index,
                          std::vector<std::vector<RoundMessage>> sends, double together) {
  const int n = group.size();
  const auto key = std::make_tuple(context, group.hash(), first_round);
  const std::shared_ptr<SpanInstance> span = spans_.at(key);
  span->together = std::max(span->together, together);
  if (sends.empty()) span->every_round = false;
  if (span->every_round) {
    if (span->rounds.size() < sends.size()) span->rounds.resize(sends.size());
    for (std::size_t t = 0; t < sends.size(); ++t) {
      span->rounds[t].insert(span->rounds[t].end(), sends[t].begin(), sends[t].end());
    }
  } else {
    span->rounds.clear();
  }
  if (++span->ended == n) {
    // The last to end computes every member's end, and retires the instance before anyone is
    // released: the communicator's next collective gets a span of its own.
    span->end = span->every_round ? round_by_round_ends(span->arrival, span->rounds)
                                  : std::vector<double>(static_cast<std::size_t>(n), span->together);
    span->rounds = {};
    spans_.erase(key);
  }
  span->end_barrier->wait();
  return span->end[static_cast<std::size_t>(index)];
}

void* SimWorld::hold_payload(std::unique_ptr<std::vector<std::byte>> bytes) {
  void* key = bytes.get();
  payloads_.emplace(key, std::move(bytes));
  return key;
}

std::unique_ptr<std::vector<std::byte>> SimWorld::take_payload(void* held) {
  const auto it = payloads_.find(held);
  if (it == payloads_.end()) return nullptr;
  std::unique_ptr<std::vector<std::byte>> bytes = std::move(it->second);
  payloads_.erase(it);
  return bytes;
}

std::vector<core::LinkUsage> SimWorld::link_usage() const {
  std::vector<core::LinkUsage> out;
  for (std::size_t i = 0; i < links_.size(); ++i) {
    if (link_bytes_[i] == 0) continue;
    out.push_back({std::string(links_[i]->get_name()), links_[i]->get_bandwidth(), link_bytes_[i]});
  }
  return out;
}

void SimWorld::fail(std::exception_ptr error) {
  if (!error_) error_ = error;
}

}  // namespace dmlsim::sim
