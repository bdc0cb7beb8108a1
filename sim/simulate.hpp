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

// One of several jobs that share a platform: its experiment (on the shared platform, its ranks
// placed on hosts of their own), what its ranks run, and when they start.
struct SimJob {
  const core::Experiment* experiment = nullptr;
  core::RankProgram program;
  double start = 0;  // simulated seconds before the job's ranks start
};

// Every job in one simulation, contending for the same links; one result per job, in order (its
// trace, the bytes its own messages put on each link, its messages; `simulated_seconds` is when
// its last rank ended). The network settings are the first job's: every job's experiment must
// name the same platform and network model, and no two jobs may place ranks on one host (the
// caller checks both). simulate() is this with one job.
std::vector<SimResult> simulate_jobs(const std::vector<SimJob>& jobs, const SimOptions& options = {});

}  // namespace dmlsim::sim
