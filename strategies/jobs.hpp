#pragma once
// Several jobs on one network: an experiment that lists `jobs` instead of one strategy. Each job is
// an experiment of its own (its model, strategy and options), run on the shared platform on hosts
// of its own from its start time; all of them run in one simulation and contend for its links.
//   experiment:
//     name: two-rings
//     platform: ../platforms/fat-tree-32.yaml      # every job runs on it
//     jobs:
//       a: {experiment: allreduce.yaml, hosts: [0, 1, 8, 9]}
//       b: {experiment: allreduce.yaml, hosts: "2-3,10-11", start: 5ms, set: {strategy.size: 64MiB}}
// A job's `hosts` place its ranks (rank i on the i-th host; its `ranks` is their number unless
// its `set` gives ranks or parallelism), `start` delays it (simulated time), `set` overrides its
// experiment's fields as --set does. No two jobs may share a host.
#include <filesystem>
#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

struct Job {
  std::string name;             // its key under `jobs` (and its experiment's name)
  std::filesystem::path file;   // its experiment file
  Overrides overrides;          // what makes that file this job: platform, placement, ranks, set
  core::Experiment experiment;  // loaded with them
  double start = 0;             // seconds
  std::vector<int> hosts;
};

struct JobsExperiment {
  std::string name;
  std::string source;  // the file
  std::vector<Job> jobs;
};

// Whether `file` is an experiment with `jobs` (after `overrides`).
bool has_jobs(const std::filesystem::path& file);

// Loads every job; `overrides` (--set) apply to the jobs file itself (jobs.a.start=5ms), those
// under `platform.` to the shared platform as every job reads it (platform.oversubscription=2). Throws
// core::ConfigError naming file, line and field: a host used by two jobs, jobs whose network
// models differ, a job file that is itself a jobs file...
JobsExperiment load_jobs(const std::filesystem::path& file, const Overrides& overrides = {});

// "0-3,8,10-11" → {0, 1, 2, 3, 8, 10, 11}; throws core::ValueError on anything else.
std::vector<int> parse_host_list(const std::string& text);

}  // namespace dmlsim::strategies
