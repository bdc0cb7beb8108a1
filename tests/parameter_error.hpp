#pragma once
// Reading the "trains like one rank" check (strategies/training/mlp_numerics.hpp) back from a
// run's trace, for the simulator's and the real backend's tests alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/trace.hpp"
#include "strategies/training/mlp_numerics.hpp"

namespace dmlsim::testing {

// Every rank's "parameter error vs one rank" counter: the largest difference of its parameters
// from those of the same MLP trained on one rank, over the largest change training made to that
// tensor. Checks each rank reported one, and returns the worst.
inline double worst_parameter_error(const core::Trace& trace, int ranks) {
  std::map<int, double> error;
  for (const core::TraceEvent& ev : trace.events()) {
    if (ev.lane == core::Lane::counter && trace.text(ev.name) == strategies::numerics::kParameterError)
      error[ev.rank] = ev.value;
  }
  EXPECT_EQ(error.size(), static_cast<std::size_t>(ranks)) << "every rank checks its parameters";
  double worst = 0;
  for (const auto& [rank, e] : error) worst = std::max(worst, e);
  return worst;
}

// The tolerance of training like one rank: sums are taken in another order (micro-batch by
// micro-batch, over tensor-parallel shares, over replicas), so parameters differ by float
// rounding; measured up to 2e-4 of what training changed, a wrong tensor gives ~1.
inline constexpr double kTrainsLikeOneRank = 1e-3;

}  // namespace dmlsim::testing
