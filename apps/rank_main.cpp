// dmlsim-rank: one rank of a real run, started by mpirun (`dmlsim run --backend real` does it).
// Runs the experiment's strategy on an MpiRank, gathers every rank's events at rank 0, and rank 0
// writes the same files as the simulator.
//   dmlsim-rank EXPERIMENT --out DIR [--set FIELD=VALUE ...] [--progress-dir DIR]
#include <fmt/format.h>
#include <mpi.h>
#include <sys/prctl.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "apps/run_outputs.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "realrun/common_clock.hpp"
#include "realrun/launcher.hpp"
#include "realrun/mpi_check.hpp"
#include "realrun/mpi_rank.hpp"
#include "realrun/trace_gather.hpp"
#ifdef DMLSIM_HAVE_CUDA
#include "realrun/cuda/nccl_rank.hpp"
#endif
#include "strategies/strategy.hpp"

namespace {

using namespace dmlsim;

int run_rank(int argc, char** argv, int rank, int size) {
  CLI::App app{"dmlsim-rank: one rank of a real dmlsim run (started by mpirun)"};
  std::string experiment_path, out, progress_dir;
  std::vector<std::string> sets;
  bool gpu = false;
  app.add_option("experiment", experiment_path)->required();
  app.add_option("--out", out)->required();
  app.add_option("--set", sets);
  app.add_option("--progress-dir", progress_dir);
  app.add_flag("--gpu", gpu, "Compute on the GPU, communicate with NCCL");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (rank == 0) app.exit(e);
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const std::string& s : sets) {
    const std::size_t eq = s.find('=');
    overrides.emplace_back(s.substr(0, eq), eq == std::string::npos ? "" : s.substr(eq + 1));
  }
  const core::Experiment experiment = strategies::load_experiment(experiment_path, overrides);
  if (experiment.ranks != size) {
    throw core::ConfigError(fmt::format("{}: the experiment has {} ranks but mpirun started {}",
                                        experiment_path, experiment.ranks, size));
  }
  const auto strategy = strategies::make_strategy(experiment);

  const real::CommonClock clock(MPI_COMM_WORLD);
  real::MpiContext context;
  context.rank = rank;
  context.size = size;
  context.clock = &clock;
  context.detail = experiment.trace;
  context.slowdown = experiment.slowdown_of(rank);
  context.fault = real::InjectedFault::from_environment();
  if (!progress_dir.empty()) context.progress_path = real::progress_file(progress_dir, rank).string();

  core::Trace trace;
  std::vector<core::Trace> stream_traces;
  if (gpu) {
#ifdef DMLSIM_HAVE_CUDA
    if (experiment.payload) {
      throw core::ConfigError(
          fmt::format("{}: field 'experiment.simulation.payload': the GPU backend moves device "
                      "memory; payload checks run on the CPU backend",
                      experiment_path));
    }
    real::NcclRank nccl_rank(MPI_COMM_WORLD, clock, trace, experiment.trace);
    strategy->run(nccl_rank);
#else
    throw core::BackendError("--gpu: this dmlsim was built without CUDA and NCCL");
#endif
  } else {
    real::MpiRank mpi_rank(context, trace);
    try {
      strategy->run(mpi_rank);
    } catch (const std::exception& e) {
      // Reported and aborted here, before ~MpiRank joins the stream thread: a stream blocked on
      // peers would otherwise turn this error into a hang until the launcher's timeout.
      std::cerr << fmt::format("dmlsim-rank {}: error: {}\n", rank, e.what()) << std::flush;
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    mpi_rank.finish();
    for (const core::Trace* s : mpi_rank.stream_traces()) stream_traces.push_back(*s);
  }
  const int host = experiment.placement[static_cast<std::size_t>(rank)];
  const core::RankPlacement placement{host, experiment.platform.node_of(host), fmt::format("host{}", host)};
  std::vector<const core::Trace*> local{&trace};
  for (const core::Trace& s : stream_traces) local.push_back(&s);
  core::Trace merged = real::gather_traces(MPI_COMM_WORLD, local, placement);
  std::uint64_t messages = 0;
  DMLSIM_CHECK_MPI(MPI_Reduce(&context.messages, &messages, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
  if (rank == 0) apps::finish_run(out, experiment, *strategy, {"real", merged, {}, messages});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_TIMERSLACK, 1UL);  // the short sleeps of a polling wait should end on time
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int code = 0;
  try {
    if (provided < MPI_THREAD_MULTIPLE) {
      throw dmlsim::core::BackendError("this MPI library does not provide MPI_THREAD_MULTIPLE");
    }
    code = run_rank(argc, argv, rank, size);
  } catch (const dmlsim::core::ConfigError& e) {
    // Every rank reads the same files and fails the same way: rank 0 speaks for all.
    if (rank == 0) std::cerr << "dmlsim: " << e.what() << "\n";
    code = 2;
  } catch (const std::exception& e) {
    std::cerr << fmt::format("dmlsim-rank {}: error: {}\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return code;
}
