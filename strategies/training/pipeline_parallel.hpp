#pragma once
// `type: pipeline` — the model's layers cut into p·v chunks over the `pp` dimension of the mesh
// (v chunks per stage, interleaved), m micro-batches per iteration pushed through them by a
// schedule (pipeline/pipeline_schedule.hpp: gpipe, 1f1b, interleaved, zb-h1) that one runner
// executes on every backend: each stage posts the iteration's receives up front, runs its actions
// in the schedule's order, sends activations and gradients as soon as they exist, then all-reduces
// its chunks' gradients over the `dp` dimension (when dp > 1) and steps its optimizer.
//
//   parallelism: {pp: 4, dp: 2}
//   strategy:
//     type: pipeline
//     schedule: 1f1b          # gpipe | 1f1b | interleaved | zb-h1
//     micro_batches: 8        # per iteration and replica (default 2·pp)
//     chunks: 2               # per stage, interleaved only (default 2)
//     layers_per_chunk: [..]  # p·v counts, in virtual-stage order; default: balanced by time
//     allreduce: ring         # the dp all-reduce of each stage's gradients
//     optimizer: adam         # or sgd
//     check_memory: true
#include <span>
#include <string_view>

#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

std::unique_ptr<Strategy> make_pipeline_parallel(const core::Experiment& experiment);
std::span<const std::string_view> pipeline_parallel_fields();

}  // namespace dmlsim::strategies
