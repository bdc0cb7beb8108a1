// dmlsim — simulate distributed deep-learning training strategies on clusters you do not have.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <tuple>

#include "apps/commands.hpp"
#include "core/errors.hpp"
#include "core/interrupts.hpp"
#include "core/units.hpp"

namespace dmlsim::apps {

std::filesystem::path data_dir() {
  if (const char* dir = std::getenv("DMLSIM_DATA_DIR")) return dir;
  return DMLSIM_SOURCE_DIR;
}

namespace {

// "--set strategy.allreduce=tree" → ("strategy.allreduce", "tree")
Overrides parse_overrides(const std::vector<std::string>& sets) {
  Overrides out;
  for (const std::string& s : sets) {
    const std::size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw core::ConfigError(fmt::format("--set {}: expected FIELD=VALUE, e.g. strategy.allreduce=tree", s));
    }
    const std::string field = s.substr(0, eq), value = s.substr(eq + 1);
    if (field.front() == '.' || field.back() == '.' || field.find("..") != std::string::npos)
      throw core::ConfigError(fmt::format("--set {}: empty field name in '{}'", s, field));
    if (value.find_first_not_of(" \t") == std::string::npos)
      throw core::ConfigError(fmt::format("--set {}: empty value (write '' for an empty string)", s));
    out.emplace_back(field, value);
  }
  return out;
}

// A number option must be finite and at least `min` (above it when `above`); CLI11's checks let
// nan and inf through.
void check_number(std::string_view option, double value, double min, bool above) {
  if (std::isfinite(value) && (above ? value > min : value >= min)) return;
  throw core::ConfigError(fmt::format("{} {}: expected a finite number {} {}", option, value,
                                      above ? "above" : "of at least", min));
}

// "--shard 1/3" → (1, 3).
std::pair<int, int> parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  try {
    if (slash != std::string::npos) {
      std::size_t a = 0, b = 0;
      const int index = std::stoi(text.substr(0, slash), &a);
      const int count = std::stoi(text.substr(slash + 1), &b);
      if (a == slash && b == text.size() - slash - 1 && count >= 1 && index >= 0 && index < count)
        return {index, count};
    }
  } catch (const std::exception&) {
  }
  throw core::ConfigError(fmt::format("--shard {}: expected I/N with 0 <= I < N, e.g. 0/3", text));
}

