#pragma once
// Runs one experiment in SimGrid: one actor per rank on its host, every rank executing `program`.
// SimGrid allows one engine per process, so call this at most once per process (the CLI runs
// every simulation of a sweep or demo in its own process; each test case is its own process).
#include <cstdint>
#include <vector>

#include "core/experiment.hpp"
#include "core/rank.hpp"
#include "core/summary.hpp"
#include "core/trace.hpp"

namespace dmlsim::sim {

struct SimOptions {
  bool progress = false;  // print the simulated clock to stderr every few seconds of wall time
};

struct SimResult {
  core::Trace trace;
  std::vector<core::LinkUsage> links;
  std::uint64_t messages = 0;
  double simulated_seconds = 0;
  double wall_seconds = 0;
};

// Throws what the program threw inside the simulation (the first such error), or BackendError.
SimResult simulate(const core::Experiment& experiment, const core::RankProgram& program,
                   const SimOptions& options = {});

}  // namespace dmlsim::sim
