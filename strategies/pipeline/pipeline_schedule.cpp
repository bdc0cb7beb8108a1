#include "strategies/pipeline/pipeline_schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "core/errors.hpp"

namespace dmlsim::strategies::pipeline {

namespace {

constexpr std::array<std::string_view, 4> kKindNames = {"gpipe", "1f1b", "interleaved", "zb-h1"};

struct Compute {
  PipelineOp op;
  int micro_batch;
  int chunk;
};

// GPipe: all forwards, then all backwards from the last micro-batch back.
std::vector<Compute> gpipe_order(int m) {
  std::vector<Compute> order;
  for (int i = 0; i < m; ++i) order.push_back({PipelineOp::forward, i, 0});
  for (int i = m - 1; i >= 0; --i) order.push_back({PipelineOp::backward, i, 0});
  return order;
}

// 1F1B (PipeDream-Flush): p − s − 1 warm-up forwards, then one forward and one backward in turn,
// then the backwards left.
std::vector<Compute> one_f_one_b_order(int p, int m, int s) {
  const int warmup = std::min(p - s - 1, m);
  std::vector<Compute> order;
  for (int i = 0; i < warmup; ++i) order.push_back({PipelineOp::forward, i, 0});
  for (int i = 0; i < m - warmup; ++i) {
    order.push_back({PipelineOp::forward, warmup + i, 0});
    order.push_back({PipelineOp::backward, i, 0});
  }
  for (int i = m - warmup; i < m; ++i) order.push_back({PipelineOp::backward, i, 0});
  return order;
}

// ZB-H1: 1F1B's forwards and input-gradient backwards (p − s forwards, then B and F in turn), with
// stage s's weight gradients following its backwards s places late; the last ones drain at the end.
std::vector<Compute> zb_h1_order(int p, int m, int s) {
  const int warmup = std::min(p - s, m);
  std::vector<Compute> order;
  int next_forward = 0, next_weight = 0;
  for (; next_forward < warmup; ++next_forward) order.push_back({PipelineOp::forward, next_forward, 0});
  for (int i = 0; i < m; ++i) {
    order.push_back({PipelineOp::backward, i, 0});
    if (i >= s) order.push_back({PipelineOp::weight_gradient, next_weight++, 0});
    if (next_forward < m) order.push_back({PipelineOp::forward, next_forward++, 0});
  }
  while (next_weight < m) order.push_back({PipelineOp::weight_gradient, next_weight++, 0});
  return order;
}

// Interleaved 1F1B as Megatron-LM runs it (schedules.py, forward_backward_pipelining_with_
// interleaving): the k-th forward is chunk ⌊(k mod p·v) / p⌋ of micro-batch ⌊k / (p·v)⌋·p + k mod p,
// the k-th backward the same micro-batch of chunk v − 1 − that; (p − s − 1)·2 + (v − 1)·p warm-up
// forwards, or every forward first when m = p; then forward k + warm-up and backward k in turn.
std::vector<Compute> interleaved_order(int p, int m, int v, int s) {
  const int total = m * v;
  const int warmup = m == p ? total : std::min((p - s - 1) * 2 + (v - 1) * p, total);
  auto micro_batch = [&](int k) { return k / (p * v) * p + k % p; };
  auto forward = [&](int k) { return Compute{PipelineOp::forward, micro_batch(k), k % (p * v) / p}; };
  auto backward = [&](int k) {
    return Compute{PipelineOp::backward, micro_batch(k), v - 1 - k % (p * v) / p};
  };
  std::vector<Compute> order;
  for (int k = 0; k < warmup; ++k) order.push_back(forward(k));
  for (int k = 0; k < total - warmup; ++k) {
    order.push_back(forward(warmup + k));
    order.push_back(backward(k));
  }
  for (int k = total - warmup; k < total; ++k) order.push_back(backward(k));
  return order;
}

// The compute order with each forward's activation received before it and sent after it, and
// each backward's gradient likewise, between neighbouring virtual stages.
std::vector<PipelineAction> with_communication(const PipelineSchedule& s, int stage,
                                               const std::vector<Compute>& order) {
  const int last = s.virtual_stages() - 1;
  std::vector<PipelineAction> actions;
  for (const Compute& c : order) {
    const int vs = s.virtual_stage(stage, c.chunk);
    const PipelineAction compute{c.op, c.micro_batch, c.chunk, -1};
    if (c.op == PipelineOp::forward) {
      if (vs > 0)
        actions.push_back({PipelineOp::recv_activation, c.micro_batch, c.chunk, s.stage_of(vs - 1)});
      actions.push_back(compute);
      if (vs < last)
        actions.push_back({PipelineOp::send_activation, c.micro_batch, c.chunk, s.stage_of(vs + 1)});
    } else if (c.op == PipelineOp::backward) {
      if (vs < last)
        actions.push_back({PipelineOp::recv_gradient, c.micro_batch, c.chunk, s.stage_of(vs + 1)});
      actions.push_back(compute);
      if (vs > 0) actions.push_back({PipelineOp::send_gradient, c.micro_batch, c.chunk, s.stage_of(vs - 1)});
    } else {
      actions.push_back(compute);
    }
  }
  return actions;
}

}  // namespace

std::string_view to_string(PipelineOp op) {
  switch (op) {
    case PipelineOp::forward:
      return "forward";
    case PipelineOp::backward:
      return "backward";
    case PipelineOp::weight_gradient:
      return "weight-gradient";
    case PipelineOp::send_activation:
      return "send-activation";
    case PipelineOp::recv_activation:
      return "recv-activation";
    case PipelineOp::send_gradient:
      return "send-gradient";
    case PipelineOp::recv_gradient:
      return "recv-gradient";
  }
  return "?";
}

bool is_compute(PipelineOp op) {
  return op == PipelineOp::forward || op == PipelineOp::backward || op == PipelineOp::weight_gradient;
}

std::string_view to_string(ScheduleKind kind) {
  return kKindNames[static_cast<std::size_t>(kind)];
}

bool parse_schedule_kind(std::string_view name, ScheduleKind& kind) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) {
      kind = static_cast<ScheduleKind>(i);
      return true;
    }
  }
  return false;
}

