#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>

#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "apps/run_name.hpp"
#include "apps/run_outputs.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/interrupts.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "sim/simulate.hpp"
#include "strategies/jobs.hpp"
#include "strategies/strategy.hpp"
#ifdef DMLSIM_HAVE_REALRUN
#include "realrun/launcher.hpp"
#include "realrun/testbed.hpp"
#endif

namespace dmlsim::apps {

namespace {

int run_simulated(const RunArgs& args, const core::Experiment& experiment,
                  const strategies::Strategy& strategy, const std::filesystem::path& out) {
  sim::SimOptions options;
  options.progress = args.progress;
  sim::SimResult result = sim::simulate(
      experiment, [&](core::Rank& rank) { strategy.run(rank); }, options);
  const FinishedRun run =
      finish_run(out, experiment, strategy, {"sim", result.trace, std::move(result.links), result.messages});
  if (!args.quiet) {
    std::cout << experiment.platform.header();
    core::print_summary(run.summary, std::cout);
    std::cout << fmt::format("  simulated {} in {:.3f} s wall, {} messages\n",
                             core::format_duration(result.simulated_seconds), result.wall_seconds,
                             result.messages);
    std::cout << fmt::format("  wrote {} (open it in ui.perfetto.dev), trace.csv, summary.json, links.csv\n",
                             run.files.front().string());
  }
  return 0;
}

#ifdef DMLSIM_HAVE_REALRUN
std::filesystem::path sibling_executable(const char* name) {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

// A duration of summary.json, or "n/a" where the trace did not record it (null).
std::string seconds_or_na(const nlohmann::json& value) {
  return value.is_number() ? core::format_duration(value.get<double>()) : "n/a";
}

int run_real(const RunArgs& args, const core::Experiment& experiment, const std::filesystem::path& out) {
  real::LaunchOptions launch;
  launch.program = sibling_executable("dmlsim-rank");
  launch.ranks = experiment.ranks;
  launch.placement = experiment.placement;
  launch.timeout_seconds = args.timeout_seconds;
  std::optional<real::TemporaryTestbed> temporary;
  if (!args.hostfile.empty()) {
    launch.hostfile = args.hostfile;
  } else if (!args.local) {
    real::check_testbed_platform(experiment.platform);
    if (args.testbed.empty()) {
      temporary.emplace(fmt::format("r{}", getpid() % 100000));  // unique: runs may go on side by side
      launch.testbed = temporary->up(experiment.platform, sibling_executable("dmlsim-delayline"));
    } else {
      launch.testbed = real::testbed_load(args.testbed);
    }
    if (static_cast<int>(launch.testbed->hosts.size()) < experiment.platform.host_count()) {
      throw core::ConfigError(fmt::format("testbed '{}' has {} hosts; platform '{}' needs {}",
                                          launch.testbed->name, launch.testbed->hosts.size(),
                                          experiment.platform.name, experiment.platform.host_count()));
    }
  }
  // Kept when the run fails (its mpirun log is named then), not when it is interrupted. A run on a
  // named testbed keeps it in the testbed's state, which `dmlsim testbed down` removes.
  const bool named_testbed = launch.testbed && !temporary;
  launch.work_dir =
      (named_testbed ? launch.testbed->state_dir / "runs" : std::filesystem::temp_directory_path()) /
      fmt::format("dmlsim-real-{}", getpid());
  const core::InterruptCleanup remove_work_dir("removed " + launch.work_dir.string(),
                                               [dir = launch.work_dir] {
                                                 std::error_code ec;
                                                 std::filesystem::remove_all(dir, ec);
                                               });
  launch.environment = {"OPENBLAS_NUM_THREADS=1"};
  launch.mca = args.mca;
  if (const char* fault = std::getenv("DMLSIM_FAULT"))
    launch.environment.push_back(std::string("DMLSIM_FAULT=") + fault);
  launch.arguments = {std::filesystem::absolute(args.experiment).string(), "--out",
                      std::filesystem::absolute(out).string(), "--progress-dir",
                      (launch.work_dir / "progress").string()};
  for (const auto& [field, value] : args.overrides)
    launch.arguments.insert(launch.arguments.end(), {"--set", field + "=" + value});
  if (args.gpu) launch.arguments.push_back("--gpu");

  const real::LaunchResult result = real::launch(launch);
  if (!result.problem.empty()) {
    std::cerr << fmt::format("dmlsim: real run failed: {}\n  mpirun's log: {}\n", result.problem,
                             result.log.string());
    return 1;
  }
  std::filesystem::remove_all(launch.work_dir);
  if (!args.quiet) {
    std::ifstream in(out / "summary.json");
    const nlohmann::json s = nlohmann::json::parse(in);
    std::cout << fmt::format(
        "{} (measured): {} ranks\n  iteration time        {:>12}\n  compute               {:>12}\n"
        "  communication         {:>12}\n  exposed communication {:>12}\n",
        experiment.name, experiment.ranks, core::format_duration(s["iteration_s"].get<double>()),
        seconds_or_na(s["compute_s"]), seconds_or_na(s["communication_s"]),
        seconds_or_na(s["exposed_communication_s"]));
    std::cout << fmt::format("  wrote {}\n", (out / "trace.json").string());
  }
  return 0;
}
#endif

}  // namespace

int run_command(const RunArgs& given) {
  if (strategies::has_jobs(given.experiment)) return run_jobs(given);
  // Everything that can be wrong with the input is found here, before anything runs or is written.
  RunArgs args = given;
  if (!args.name.empty()) {
    if (!core::valid_name(args.name)) {
      throw core::ConfigError(fmt::format(
          "--name {}: letters, digits, '-', '_', '.' and ':' only (it names the output directory)",
          args.name));
    }
    args.overrides.emplace_back("name", args.name);
  }
  // The run is named after what made it differ from the file; the name travels as an override,
  // so that the real backend's ranks, which load the experiment again, name it alike.
  std::string name =
      run_name(strategies::load_experiment(args.experiment, args.overrides).name, args.overrides);
  const std::filesystem::path default_parent = "dmlsim-out";
  if (args.out.empty()) name = unused_name(default_parent, name);
  args.overrides.emplace_back("name", name);
  const core::Experiment experiment = strategies::load_experiment(args.experiment, args.overrides);
  const std::unique_ptr<strategies::Strategy> strategy = strategies::make_strategy(experiment);
  const std::filesystem::path out = args.out.empty() ? default_parent / name : args.out;
  check_output_dir(out);
  if (!args.quiet && !args.out.empty() && std::filesystem::exists(out / "summary.json")) {
    std::cout << fmt::format("replacing the earlier run in {} (--out names it)\n", out.string());
  }
  if (args.backend == "sim") return run_simulated(args, experiment, *strategy, out);
  if (experiment.strategy_type == "elastic")
    experiment.strategy->at("type").fail("elastic runs in the simulator only so far (--backend sim)");
  // Before a testbed or mpirun is started.
  if (!args.hostfile.empty() && !std::filesystem::is_regular_file(args.hostfile))
    throw core::ConfigError(fmt::format("--hostfile {}: no such file", args.hostfile.string()));
  if (args.gpu && experiment.payload) {
    throw core::ConfigError(
        fmt::format("{}: field 'experiment.simulation.payload': --gpu moves device memory; payload checks "
                    "run on the CPU backend",
                    experiment.source));
  }
#ifdef DMLSIM_HAVE_REALRUN
  return run_real(args, experiment, out);
#else
  throw core::ConfigError(
      "--backend real: this dmlsim was built without the real backend (Open MPI, OpenBLAS)");
#endif
}

}  // namespace dmlsim::apps
