#pragma once
// Model parallelism, one runner for three strategy types over the experiment's mesh:
//   type: pipeline         the layers cut into p·v chunks over `pp` (and dp replicas);
//   type: tensor-parallel  every layer split over `tp` as Megatron-LM splits it (and dp replicas);
//   type: hybrid           dp × tp × pp.
// Pipeline: m micro-batches per iteration pushed through the chunks by a schedule
// (pipeline/pipeline_schedule.hpp: gpipe, 1f1b, interleaved, zb-h1); each stage posts the
// iteration's receives up front, runs its actions in the schedule's order and sends activations
// and gradients as soon as they exist. Tensor parallelism (Shoeybi et al. 2019): the model is
// re-cut for the tp degree (core::Model::rebuilt) and each layer runs the collectives its kernels'
// split roles imply (core::tensor_parallel_collectives: an all-reduce after each row-parallel
// kernel in forward and after each column-parallel GEMM's input gradient in backward; with
// sequence parallelism, Korthikanti et al. 2022, reduce-scatters and all-gathers instead), on the
// critical path. After the pipeline each stage all-reduces its gradients over `dp` and steps.
// Payload mode: an MLP is trained on real numbers (mlp_numerics.hpp) and every rank ends the run
// comparing its parameters with the same MLP trained on one rank; other models' messages and
// collectives carry test values checked where they arrive.
//
//   parallelism: {tp: 2, dp: 2, pp: 4}
//   strategy:
//     type: hybrid
//     schedule: 1f1b           # gpipe | 1f1b | interleaved | zb-h1
//     micro_batches: 8         # per iteration and replica (default 2·pp)
//     micro_batch_size: 2      # samples per micro-batch (default: the model's micro_batch)
//     chunks: 2                # per stage, interleaved only (default 2)
//     layers_per_chunk: [..]   # p·v counts, in virtual-stage order; default: balanced by time
//     sequence_parallel: false # tp with reduce-scatter + all-gather, norms split by sequence
//     recompute: none          # none | selective | full (transformers)
//     tp_algorithm: ring       # the tp collectives' algorithm
//     allreduce: ring          # the dp all-reduce of each stage's gradients
//     optimizer: adam          # or sgd
//     check_memory: true
#include <span>
#include <string_view>

#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

// The same runner for `type: pipeline`, `tensor-parallel` and `hybrid` (experiment.strategy_type).
std::unique_ptr<Strategy> make_model_parallel(const core::Experiment& experiment);
std::span<const std::string_view> model_parallel_fields();

}  // namespace dmlsim::strategies
