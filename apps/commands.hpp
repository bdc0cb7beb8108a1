#pragma once
// The dmlsim subcommands. Each returns the process exit code; bad input throws core::ConfigError
// (main prints it and exits with 2).
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim::apps {

using Overrides = std::vector<std::pair<std::string, std::string>>;

struct RunArgs {
  std::filesystem::path experiment;
  std::filesystem::path out;  // empty: dmlsim-out/<run name>, never over an earlier run
  Overrides overrides;
  std::string name;  // --name: the run's name (default: the experiment's and its overrides, run_name.hpp)
  bool quiet = false;
  bool progress = false;
  std::string backend = "sim";                           // sim | real
  std::string testbed;                                   // real: an existing testbed (dmlsim testbed up)
  bool local = false;                                    // real: ranks on this machine, no shaping
  std::filesystem::path hostfile;                        // real: a cluster
  double timeout_seconds = 600;                          // real: kill the run after this long
  bool gpu = false;                                      // real: compute on GPUs, communicate with NCCL
  std::vector<std::pair<std::string, std::string>> mca;  // real: extra Open MPI settings
};
int run_command(const RunArgs& args);
// run_command of an experiment with `jobs`: every job in one simulation, then each alone (jobs_run.cpp).
int run_jobs(const RunArgs& args);

struct TestbedArgs {
  std::string action;  // up | status | down
  std::filesystem::path platform;
  std::string name = "tb";
};
int testbed_command(const TestbedArgs& args);

struct CalibrateArgs {
  std::filesystem::path platform;
  std::filesystem::path model;
  std::filesystem::path out = "dmlsim-out/calibration";
  std::string testbed;  // an existing testbed; default: a temporary one
  bool local = false;   // measure on this machine without a testbed
  int ranks = 0;        // ranks computing at once while kernels are timed (default 1: see shared_cores)
  int repeats = 5;
  bool network_only = false;                         // skip the kernels
  std::uint64_t max_size = std::uint64_t{64} << 20;  // largest ping-pong message
  std::vector<int> tensor_parallel;                  // also time the model's shapes cut for these tp degrees
};
int calibrate_command(const CalibrateArgs& args);

struct ValidateArgs {
  std::filesystem::path experiment;  // one experiment ...
  Overrides overrides;
  std::filesystem::path calibrated;  // ... against this calibrated platform
  std::filesystem::path suite;       // or a suite (testbed, calibration and cases)
  std::filesystem::path out = "dmlsim-out/validation";
  std::filesystem::path update_readme;  // suite: regenerate this README's validation table
  std::filesystem::path from_report;    // with update_readme: use this suite's validation.json, run nothing
  std::string testbed;                  // default: a temporary one
  int repeat = 5;
  int warmup = 1;
  double max_error = 0;  // percent; 0: report only
  double timeout_seconds = 600;
};
int validate_command(const ValidateArgs& args);

struct ExplainArgs {
  std::filesystem::path experiment;
  Overrides overrides;
};
int explain_command(const ExplainArgs& args);

struct CompareArgs {
  std::filesystem::path file;           // an experiment (with `strategies`) or a compare file
  std::vector<std::string> strategies;  // presets or names from the compare file; empty: the file's
  std::vector<std::string> cases;       // names from the compare file; empty: all
  std::filesystem::path out;            // empty: dmlsim-out/compare/<name>
  Overrides overrides;                  // applied to every run
  int jobs = 0;                         // parallel simulations; 0 = one per core
};
int compare_command(const CompareArgs& args);

struct SearchArgs {
  std::filesystem::path experiment;             // platform and model (its strategy is replaced)
  int gpus = 0;                                 // dp·tp·pp
  std::int64_t global_batch = 0;                // samples per iteration; 0: the model's micro-batch × gpus
  int simulate = 8;                             // the best K by the closed forms are simulated
  std::vector<std::int64_t> micro_batch_sizes;  // samples per micro-batch tried; empty: the model's
  std::vector<int> chunks = {2};                // interleaved's model chunks per stage tried
  std::filesystem::path out;                    // empty: dmlsim-out/search/<name>
  Overrides overrides;
  int jobs = 0;  // parallel simulations; 0 = one per core
};
int search_command(const SearchArgs& args);

struct SweepArgs {
  std::filesystem::path file;  // a sweep file (sweep_plan.hpp)
  std::filesystem::path out;   // empty: dmlsim-out/sweep/<name>
  Overrides overrides;         // applied to every point, before its own values
  int jobs = 0;                // parallel simulations; 0 = one per core
  bool resume = false;         // skip the points an earlier sweep into `out` finished
  int shard_index = 0;         // run the points p with p % shard_count == shard_index
  int shard_count = 1;
  // Under mpirun without --shard: this rank's shard is its rank, and rank 0 merges the shards of
  // this Open MPI job (its id, e.g. PMIX_NAMESPACE) into sweep.csv.
  std::string mpi_job;
};
int sweep_command(const SweepArgs& args);

struct SweepMergeArgs {
  std::vector<std::filesystem::path> inputs;  // the shards' CSVs
  std::filesystem::path out;                  // the merged CSV
};
int sweep_merge_command(const SweepMergeArgs& args);

struct DemoArgs {
  std::filesystem::path out = "dmlsim-out/demo";
  int jobs = 0;  // parallel simulations; 0 = one per core
};
int demo_command(const DemoArgs& args);

// Where the shipped experiments and platforms are (the source tree, or $DMLSIM_DATA_DIR).
std::filesystem::path data_dir();

}  // namespace dmlsim::apps