std::vector<std::string_view> schedule_kind_names() {
  return {kKindNames.begin(), kKindNames.end()};
}

std::optional<ShapeProblem> schedule_shape_problem(ScheduleKind kind, int stages, int micro_batches,
                                                   int chunks) {
  if (stages < 1)
    return ShapeProblem{"stages", fmt::format("a pipeline needs at least 1 stage, not {}", stages)};
  if (micro_batches < 1) {
    return ShapeProblem{"micro_batches",
                        fmt::format("a pipeline needs at least 1 micro-batch, not {}", micro_batches)};
  }
  if (kind == ScheduleKind::interleaved) {
    if (chunks < 2) {
      return ShapeProblem{
          "chunks", fmt::format("the interleaved schedule needs 2 or more chunks per stage, not {}", chunks)};
    }
    if (micro_batches % stages != 0) {
      return ShapeProblem{
          "micro_batches",
          fmt::format("the interleaved schedule needs the micro-batches ({}) to be a multiple of "
                      "the stages ({}), as Megatron-LM requires",
                      micro_batches, stages)};
    }
  } else if (chunks != 1) {
    return ShapeProblem{"chunks",
                        fmt::format("the {} schedule runs one chunk per stage, not {} (use interleaved)",
                                    to_string(kind), chunks)};
  }
  return std::nullopt;
}

void check_schedule_shape(ScheduleKind kind, int stages, int micro_batches, int chunks) {
  if (auto problem = schedule_shape_problem(kind, stages, micro_batches, chunks))
    throw core::ValueError(std::move(problem->message));
}

PipelineSchedule build_schedule(ScheduleKind kind, int stages, int micro_batches, int chunks) {
  check_schedule_shape(kind, stages, micro_batches, chunks);
  PipelineSchedule s;
  s.kind = kind;
  s.stages = stages;
  s.micro_batches = micro_batches;
  s.chunks = chunks;
  s.split_backward = kind == ScheduleKind::zb_h1;
  for (int stage = 0; stage < stages; ++stage) {
    std::vector<Compute> order;
    switch (kind) {
      case ScheduleKind::gpipe:
        order = gpipe_order(micro_batches);
        break;
      case ScheduleKind::one_f_one_b:
        order = one_f_one_b_order(stages, micro_batches, stage);
        break;
      case ScheduleKind::interleaved:
        order = interleaved_order(stages, micro_batches, chunks, stage);
        break;
      case ScheduleKind::zb_h1:
        order = zb_h1_order(stages, micro_batches, stage);
        break;
    }
    s.actions.push_back(with_communication(s, stage, order));
  }
  return s;
}

std::string compute_order(const PipelineSchedule& schedule, int stage) {
  std::string out;
  for (const PipelineAction& a : schedule.actions.at(static_cast<std::size_t>(stage))) {
    if (!is_compute(a.op)) continue;
    const char letter = a.op == PipelineOp::forward ? 'F' : a.op == PipelineOp::backward ? 'B' : 'W';
    if (!out.empty()) out += ' ';
    out += schedule.chunks > 1 ? fmt::format("{}{}.{}", letter, a.micro_batch, a.chunk)
                               : fmt::format("{}{}", letter, a.micro_batch);
  }
  return out;
}

}  // namespace dmlsim::strategies::pipeline
