#pragma once
// `type: elastic` — data-parallel training on hosts that fail, join and leave, with checkpoint-restart
// or live rescaling (elastic_plan.hpp has the model, the options and the closed forms).
//
// In the simulator every membership epoch starts with a few iterations simulated in full
// (kWarmUpIterations: the first after a start differs, the last is steady); the ranks then agree
// on rank 0's steady iteration time and clock (Rank::agree: no simulated time) and advance their
// clocks by whole iterations up to the next checkpoint, failure or the end, as the timeline
// (drive_timeline) says — a simulated day of a large job costs a few iterations per epoch, not all
// of them. Each epoch's communicators are new ("dp@1", ...) and span its members only, so nothing
// of an old membership can match the new one; ranks outside an epoch keep the clock ("out of the
// job" phases).
//
// The trace: "iteration" phases (the simulated ones, with their `epoch`), "steady-iterations"
// (whole iterations by the clock), "checkpoint", "checkpoint-load", "failure-detection" and
// "restart" phases (live rescaling: "rendezvous", "state-transfer", "waiting for nodes"), a "failure"
// instant, and on rank 0 the counters core::kLostWorkSeconds (at each failure), core::kRanksInJob (at
// each epoch's start), core::kIterationsKept and core::kSamplesKept (at the end), from which the
// summary's `elastic` section comes.
#include <memory>
#include <span>
#include <string_view>

#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

inline constexpr int kWarmUpIterations = 3;

std::unique_ptr<Strategy> make_elastic(const core::Experiment& experiment);
std::span<const std::string_view> elastic_fields();

}  // namespace dmlsim::strategies
