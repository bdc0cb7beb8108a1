#include "sim/simulate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <simgrid/s4u.hpp>

#include "core/errors.hpp"
#include "sim/platform_builder.hpp"
#include "sim/sim_rank.hpp"
#include "sim/sim_world.hpp"

namespace dmlsim::sim {
namespace sg = simgrid::s4u;

namespace {

bool engine_created = false;

// Settings that make an uncontended transfer cost exactly latency + bytes / bandwidth, with
// max-min fair sharing under contention (measured in notes/simgrid.md). Set before the platform.
void configure_network(core::NetworkModel model) {
  if (model == core::NetworkModel::tcp) return;  // SimGrid's default LV08, TCP-calibrated
  sg::Engine::set_config("network/model:CM02");
  sg::Engine::set_config("network/crosstraffic:0");
  sg::Engine::set_config("network/TCP-gamma:0");
  sg::Engine::set_config("network/latency-factor:1");
  sg::Engine::set_config("network/bandwidth-factor:1");
  sg::Engine::set_config("network/weight-S:0");
  sg::Engine::set_config("network/solver:fairbottleneck");
}

}  // namespace

SimResult simulate(const core::Experiment& experiment, const core::RankProgram& program,
                   const SimOptions& options) {
  std::vector<SimResult> results = simulate_jobs({{&experiment, program, 0}}, options);
  return std::move(results.front());
}

std::vector<SimResult> simulate_jobs(const std::vector<SimJob>& jobs, const SimOptions& options) {
  if (engine_created) throw core::BackendError("SimGrid allows one simulation per process");
  if (jobs.empty()) throw core::BackendError("simulate_jobs: no job");
  engine_created = true;
  const auto wall_start = std::chrono::steady_clock::now();
  const core::Experiment& first = *jobs.front().experiment;

  char program_name[] = "dmlsim";
  char quiet[] = "--log=root.thres:warning";
  // SimGrid's own "Oops! Deadlock detected" line: when a rank fails, the ranks waiting for it end in
  // a deadlock that the rank's error explains, and a true deadlock gets dmlsim's own error naming
  // the stuck ranks (below). Either way one error, not two: the engine's log category passes
  // nothing on to the root appender.
  char no_deadlock_line[] = "--log=ker_engine.add:0";
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer does not follow SimGrid's own stack switching (its raw contexts): an exception
  // unwinding one actor's stack is reported as stack corruption. Thread contexts give every actor
  // a thread of its own, which it follows; they are much slower, so only the sanitized build uses
  // them. The factory is chosen when the engine starts: it is an argument, not a later set_config.
  char threads[] = "--cfg=contexts/factory:thread";
  char* argv[] = {program_name, quiet, no_deadlock_line, threads, nullptr};
  int argc = 4;
#else
  char* argv[] = {program_name, quiet, no_deadlock_line, nullptr};
  int argc = 3;
#endif
  sg::Engine engine(&argc, argv);
  configure_network(first.network);
  if (first.network == core::NetworkModel::exact && first.platform.tcp_acks) {
    sg::Engine::set_config("network/crosstraffic:1");
  }
  int total_ranks = 0;
  for (const SimJob& job : jobs) total_ranks += job.experiment->ranks;
  // Large runs: over ~32 k actors (ranks and their streams) the guard pages exhaust the kernel's
  // memory mappings ("Failed to protect stack"); without them, stacks stay lazily mapped.
  if (total_ranks > 4096) sg::Engine::set_config("contexts/guard-size:0");
  // Actor stacks of 256 KiB instead of SimGrid's 8 MiB: each stack's first pages are faulted in and
  // its memory given back when the actor ends, and with 16 k actors that paging was a third of a
  // run (a 16 384-rank ring in flows: 2.65 s → 1.9 s, the 16 384-GPU data-parallel iteration
  // 38.5 s → 31.7 s). Every sim and cli test passes with 64 KiB stacks and guard pages (runs of up
  // to 4096 ranks keep them: an overflow faults), so 256 KiB leaves a margin of four.
  sg::Engine::set_config("contexts/stack-size:256");

  const std::vector<sg::Host*> hosts = build_platform(engine, first.platform);
  // Per job: its world (mailboxes, routes, bytes per link, trace), its ranks, and which ended when.
  struct JobState {
    std::unique_ptr<SimWorld> world;
    std::vector<std::unique_ptr<SimRank>> ranks;
    std::vector<char> finished;
    std::vector<double> ended;
  };
  std::vector<JobState> states(jobs.size());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const core::Experiment& experiment = *jobs[j].experiment;
    JobState& state = states[j];
    std::vector<sg::Host*> rank_hosts;
    for (int r = 0; r < experiment.ranks; ++r)
      rank_hosts.push_back(
          hosts[static_cast<std::size_t>(experiment.placement[static_cast<std::size_t>(r)])]);
    state.world = std::make_unique<SimWorld>(experiment, rank_hosts, static_cast<int>(j));
    SimWorld& world = *state.world;
    core::Trace& trace = world.trace();
    trace.label = experiment.name;
    const int per_node = experiment.platform.devices_per_node();
    for (int r = 0; r < experiment.ranks; ++r) {
      const int host = experiment.placement[static_cast<std::size_t>(r)];
      trace.ranks.push_back(
          {host, host / per_node, std::string(rank_hosts[static_cast<std::size_t>(r)]->get_name())});
    }
    state.finished.assign(static_cast<std::size_t>(experiment.ranks), 0);
    state.ended.assign(static_cast<std::size_t>(experiment.ranks), 0);
    const core::RankProgram& program = jobs[j].program;
    const double start = jobs[j].start;
    for (int r = 0; r < experiment.ranks; ++r) {
      state.ranks.push_back(std::make_unique<SimRank>(world, r));
      SimRank* rank = state.ranks.back().get();
      char* done = &state.finished[static_cast<std::size_t>(r)];
      double* end = &state.ended[static_cast<std::size_t>(r)];
      sg::Actor::create(jobs.size() == 1 ? fmt::format("rank{}", r) : fmt::format("job{}-rank{}", j, r),
                        rank_hosts[static_cast<std::size_t>(r)], [rank, done, end, start, &world, &program] {
                          try {
                            if (start > 0) sg::this_actor::sleep_until(start);
                            program(*rank);
                            rank->settle();
                            *end = rank->now();
                            *done = 1;
                          } catch (const simgrid::ForcefulKillException&) {
                            throw;  // SimGrid ending a deadlocked run: the actor must not survive it
                          } catch (...) {
                            // Remember the first error; ranks that wait for this one end in a deadlock that
                            // SimGrid reports, and the error is rethrown once the engine stops.
                            world.fail(std::current_exception());
                          }
                        });
    }
  }

