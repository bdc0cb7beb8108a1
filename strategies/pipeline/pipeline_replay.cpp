#include "strategies/pipeline/pipeline_replay.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "core/errors.hpp"

namespace dmlsim::strategies::pipeline {

namespace {

// A message in flight: what it carries, for which micro-batch, to which virtual stage.
struct MessageKey {
  bool gradient;
  int micro_batch;
  int to_virtual_stage;
  auto operator<=>(const MessageKey&) const = default;
};

struct Sent {
  int from_stage;
  double arrives;
  bool received = false;
};

std::string where(const PipelineSchedule& s, int stage, std::size_t index) {
  const PipelineAction& a = s.actions[static_cast<std::size_t>(stage)][index];
  std::string what =
      fmt::format("stage {} action {} ({} of micro-batch {}", stage, index, to_string(a.op), a.micro_batch);
  if (s.chunks > 1) what += fmt::format(", chunk {}", a.chunk);
  if (a.peer >= 0) what += fmt::format(", peer stage {}", a.peer);
  return what + ")";
}

class Replay {
 public:
  Replay(const PipelineSchedule& s, const ComputeCost& cost, const MessageCost& message)
      : s_(s), cost_(cost), message_(message) {
    const auto p = static_cast<std::size_t>(s.stages);
    if (s.actions.size() != p)
      throw core::ValueError(
          fmt::format("a schedule of {} stages lists {} stages' actions", p, s.actions.size()));
    clock_.assign(p, 0);
    next_.assign(p, 0);
    result_.busy.assign(p, 0);
    result_.gradients_done.assign(p,
                                  std::vector<double>(static_cast<std::size_t>(std::max(1, s.chunks)), 0.0));
    result_.peak_in_flight.assign(p, 0);
    in_flight_.assign(p, {});
  }

  ReplayResult run() {
    for (bool progress = true; progress;) {
      progress = false;
      for (int stage = 0; stage < s_.stages; ++stage) {
        while (next_[idx(stage)] < s_.actions[idx(stage)].size() && step(stage)) progress = true;
      }
    }
    report_deadlock();
    check_complete();
    result_.finish = clock_;
    result_.makespan = *std::max_element(clock_.begin(), clock_.end());
    return std::move(result_);
  }

 private:
  static std::size_t idx(int stage) { return static_cast<std::size_t>(stage); }

  [[noreturn]] void fail(int stage, std::size_t index, std::string_view problem) const {
    throw core::ValueError(fmt::format("{}: {}", where(s_, stage, index), problem));
  }

  // Runs the stage's next action; false when it is a receive whose message is not there yet.
  bool step(int stage) {
    const std::size_t index = next_[idx(stage)];
    const PipelineAction& a = s_.actions[idx(stage)][index];
    if (a.micro_batch < 0 || a.micro_batch >= s_.micro_batches || a.chunk < 0 || a.chunk >= s_.chunks)
      fail(stage, index, "micro-batch or chunk out of range");
    const int vs = s_.virtual_stage(stage, a.chunk);
    const auto done_key = std::make_tuple(stage, a.chunk, a.micro_batch);
    double& clock = clock_[idx(stage)];
    switch (a.op) {
      case PipelineOp::forward:
        if (vs > 0 && !received({false, a.micro_batch, vs}))
          fail(stage, index, "runs before its activation is received");
        if (!forwarded_.insert(done_key).second) fail(stage, index, "runs twice");
        compute(stage, a);
        in_flight_[idx(stage)].insert({a.chunk, a.micro_batch});
        result_.peak_in_flight[idx(stage)] =
            std::max(result_.peak_in_flight[idx(stage)], static_cast<int>(in_flight_[idx(stage)].size()));
        break;
      case PipelineOp::backward:
        if (!forwarded_.count(done_key)) fail(stage, index, "runs before its forward");
        if (vs < s_.virtual_stages() - 1 && !received({true, a.micro_batch, vs}))
          fail(stage, index, "runs before its gradient is received");
        if (!backwarded_.insert(done_key).second) fail(stage, index, "runs twice");
        compute(stage, a);
        if (!s_.split_backward) in_flight_[idx(stage)].erase({a.chunk, a.micro_batch});
        break;
      case PipelineOp::weight_gradient:
        if (!s_.split_backward)
          fail(stage, index, "a weight gradient in a schedule whose backward includes it");
        if (!backwarded_.count(done_key)) fail(stage, index, "runs before its backward");
        if (!weighted_.insert(done_key).second) fail(stage, index, "runs twice");
        compute(stage, a);
        in_flight_[idx(stage)].erase({a.chunk, a.micro_batch});
        break;
      case PipelineOp::send_activation:
      case PipelineOp::send_gradient: {
        const bool gradient = a.op == PipelineOp::send_gradient;
        const int to = gradient ? vs - 1 : vs + 1;
        if (to < 0 || to >= s_.virtual_stages()) fail(stage, index, "sends past the end of the pipeline");
        if (a.peer != s_.stage_of(to))
          fail(stage, index, fmt::format("the next stage is {}", s_.stage_of(to)));
        if (!(gradient ? backwarded_ : forwarded_).count(done_key))
          fail(stage, index, "sends before computing what it sends");
        // One message at a time to a peer: the send waits for the previous one to arrive.
        double& link_free = link_free_[{stage, a.peer}];
        clock = std::max(clock, link_free);
        link_free = clock + (message_ ? message_(gradient ? vs - 1 : vs) : 0.0);
        if (!sent_.emplace(MessageKey{gradient, a.micro_batch, to}, Sent{stage, link_free}).second)
          fail(stage, index, "sends the same message twice");
        break;
      }
      case PipelineOp::recv_activation:
      case PipelineOp::recv_gradient: {
        const bool gradient = a.op == PipelineOp::recv_gradient;
        const auto it = sent_.find({gradient, a.micro_batch, vs});
        if (it == sent_.end()) return false;  // not sent yet: wait
        if (it->second.received) fail(stage, index, "receives a message twice");
        if (it->second.from_stage != a.peer)
          fail(stage, index, fmt::format("the message comes from stage {}", it->second.from_stage));
        it->second.received = true;
        clock = std::max(clock, it->second.arrives);
        break;
      }
    }
    ++next_[idx(stage)];
    return true;
  }

