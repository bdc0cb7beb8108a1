#pragma once
// Micro-benchmarks that `dmlsim calibrate` runs on a real machine (and that run in the simulator
// too, where they must reproduce the profile they were fitted from):
//   type: pingpong  — ranks 0 and 1 bounce messages of each size; one phase "pingpong" per round
//                     trip carrying the message size in its `bytes` (one-way time = half of it);
//   type: kernels   — every rank runs every distinct kernel shape of the model `repeats` times at
//                     the same moment (ranks that share cores slow each other, as in training).
#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

std::unique_ptr<Strategy> make_pingpong(const core::Experiment& experiment);
std::unique_ptr<Strategy> make_kernel_benchmark(const core::Experiment& experiment);
// The fields of their `strategy:` mappings.
std::span<const std::string_view> pingpong_fields();
std::span<const std::string_view> kernel_benchmark_fields();

// The name of the phase that times one round trip.
inline constexpr std::string_view kPingPongPhase = "pingpong";

}  // namespace dmlsim::strategies
