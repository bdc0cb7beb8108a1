#pragma once
// Pipeline-parallel schedules as data. A model cut into p·v chunks runs on p stages (ranks); with
// v > 1 (interleaved) stage s holds chunks s, s + p, s + 2p, ... (Narayanan et al., SC'21, §2.2:
// "virtual stage" k = c·p + s for the stage's chunk c). Each iteration pushes m micro-batches
// through the chunks. A schedule is, per stage, the ordered list of what it does: compute a
// forward, a backward (with the weight gradient, or without it when the schedule runs weight
// gradients apart), a weight gradient, and the sends and receives of activations (forward, to the
// next virtual stage) and of their gradients (backward, to the previous one).
//
// The builders below follow the published schedules; replay (pipeline_replay.hpp) checks any
// schedule and times it; one runner executes it on every backend (pipeline_parallel.cpp).
//   gpipe        Huang et al., NeurIPS 2019, fig. 2(c): every forward, then every backward from
//                the last micro-batch back (the staircase mirrored); m micro-batches in flight.
//   1f1b         PipeDream-Flush (Narayanan et al., ICML 2021, fig. 4): stage s runs p − s − 1
//                warm-up forwards, then alternates one forward and one backward, then drains the
//                remaining backwards; at most p − s micro-batches in flight.
//   interleaved  Interleaved 1F1B (Narayanan et al., SC'21, §2.2, fig. 4), as Megatron-LM
//                orders it: v chunks per stage; the k-th forward runs chunk ⌊(k mod p·v) / p⌋ of
//                micro-batch ⌊k / p·v⌋·p + k mod p, backwards the same with the chunks reversed;
//                (p − s − 1)·2 + (v − 1)·p warm-up forwards. Needs m to be a multiple of p.
//   zb-h1        Zero Bubble H1 (Qi et al., ICLR 2024, §3.1, fig. 3): 1F1B's order with the
//                backward split into B (input gradient, on the critical path) and W (weight
//                gradient); stage s defers its W passes by s places, so that the later stages
//                hand gradients back sooner and the deferred W fill the drain. Same peak
//                in-flight micro-batches as 1F1B on stage 0 (p).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmlsim::strategies::pipeline {

enum class PipelineOp : std::uint8_t {
  forward,
  backward,         // the input gradient, and the weight gradient unless the schedule splits it
  weight_gradient,  // only in schedules that split the backward (zb-h1)
  send_activation,  // to the next virtual stage, after its forward
  recv_activation,  // from the previous virtual stage, before its forward
  send_gradient,    // to the previous virtual stage, after its backward
  recv_gradient,    // from the next virtual stage, before its backward
};
std::string_view to_string(PipelineOp op);
bool is_compute(PipelineOp op);

struct PipelineAction {
  PipelineOp op = PipelineOp::forward;
  int micro_batch = 0;
  int chunk = 0;  // the stage's chunk (0 ≤ chunk < v)
  int peer = -1;  // sends and receives: the other stage
  friend bool operator==(const PipelineAction&, const PipelineAction&) = default;
};

enum class ScheduleKind : std::uint8_t { gpipe, one_f_one_b, interleaved, zb_h1 };
std::string_view to_string(ScheduleKind kind);
// The schedules by name ("gpipe", "1f1b", "interleaved", "zb-h1"); false for an unknown name.
bool parse_schedule_kind(std::string_view name, ScheduleKind& kind);
std::vector<std::string_view> schedule_kind_names();

struct PipelineSchedule {
  ScheduleKind kind = ScheduleKind::one_f_one_b;
  int stages = 1;                                    // p
  int micro_batches = 1;                             // m
  int chunks = 1;                                    // v, model chunks per stage
  bool split_backward = false;                       // weight gradients are actions of their own
  std::vector<std::vector<PipelineAction>> actions;  // per stage, in order

  int virtual_stages() const { return stages * chunks; }
  // The pass that ends a micro-batch's work on a chunk: once a chunk's last one is done, its
  // gradients are complete and its saved activations free.
  PipelineOp last_pass() const { return split_backward ? PipelineOp::weight_gradient : PipelineOp::backward; }
  int virtual_stage(int stage, int chunk) const { return chunk * stages + stage; }
  int stage_of(int virtual_stage) const { return virtual_stage % stages; }
  int chunk_of(int virtual_stage) const { return virtual_stage / stages; }
};

// The condition a shape breaks — p, m ≥ 1; interleaved: v ≥ 2 and m a multiple of p; the others:
// v = 1 — and which of the three it is about ("stages", "micro_batches", "chunks"), or nullopt.
struct ShapeProblem {
  std::string_view field;
  std::string message;
};
std::optional<ShapeProblem> schedule_shape_problem(ScheduleKind kind, int stages, int micro_batches,
                                                   int chunks);
// Throws ValueError with the problem's message.
void check_schedule_shape(ScheduleKind kind, int stages, int micro_batches, int chunks);

// The schedule of `kind` for p stages, m micro-batches and v chunks per stage (v > 1 only for
// interleaved), with its sends and receives; the shape checked as above.
PipelineSchedule build_schedule(ScheduleKind kind, int stages, int micro_batches, int chunks = 1);

// The compute order of one stage as text, for tests and error messages: "F0 F1 B0 W0 F2 ..."
// (F forward, B backward, W weight gradient; "F3.1" is micro-batch 3 of chunk 1 when v > 1).
std::string compute_order(const PipelineSchedule& schedule, int stage);

}  // namespace dmlsim::strategies::pipeline