// Under Open MPI's mpirun (one process per slot, no MPI needed): this process's rank, the job's
// size and the job's id; nullopt outside mpirun or in a job of one.
std::optional<std::tuple<int, int, std::string>> mpirun_job() {
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  const char* job = std::getenv("PMIX_NAMESPACE");
  if (job == nullptr) job = std::getenv("OMPI_MCA_ess_base_jobid");
  if (rank == nullptr || size == nullptr || job == nullptr) return std::nullopt;
  try {
    const int r = std::stoi(rank), n = std::stoi(size);
    if (n > 1 && r >= 0 && r < n) return std::make_tuple(r, n, std::string(job));
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace
}  // namespace dmlsim::apps

int main(int argc, char** argv) {
  dmlsim::core::handle_interrupts();  // first: every thread started later inherits the blocked signals
  using namespace dmlsim::apps;
  CLI::App app{"dmlsim: simulate distributed deep-learning training on clusters you do not have"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dmlsim 0.1.0");
  // A bad command line gets one line too, like every other bad input.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("dmlsim: {} (see --help)\n", e.what());
  });

  RunArgs run;
  std::vector<std::string> run_sets;
  auto* run_cmd =
      app.add_subcommand("run", "Simulate an experiment; write trace.json, trace.csv and summary.json");
  run_cmd->add_option("experiment", run.experiment, "Experiment YAML file")->required();
  run_cmd->add_option("-o,--out", run.out,
                      "Output directory (default: dmlsim-out/<run name>; an earlier run there is kept)");
  run_cmd->add_option("--name", run.name,
                      "The run's name, in its trace and summary (default: the experiment's name followed by "
                      "the --set overrides)");
  run_cmd->add_option("--set", run_sets, "Override a field of the experiment, e.g. strategy.allreduce=tree");
  run_cmd->add_flag("-q,--quiet", run.quiet, "Print nothing on success");
  run_cmd->add_flag("--progress", run.progress, "Show the simulated clock while running");
  run_cmd->add_option("--backend", run.backend, "sim (SimGrid) or real (Open MPI processes)")
      ->check(CLI::IsMember({"sim", "real"}));
  run_cmd->add_option("--testbed", run.testbed,
                      "real: run on this testbed (dmlsim testbed up); default: a temporary one");
  run_cmd->add_flag("--local", run.local, "real: run the ranks on this machine, without a shaped testbed");
  run_cmd->add_flag("--gpu", run.gpu,
                    "real: compute on GPUs (cuBLAS), communicate with NCCL (one GPU per rank)");
  run_cmd->add_option("--hostfile", run.hostfile, "real: run on the hosts of this Open MPI hostfile");
  run_cmd->add_option("--timeout", run.timeout_seconds, "real: seconds before a hung run is killed");
  std::vector<std::string> run_mca;
  run_cmd->add_option("--mca", run_mca,
                      "real: an Open MPI setting KEY=VALUE, e.g. coll_tuned_allreduce_algorithm=4");

  ExplainArgs explain;
  std::vector<std::string> explain_sets;
  auto* explain_cmd = app.add_subcommand("explain", "Print the closed-form prediction of an experiment");
  explain_cmd->add_option("experiment", explain.experiment, "Experiment YAML file")->required();
  explain_cmd->add_option("--set", explain_sets, "Override a field of the experiment");

  CompareArgs compare;
  std::vector<std::string> compare_sets;
  auto* compare_cmd = app.add_subcommand(
      "compare", "Run several strategies on the same platform and model; rank them; write compare.csv");
  compare_cmd->add_option("file", compare.file, "Experiment YAML (with --strategies) or compare YAML")
      ->required();
  compare_cmd
      ->add_option("--strategies", compare.strategies,
                   "Comma-separated: names from the compare file or presets (ring, tree, double-binary-tree, "
                   "halving-doubling, hierarchical, ps-sync[:k], ps-async[:k], ps-ssp:k:s, ps-colocated[:k])")
      ->delimiter(',');
  compare_cmd
      ->add_option("--cases", compare.cases, "Comma-separated cases of the compare file (default: all)")
      ->delimiter(',');
  compare_cmd->add_option("-o,--out", compare.out, "Output directory (default: dmlsim-out/compare/<name>)");
  compare_cmd->add_option("-j,--jobs", compare.jobs, "Simulations run at once (default: one per core)");
  compare_cmd->add_option("--set", compare_sets, "Override a field of every run's experiment");

  SearchArgs search;
  std::vector<std::string> search_sets;
  auto* search_cmd = app.add_subcommand(
      "search",
      "Rank every dp × tp × pp, schedule, micro-batch size, ZeRO stage and recomputation for N GPUs; write "
      "search.csv");
  search_cmd->add_option("experiment", search.experiment, "Experiment YAML (its platform and model)")
      ->required();
  search_cmd->add_option("--gpus", search.gpus, "GPUs to use: dp·tp·pp")->required();
  search_cmd->add_option("--global-batch", search.global_batch,
                         "Samples per iteration (default: the model's micro-batch × GPUs)");
  search_cmd
      ->add_option("--micro-batch-sizes", search.micro_batch_sizes,
                   "Samples per micro-batch to try, e.g. 1,2,4 (default: the model's)")
      ->delimiter(',');
  search_cmd
      ->add_option("--chunks", search.chunks,
                   "Model chunks per stage to try with the interleaved schedule (default 2)")
      ->delimiter(',');
  search_cmd->add_option("--simulate", search.simulate,
                         "Simulate the best K configurations by the closed forms (default 8)");
  search_cmd->add_option("-o,--out", search.out, "Output directory (default: dmlsim-out/search/<name>)");
  search_cmd->add_option("-j,--jobs", search.jobs, "Simulations run at once (default: one per core)");
  search_cmd->add_option("--set", search_sets, "Override a field of the experiment");

  SweepArgs sweep;
  std::vector<std::string> sweep_sets;
  std::string sweep_shard;
  auto* sweep_cmd = app.add_subcommand(
      "sweep", "Run an experiment over the points of a sweep file; write sweep.csv (one row per point)");
  sweep_cmd->add_option("file", sweep.file, "Sweep YAML file (a base experiment and its axes)");
  sweep_cmd->add_option("-o,--out", sweep.out, "Output directory (default: dmlsim-out/sweep/<name>)");
  sweep_cmd->add_option("-j,--jobs", sweep.jobs, "Simulations run at once (default: one per core)");
  sweep_cmd->add_flag(
      "--resume", sweep.resume,
      "Skip the points an earlier sweep into the same directory finished with the same inputs");
  sweep_cmd->add_option("--shard", sweep_shard,
                        "I/N: run only the points p with p mod N = I (e.g. a Slurm array's task), into "
                        "sweep-shard-I-of-N.csv");
  sweep_cmd->add_option("--set", sweep_sets, "Override a field of every point's experiment");
  SweepMergeArgs sweep_merge;
  auto* sweep_merge_cmd = sweep_cmd->add_subcommand("merge", "Join the CSVs of a sweep's shards into one");
  sweep_merge_cmd->add_option("shards", sweep_merge.inputs, "The shards' CSV files")->required();
  sweep_merge_cmd->add_option("-o,--out", sweep_merge.out, "The merged CSV file")->required();

  DemoArgs demo;
  auto* demo_cmd = app.add_subcommand("demo", "Compare all-reduce algorithms for a transformer on 64 GPUs");
  demo_cmd->add_option("-o,--out", demo.out, "Output directory");
  demo_cmd->add_option("-j,--jobs", demo.jobs, "Simulations run at once (default: one per core)");

  TestbedArgs testbed;
  auto* testbed_cmd =
      app.add_subcommand("testbed", "A real cluster of network namespaces shaped like a platform (root)");
  testbed_cmd->add_option("action", testbed.action, "up PLATFORM | status | down")
      ->required()
      ->check(CLI::IsMember({"up", "status", "down"}));
  testbed_cmd->add_option("platform", testbed.platform, "Platform file (for up)");
  testbed_cmd->add_option("--name", testbed.name,
                          "Testbed name, 1-6 lower-case letters or digits (default tb)");

  CalibrateArgs calibrate;
  auto* calibrate_cmd = app.add_subcommand(
      "calibrate", "Measure links and kernels on the real testbed; write a calibrated platform");
  calibrate_cmd->add_option("platform", calibrate.platform, "Platform file of the testbed")->required();
  calibrate_cmd->add_option("--model", calibrate.model, "Model whose kernel shapes are timed");
  calibrate_cmd
      ->add_option("--tensor-parallel", calibrate.tensor_parallel,
                   "Also time the model's shapes cut for these tensor-parallel degrees, e.g. 2 or 2,4")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  calibrate_cmd->add_flag("--network-only", calibrate.network_only, "Measure the network only");
  std::string calibrate_max_size = "64MiB";
  calibrate_cmd->add_option("--max-size", calibrate_max_size, "Largest ping-pong message (default 64MiB)");
  calibrate_cmd->add_option("-o,--out", calibrate.out, "Output directory (platform.yaml, calibration.json)");
  calibrate_cmd->add_option("--testbed", calibrate.testbed, "Use this testbed (default: a temporary one)");
  calibrate_cmd->add_flag("--local", calibrate.local, "Measure on this machine, without a testbed");
  calibrate_cmd->add_option("--ranks", calibrate.ranks,
                            "Ranks computing at once while kernels are timed (default 1; the platform then "
                            "shares this machine's cores among ranks computing at once)");
  calibrate_cmd->add_option("--repeats", calibrate.repeats, "Repetitions per measurement")
      ->check(CLI::PositiveNumber);

  ValidateArgs validate;
  std::vector<std::string> validate_sets;
  auto* validate_cmd = app.add_subcommand("validate", "Compare real runs with the calibrated simulation");
  validate_cmd->add_option("experiment", validate.experiment, "Experiment YAML file");
  validate_cmd->add_option("--set", validate_sets, "Override a field of the experiment");
  validate_cmd->add_option("--calibrated", validate.calibrated, "Calibrated platform (dmlsim calibrate)");
  validate_cmd->add_option("--suite", validate.suite, "A validation suite file instead of one experiment");
  validate_cmd->add_option("-o,--out", validate.out, "Output directory");
  validate_cmd->add_option("--update-readme", validate.update_readme,
                           "Suite: regenerate this README's table");
  validate_cmd->add_option(
      "--from-report", validate.from_report,
      "With --update-readme: take the table from this suite's validation.json, run nothing");
  validate_cmd->add_option("--testbed", validate.testbed, "Use this testbed (default: a temporary one)");
  validate_cmd->add_option("--repeat", validate.repeat, "Real runs per case (median reported)")
      ->check(CLI::PositiveNumber);
  validate_cmd->add_option("--warmup", validate.warmup, "Warm-up iterations left out")
      ->check(CLI::NonNegativeNumber);
  validate_cmd->add_option("--max-error", validate.max_error,
                           "Fail (exit 1) above this error in % (suite: median |error|)");
  validate_cmd->add_option("--timeout", validate.timeout_seconds, "Seconds before a hung real run is killed");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // bad command line is bad input
  }

  try {
    if (*run_cmd) {
      run.overrides = parse_overrides(run_sets);
      run.mca = parse_overrides(run_mca);
      check_number("--timeout", run.timeout_seconds, 0, true);
      return run_command(run);
    }
    if (*explain_cmd) {
      explain.overrides = parse_overrides(explain_sets);
      return explain_command(explain);
    }
    if (*compare_cmd) {
      compare.overrides = parse_overrides(compare_sets);
      return compare_command(compare);
    }
    if (*search_cmd) {
      search.overrides = parse_overrides(search_sets);
      if (search.simulate < 0) throw dmlsim::core::ConfigError("--simulate: 0 or more");
      if (search.global_batch < 0) throw dmlsim::core::ConfigError("--global-batch: 0 or more");
      return search_command(search);
    }
    if (*sweep_merge_cmd) return sweep_merge_command(sweep_merge);
    if (*sweep_cmd) {
      if (sweep.file.empty())
        throw dmlsim::core::ConfigError("dmlsim sweep: give a sweep FILE (or: sweep merge)");
      sweep.overrides = parse_overrides(sweep_sets);
      if (!sweep_shard.empty()) {
        std::tie(sweep.shard_index, sweep.shard_count) = parse_shard(sweep_shard);
      } else if (const auto job = mpirun_job()) {
        std::tie(sweep.shard_index, sweep.shard_count, sweep.mpi_job) = *job;
      }
      return sweep_command(sweep);
    }
    if (*demo_cmd) return demo_command(demo);
    if (*testbed_cmd) return testbed_command(testbed);
    if (*calibrate_cmd) {
      try {
        calibrate.max_size = dmlsim::core::parse_bytes(calibrate_max_size);
      } catch (const dmlsim::core::ValueError& e) {
        throw dmlsim::core::ConfigError(std::string("--max-size: ") + e.what());
      }
      // The bandwidth fit needs two ping-pong sizes of 1 MiB or more (sizes go up 4x from 1 KiB).
      if (calibrate.max_size < (std::uint64_t{4} << 20)) {
        throw dmlsim::core::ConfigError(
            fmt::format("--max-size {}: must be at least 4MiB (the bandwidth is fitted on sizes of 1 MiB "
                        "and more)",
                        calibrate_max_size));
      }
      return calibrate_command(calibrate);
    }
    if (*validate_cmd) {
      validate.overrides = parse_overrides(validate_sets);
      check_number("--timeout", validate.timeout_seconds, 0, true);
      check_number("--max-error", validate.max_error, 0, false);
      if (validate.experiment.empty() == validate.suite.empty() && validate.from_report.empty()) {
        throw dmlsim::core::ConfigError("dmlsim validate: give an EXPERIMENT or --suite SUITE, not both");
      }
      return validate_command(validate);
    }
  } catch (const dmlsim::core::ConfigError& e) {
    std::cerr << "dmlsim: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dmlsim: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
