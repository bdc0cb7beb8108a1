#include "strategies/training/ps_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>

#include "core/errors.hpp"
#include "strategies/collectives/verify.hpp"

namespace dmlsim::strategies {

namespace {

class UpdateServer {
 public:
  UpdateServer(core::Rank& rank, const UpdateServerPlan& plan)
      : rank_(rank),
        plan_(plan),
        pieces_(static_cast<std::uint64_t>(plan.pieces.size())),
        pushes_(static_cast<std::size_t>(plan.workers), 0),
        version_(plan.pieces.size(), 0),
        read_version_(static_cast<std::size_t>(plan.workers),
                      std::vector<std::uint64_t>(plan.pieces.size(), 0)),
        requests_(static_cast<std::size_t>(plan.workers)) {
    std::uint64_t offset = 0, largest = 0;
    for (const core::ElementRange& p : plan.pieces) {
      state_offset_.push_back(offset);
      offset += p.count;
      largest = std::max(largest, p.count);
    }
    if (plan.payload) {
      state_.assign(offset, 0.0F);
      scratch_.assign(static_cast<std::size_t>(plan.workers), std::vector<float>(largest));
    }
  }

  void run() {
    const std::uint64_t per_worker = pieces_ * static_cast<std::uint64_t>(plan_.iterations);
    std::uint64_t outstanding = per_worker * static_cast<std::uint64_t>(plan_.workers);
    for (int w = 0; w < plan_.workers; ++w) post_receive(w);
    const auto workers = static_cast<std::size_t>(plan_.workers);
    std::vector<std::size_t> arrived, answered;
    while (outstanding > 0 || requests_.size() > workers) {
      // Everything that has completed by now: a queue of pushes is served one at a time, in worker
      // order when several arrive at the same instant (a simulation's exact ties would otherwise be
      // broken by the engine's internal order, which changes from one iteration to the next).
      arrived.clear();
      answered.clear();
      for (std::optional<std::size_t> done = rank_.wait_any(requests_); done;
           done = rank_.test_any(requests_))
        (*done < workers ? arrived : answered).push_back(*done);
      std::sort(arrived.begin(), arrived.end());
      for (const std::size_t w : arrived) {
        apply(static_cast<int>(w));
        --outstanding;
        if (pushes_[w] < per_worker) post_receive(static_cast<int>(w));
        release();
      }
      // Answers that went out: forget them (and their copies of the state), last first so that
      // the swap with the back never moves one still to be removed.
      std::sort(answered.rbegin(), answered.rend());
      for (const std::size_t i : answered) {
        std::swap(requests_[i], requests_.back());
        std::swap(answer_data_[i - workers], answer_data_.back());
        requests_.pop_back();
        answer_data_.pop_back();
      }
    }
    if (plan_.payload) check_state();
  }

 private:
  struct Pending {
    int worker;
    std::uint64_t piece;
    std::uint64_t iteration;
  };

  std::uint64_t piece_bytes(std::uint64_t j) const { return plan_.pieces[j].count * plan_.element_bytes; }

  void post_receive(int w) {
    const std::uint64_t j = pushes_[static_cast<std::size_t>(w)] % pieces_;
    std::byte* target =
        plan_.payload ? reinterpret_cast<std::byte*>(scratch_[static_cast<std::size_t>(w)].data()) : nullptr;
    requests_[static_cast<std::size_t>(w)] = rank_.irecv(w, {piece_bytes(j), target}, plan_.tag);
  }

  // Worker w's push arrived: apply it now, and queue the answer to its pull.
  void apply(int w) {
    const auto uw = static_cast<std::size_t>(w);
    const std::uint64_t j = pushes_[uw] % pieces_, iteration = pushes_[uw] / pieces_;
    ++pushes_[uw];
    const std::uint64_t staleness = version_[j] - read_version_[uw][j];
    {
      core::Phase mark(rank_, kUpdateMark, static_cast<int>(iteration),
                       core::EventAttributes().set(core::Attribute::staleness, static_cast<int>(staleness)));
    }
    ++version_[j];
    if (plan_.payload) {
      float* state = state_.data() + state_offset_[j];
      const float* update = scratch_[uw].data();
      for (std::uint64_t k = 0; k < plan_.pieces[j].count; ++k) state[k] += update[k];
    }
    pending_.push_back({w, j, iteration});
  }

