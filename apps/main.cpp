// dmlsim — simulate distributed deep-learning training strategies on clusters you do not have.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "apps/commands.hpp"
#include "core/errors.hpp"

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
    out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

}  // namespace
}  // namespace dmlsim::apps

int main(int argc, char** argv) {
  using namespace dmlsim::apps;
  CLI::App app{"dmlsim: simulate distributed deep-learning training on clusters you do not have"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dmlsim 0.1.0");

  RunArgs run;
  std::vector<std::string> run_sets;
  auto* run_cmd =
      app.add_subcommand("run", "Simulate an experiment; write trace.json, trace.csv and summary.json");
  run_cmd->add_option("experiment", run.experiment, "Experiment YAML file")->required();
  run_cmd->add_option("-o,--out", run.out, "Output directory (default: dmlsim-out/<experiment name>)");
  run_cmd->add_option("--set", run_sets, "Override a field of the experiment, e.g. strategy.allreduce=tree");
  run_cmd->add_flag("-q,--quiet", run.quiet, "Print nothing on success");
  run_cmd->add_flag("--progress", run.progress, "Show the simulated clock while running");

  ExplainArgs explain;
  std::vector<std::string> explain_sets;
  auto* explain_cmd = app.add_subcommand("explain", "Print the closed-form prediction of an experiment");
  explain_cmd->add_option("experiment", explain.experiment, "Experiment YAML file")->required();
  explain_cmd->add_option("--set", explain_sets, "Override a field of the experiment");

  DemoArgs demo;
  auto* demo_cmd = app.add_subcommand("demo", "Compare all-reduce algorithms for a transformer on 64 GPUs");
  demo_cmd->add_option("-o,--out", demo.out, "Output directory");
  demo_cmd->add_option("-j,--jobs", demo.jobs, "Simulations run at once (default: one per core)");

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
      return run_command(run);
    }
    if (*explain_cmd) {
      explain.overrides = parse_overrides(explain_sets);
      return explain_command(explain);
    }
    if (*demo_cmd) return demo_command(demo);
  } catch (const dmlsim::core::ConfigError& e) {
    std::cerr << "dmlsim: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dmlsim: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
