#pragma once
// Closed forms of the pipeline schedules for balanced stages and free communication: every stage
// takes F for the forward of one micro-batch, B for its backward (input gradient) and W for its
// weight gradient (all its chunks together), p stages, m micro-batches, v chunks per stage.
//   gpipe, 1f1b   T = (m + p − 1)·(F + B + W)                 (Huang et al. 2019; Narayanan et
//                 bubble fraction (p − 1)/(m + p − 1)           al. 2021: the same bubble)
//   interleaved   T = (m + (p − 1)/v)·(F + B + W), m a multiple of p   (Narayanan et al., SC'21,
//                 bubble fraction (p − 1)/(v·m + p − 1)                  §2.2.2: the bubble / v)
//   zb-h1         T = (m + p − 1)·(F + B) + max(1, m − p + 1)·W, for W ≤ F (Qi et al., ICLR 2024,
//                 §3.1: the bubble (p − 1)·(F + B − W) once m ≥ p, 2·(p − 1)·W less than 1F1B's;
//                 with fewer micro-batches than stages only the last W is exposed).
// Peak (micro-batch, chunk) pairs in flight on stage s (forward done, backward not):
//   gpipe m; 1f1b min(p − s, m); zb-h1 min(p, m) (W passes deferred by s places keep s more);
//   interleaved min((p − s − 1)·2 + (v − 1)·p + 1, v·m), or v·m when m = p (every forward first).
#include "strategies/pipeline/pipeline_schedule.hpp"

namespace dmlsim::strategies::pipeline {

struct StageTimes {
  double forward = 0;          // F: one micro-batch through all of one stage's chunks
  double backward = 0;         // B: its input gradient
  double weight_gradient = 0;  // W: its weight gradient
  double total() const { return forward + backward + weight_gradient; }
};

// Iteration time T above. Throws ValueError where build_schedule would, and for zb-h1 with W > F
// (where the deferred W no longer fit the bubbles and T is longer than the formula).
double pipeline_seconds(ScheduleKind kind, int stages, int micro_batches, int chunks, const StageTimes& t);

// Share of stage-time idle: 1 − m·(F + B + W) / T.
double bubble_fraction(ScheduleKind kind, int stages, int micro_batches, int chunks, const StageTimes& t);

int peak_in_flight(ScheduleKind kind, int stages, int micro_batches, int chunks, int stage);

}  // namespace dmlsim::strategies::pipeline