  // Times worker u has pushed piece j so far (it pushes pieces 0..L−1 of each iteration in order).
  std::uint64_t pushes_of(std::size_t u, std::uint64_t j) const {
    return pushes_[u] > j ? (pushes_[u] - j - 1) / pieces_ + 1 : 0;
  }

  bool may_answer(const Pending& p) const {
    if (!plan_.staleness_bound) return true;
    // Every worker must have pushed piece j of iteration t − s: pushes_of(u, j) ≥ t − s + 1.
    const auto s = static_cast<std::uint64_t>(*plan_.staleness_bound);
    if (p.iteration < s) return true;
    const std::uint64_t needed = p.iteration - s + 1;
    for (std::size_t u = 0; u < pushes_.size(); ++u) {
      if (pushes_of(u, p.piece) < needed) return false;
    }
    return true;
  }

  // Answers every pull the bound allows, in arrival order. A worker's answers leave in the order
  // of its pushes: if its later piece may be answered, so may its earlier one (every worker
  // pushes pieces in order, so pushes_of(u, j) never grows with j).
  void release() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (!may_answer(*it)) {
        ++it;
        continue;
      }
      const auto uw = static_cast<std::size_t>(it->worker);
      read_version_[uw][it->piece] = version_[it->piece];
      std::vector<float> copy;  // the state as it is now, kept until the send completes
      if (plan_.payload) {
        const float* state = state_.data() + state_offset_[it->piece];
        copy.assign(state, state + plan_.pieces[it->piece].count);
      }
      std::byte* data = plan_.payload ? reinterpret_cast<std::byte*>(copy.data()) : nullptr;
      requests_.push_back(rank_.isend(it->worker, {piece_bytes(it->piece), data}, plan_.tag));
      answer_data_.push_back(std::move(copy));
      it = pending_.erase(it);
    }
  }

  void check_state() const {
    for (std::size_t j = 0; j < plan_.pieces.size(); ++j) {
      const core::ElementRange& piece = plan_.pieces[j];
      for (std::uint64_t k = 0; k < piece.count; ++k) {
        float expected = 0;
        for (int w = 0; w < plan_.workers; ++w) expected += test_input(w, piece.offset + k);
        expected *= static_cast<float>(plan_.iterations);
        const float found = state_[state_offset_[j] + k];
        if (found != expected) {
          throw core::BackendError(fmt::format(
              "parameter server rank {}: element {} is {} after every update, expected {} ({} iterations "
              "of {} workers)",
              rank_.rank(), piece.offset + k, found, expected, plan_.iterations, plan_.workers));
        }
      }
    }
  }

  core::Rank& rank_;
  const UpdateServerPlan& plan_;
  std::uint64_t pieces_;
  std::vector<std::uint64_t> pushes_;                     // pushes received per worker
  std::vector<std::uint64_t> version_;                    // updates applied per piece
  std::vector<std::vector<std::uint64_t>> read_version_;  // [worker][piece]: version it last pulled
  std::vector<std::uint64_t> state_offset_;
  std::vector<float> state_;                 // payload: the sum of every update applied
  std::vector<std::vector<float>> scratch_;  // payload: one receive buffer per worker
  std::deque<Pending> pending_;
  // [0, workers): the receive posted for each worker; then the answers in flight.
  std::vector<core::Request> requests_;
  std::vector<std::vector<float>> answer_data_;  // payload copies of the answers in flight
};

}  // namespace

void serve_updates(core::Rank& rank, const UpdateServerPlan& plan) {
  if (plan.pieces.empty()) throw core::ValueError("a parameter server needs at least one piece to serve");
  core::Phase serve(rank, "serve");
  UpdateServer(rank, plan).run();
}

}  // namespace dmlsim::strategies
