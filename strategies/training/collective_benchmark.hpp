#pragma once
// `type: collective` — runs one collective `iterations` times, as nccl-tests does, optionally in
// several concurrent groups (to study contention between jobs sharing a fabric). In payload mode
// every member checks its result after every iteration.
#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

std::unique_ptr<Strategy> make_collective_benchmark(const core::Experiment& experiment);
// The fields of its `strategy:` mapping.
std::span<const std::string_view> collective_benchmark_fields();

}  // namespace dmlsim::strategies
