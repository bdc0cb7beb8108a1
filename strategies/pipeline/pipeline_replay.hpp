#pragma once
// Replays a pipeline schedule without a backend: checks that it is sound and times it with given
// compute costs. A message arrives its cost after its send, and a receive waits for it. A stage
// sends one message at a time to each peer, as TCP and an NCCL stream do: a send waits until the
// previous message to that peer has arrived (else it returns at once). The runner does the same.
// Sound means:
//   - every send has exactly one receive on the stage it names, with the same micro-batch, and
//     the receiving chunk is the next virtual stage (activations) or the previous (gradients);
//   - every stage runs, for each of its chunks, each micro-batch's forward and backward once (and
//     its weight gradient once when the backward is split), the forward first, W after B;
//   - a forward of any but the first virtual stage comes after its activation's receive, a
//     backward of any but the last after its gradient's receive, and a send after what it sends;
//   - it ends: no stage waits for a message that is never sent (a deadlock names the stages
//     and what each waits for).
#include <functional>
#include <vector>

#include "strategies/pipeline/pipeline_schedule.hpp"

namespace dmlsim::strategies::pipeline {

// Seconds of a compute action (forward, backward or weight gradient) of one micro-batch.
using ComputeCost = std::function<double(int stage, int chunk, PipelineOp op)>;
// Seconds from a message's send to its arrival, by the boundary it crosses: the virtual stage
// whose output it carries (an activation forward from it, or the gradient back to it).
using MessageCost = std::function<double(int boundary)>;

struct ReplayResult {
  double makespan = 0;         // when the last stage finishes
  std::vector<double> finish;  // per stage
  std::vector<double> busy;    // per stage: seconds of compute
  // Per stage and chunk: when the chunk's gradients are complete (its last backward ends, or its
  // last weight gradient when the backward is split).
  std::vector<std::vector<double>> gradients_done;
  std::vector<int> peak_in_flight;  // per stage: most (micro-batch, chunk) pairs whose forward ran
                                    // and whose backward (its weight gradient, when split) has not
  double bubble_fraction() const;   // 1 − Σ busy / (stages × makespan)
};

// Throws core::ValueError naming the first problem (stage, action and what is wrong).
// Without a message cost, messages arrive as they are sent.
ReplayResult replay(const PipelineSchedule& schedule, const ComputeCost& cost,
                    const MessageCost& message = {});

}  // namespace dmlsim::strategies::pipeline