  bool received(const MessageKey& key) const {
    const auto it = sent_.find(key);
    return it != sent_.end() && it->second.received;
  }

  void compute(int stage, const PipelineAction& a) {
    const double seconds = cost_(stage, a.chunk, a.op);
    clock_[idx(stage)] += seconds;
    result_.busy[idx(stage)] += seconds;
    if (a.op == s_.last_pass() && a.chunk >= 0 && a.chunk < s_.chunks) {
      double& done = result_.gradients_done[idx(stage)][static_cast<std::size_t>(a.chunk)];
      done = std::max(done, clock_[idx(stage)]);
    }
  }

  void report_deadlock() const {
    std::vector<std::string> stuck;
    for (int stage = 0; stage < s_.stages; ++stage) {
      if (next_[idx(stage)] < s_.actions[idx(stage)].size())
        stuck.push_back(where(s_, stage, next_[idx(stage)]));
    }
    if (!stuck.empty())
      throw core::ValueError(
          fmt::format("the schedule deadlocks: {} wait(s) forever", fmt::join(stuck, "; ")));
  }

  void check_complete() const {
    for (const auto& [key, sent] : sent_) {
      if (!sent.received) {
        throw core::ValueError(
            fmt::format("stage {} sends the {} of micro-batch {} to virtual stage {}, which never "
                        "receives it",
                        sent.from_stage, key.gradient ? "gradient" : "activation", key.micro_batch,
                        key.to_virtual_stage));
      }
    }
    for (int stage = 0; stage < s_.stages; ++stage) {
      for (int chunk = 0; chunk < s_.chunks; ++chunk) {
        for (int mb = 0; mb < s_.micro_batches; ++mb) {
          const auto key = std::make_tuple(stage, chunk, mb);
          const bool weight = !s_.split_backward || weighted_.count(key);
          if (!forwarded_.count(key) || !backwarded_.count(key) || !weight) {
            throw core::ValueError(fmt::format("stage {} never runs the {} of micro-batch {} (chunk {})",
                                               stage,
                                               !forwarded_.count(key)    ? "forward"
                                               : !backwarded_.count(key) ? "backward"
                                                                         : "weight gradient",
                                               mb, chunk));
          }
        }
      }
    }
  }

  const PipelineSchedule& s_;
  const ComputeCost& cost_;
  const MessageCost& message_;
  std::vector<double> clock_;
  std::vector<std::size_t> next_;
  std::map<MessageKey, Sent> sent_;
  std::map<std::pair<int, int>, double> link_free_;  // (stage, peer) → when its last message arrives
  std::set<std::tuple<int, int, int>> forwarded_, backwarded_, weighted_;  // (stage, chunk, micro-batch)
  std::vector<std::set<std::pair<int, int>>> in_flight_;                   // per stage: (chunk, micro-batch)
  ReplayResult result_;
};

}  // namespace

double ReplayResult::bubble_fraction() const {
  if (makespan <= 0 || busy.empty()) return 0;
  const double work = std::accumulate(busy.begin(), busy.end(), 0.0);
  return 1 - work / (static_cast<double>(busy.size()) * makespan);
}

ReplayResult replay(const PipelineSchedule& schedule, const ComputeCost& cost, const MessageCost& message) {
  return Replay(schedule, cost, message).run();
}

}  // namespace dmlsim::strategies::pipeline