  if (options.progress) {
    auto last = std::chrono::steady_clock::now();
    sg::Engine::on_time_advance_cb([last](double) mutable {
      const auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::seconds(2)) return;
      last = now;
      std::cerr << fmt::format("\r  simulated {:.6f} s ...", sg::Engine::get_clock()) << std::flush;
    });
  }
  engine.run();
  if (options.progress) std::cerr << "\r" << std::string(40, ' ') << "\r" << std::flush;
  for (const JobState& state : states) {
    if (state.world->error()) std::rethrow_exception(state.world->error());
  }
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const std::vector<char>& finished = states[j].finished;
    std::vector<int> stuck;
    for (std::size_t r = 0; r < finished.size(); ++r) {
      if (!finished[r]) stuck.push_back(static_cast<int>(r));
    }
    if (stuck.empty()) continue;
    const auto never = static_cast<int>(stuck.size());
    if (stuck.size() > 8) stuck.resize(8);
    throw core::BackendError(
        fmt::format("deadlock: {}{} rank(s) never finished (first: {}); a message was never matched",
                    jobs.size() == 1 ? "" : fmt::format("job {}: ", jobs[j].experiment->name), never,
                    fmt::join(stuck, ", ")));
  }

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::vector<SimResult> results;
  for (JobState& state : states) {
    SimResult result;
    // The last rank's own end: after a merged span in flows fidelity a rank may end before the
    // simulation clock (SimRank::ahead_), which stops only once the span's slowest member is done.
    for (const double end : state.ended) result.simulated_seconds = std::max(result.simulated_seconds, end);
    result.links = state.world->link_usage();
    result.messages = state.world->messages();
    result.trace = std::move(state.world->trace());
    result.trace.sort();
    result.wall_seconds = wall;
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace dmlsim::sim
