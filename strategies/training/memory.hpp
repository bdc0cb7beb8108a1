#pragma once
// How many bytes a rank that holds a whole model replica keeps on its device: the memory model
// shared by the strategies that replicate the model (data-parallel, parameter-server workers).
#include <cstdint>
#include <functional>

#include "core/experiment.hpp"
#include "core/model.hpp"

namespace dmlsim::strategies {

// Weights and gradients in the model dtype, the optimizer's state (Adam: fp32 master weights and
// two moments, 12 bytes per parameter in mixed precision, 8 when the model is fp32 already — the
// "16 bytes per parameter" of mixed-precision Adam, Rajbhandari et al., SC'20 §3.1), and every
// layer's activations saved for backward.
std::uint64_t replica_memory_bytes(const core::Model& model, bool adam);
// The part of it kept across iterations: all but the saved activations.
std::uint64_t replica_resident_bytes(const core::Model& model, bool adam);

// The training state one rank keeps for `parameters` of its own (its tensor- and pipeline-parallel
// share) over `data_parallel` replicas, as ZeRO partitions it (Rajbhandari et al., SC'20, §5.1 and
// fig. 1): weights Ψ·e and gradients Ψ·e in the model dtype (e bytes) and optimizer state K·Ψ
// (K = 12 for mixed-precision Adam: fp32 master weights and two moments; 8 when the model is fp32
// already; 0 for SGD). Stage 1 divides the optimizer state by N_d, stage 2 the gradients too,
// stage 3 the weights too: (2e + K)Ψ, 2eΨ + KΨ/N_d, eΨ + (e + K)Ψ/N_d, (2e + K)Ψ/N_d.
struct TrainingState {
  std::uint64_t weights = 0;
  std::uint64_t gradients = 0;
  std::uint64_t optimizer = 0;
  std::uint64_t total() const { return weights + gradients + optimizer; }
};
TrainingState training_state(std::int64_t parameters, core::DType dtype, bool adam, int zero_stage,
                             int data_parallel);

// Checks, before anything runs, that a replica fits the device of every rank `holds_replica`
// accepts (all ranks when it is empty; unless the strategy block says `check_memory: false`) and
// that each such device can cost every kernel of the model (a bf16 model on a CPU profile cannot).
// Errors name the file, line and field, and the first rank that does not fit.
void check_replica_fits(const core::Experiment& experiment, const core::Model& model, bool adam,
                        const std::function<bool(int rank)>& holds_replica = {});

}  // namespace dmlsim::strategies
