// `dmlsim run` of an experiment with `jobs` (strategies/jobs.hpp): every job in one simulation on
// the shared platform, then each job alone (its own `dmlsim run`, the same experiment with the
// network to itself), and each job's slowdown: its iteration beside others over its iteration
// alone. Writes:
//   summary.json       the jobs side by side: start, hosts, iteration shared and alone, slowdown,
//                      end; and the links busiest with every job's bytes together
//   trace.json, trace.csv  every job's events in one trace (combined_trace)
//   JOB/               each job's run in the shared simulation (trace.json, trace.csv, summary.json,
//                      links.csv: the bytes of its own messages)
//   alone/JOB/         each job's run alone
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "apps/batch_runner.hpp"
#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "apps/run_name.hpp"
#include "apps/run_outputs.hpp"
#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/trace_writer.hpp"
#include "core/units.hpp"
#include "sim/simulate.hpp"
#include "strategies/jobs.hpp"

namespace dmlsim::apps {
namespace {

// The jobs' traces as one, to see them side by side: ranks numbered job after job (job j's rank r
// is the combined rank offset_j + r, and so are its messages' peers), every event marked with its
// job's index (the trace's `job` field, in the experiment's order), each rank's host named with
// its job ("host4 · bert"). Each job's own trace keeps its own numbering.
core::Trace combined_trace(const strategies::JobsExperiment& jobs,
                           const std::vector<sim::SimResult>& results) {
  core::Trace all;
  all.label = fmt::format("{} (simulated, {} jobs)", jobs.name, jobs.jobs.size());
  int offset = 0;
  for (std::size_t j = 0; j < jobs.jobs.size(); ++j) {
    const core::Trace& trace = results[j].trace;
    for (const core::RankPlacement& p : trace.ranks)
      all.ranks.push_back({p.host, p.node, fmt::format("{} · {}", p.host_name, jobs.jobs[j].name)});
    for (core::TraceEvent e : trace.events()) {
      e.rank += offset;
      if (e.peer >= 0) e.peer += offset;
      e.name = all.intern(trace.text(e.name));
      e.category = all.intern(trace.text(e.category));
      e.comm = all.intern(trace.text(e.comm));
      e.attributes.set(core::Attribute::job, static_cast<int>(j));
      all.add(e);
    }
    offset += static_cast<int>(trace.ranks.size());
  }
  all.sort();
  return all;
}

}  // namespace

int run_jobs(const RunArgs& given) {
  RunArgs args = given;
  if (args.backend != "sim") {
    throw core::ConfigError(
        fmt::format("{}: several jobs on one network run in the simulator only (--backend sim)",
                    args.experiment.string()));
  }
  if (!args.name.empty()) args.overrides.emplace_back("name", args.name);
  const strategies::JobsExperiment jobs = strategies::load_jobs(args.experiment, args.overrides);
  for (const strategies::Job& job : jobs.jobs) {
    if (job.name == "alone")
      throw core::ConfigError(
          fmt::format("{}: job 'alone': the name is taken by the runs alone", jobs.source));
  }
  const std::filesystem::path default_parent = "dmlsim-out";
  const std::filesystem::path out =
      args.out.empty() ? default_parent / unused_name(default_parent, jobs.name) : args.out;
  check_output_dir(out);
  std::vector<std::unique_ptr<strategies::Strategy>> strategies;
  std::vector<sim::SimJob> sim_jobs;
  for (const strategies::Job& job : jobs.jobs) {
    strategies.push_back(strategies::make_strategy(job.experiment));
    const strategies::Strategy* strategy = strategies.back().get();
    sim_jobs.push_back({&job.experiment, [strategy](core::Rank& rank) { strategy->run(rank); }, job.start});
  }

  sim::SimOptions options;
  options.progress = args.progress;
  std::vector<sim::SimResult> results = sim::simulate_jobs(sim_jobs, options);
  std::vector<core::RunSummary> shared;
  std::map<std::string, core::LinkUsage> links;  // every job's bytes per link
  for (std::size_t j = 0; j < jobs.jobs.size(); ++j) {
    for (const core::LinkUsage& l : results[j].links) {
      core::LinkUsage& total =
          links.try_emplace(l.name, core::LinkUsage{l.name, l.bandwidth, 0}).first->second;
      total.bytes += l.bytes;
    }
    shared.push_back(finish_run(out / jobs.jobs[j].name, jobs.jobs[j].experiment, *strategies[j],
                                {"sim", results[j].trace, std::move(results[j].links), results[j].messages})
                         .summary);
  }

  // Each job alone: the same experiment (its file and overrides), the network to itself.
  std::vector<PlannedRun> alone;
  for (const strategies::Job& job : jobs.jobs)
    alone.push_back({job.name + " alone", job.file, job.overrides, out / "alone" / job.name});
  if (!args.quiet)
    std::cout << fmt::format("{}: {} jobs simulated together; now each alone\n", jobs.name, jobs.jobs.size());
  const std::vector<std::string> failed = run_batch(alone, 0, args.quiet ? nullptr : &std::cout);
  if (!failed.empty())
    throw core::BackendError(fmt::format("the runs alone failed: {}", fmt::join(failed, ", ")));

  nlohmann::json summary{
      {"experiment", jobs.name}, {"backend", "sim"}, {std::string(core::kJobsKey), nlohmann::json::array()}};
  double makespan = 0;
  for (std::size_t j = 0; j < jobs.jobs.size(); ++j) {
    const strategies::Job& job = jobs.jobs[j];
    const core::RunSummary by_itself = core::RunSummary::from_json(read_summary(out / "alone" / job.name));
    const double slowdown =
        by_itself.iteration_mean > 0 ? shared[j].iteration_mean / by_itself.iteration_mean : 0;
    makespan = std::max(makespan, results[j].simulated_seconds);
    summary[core::kJobsKey].push_back({{"name", job.name},
                                       {"strategy", job.experiment.strategy_type},
                                       {"ranks", job.experiment.ranks},
                                       {"hosts", job.hosts},
                                       {"start_s", job.start},
                                       {"end_s", results[j].simulated_seconds},
                                       {"iteration_s", shared[j].iteration_mean},
                                       {"alone_iteration_s", by_itself.iteration_mean},
                                       {"slowdown", slowdown},
                                       {"output", job.name},
                                       {"alone_output", "alone/" + job.name}});
  }
  summary["platform"] = jobs.jobs.front().experiment.platform.name;
  summary["makespan_s"] = makespan;
  std::vector<core::LinkUsage> busiest;
  for (const auto& [name, l] : links) busiest.push_back(l);
  std::sort(busiest.begin(), busiest.end(), [](const core::LinkUsage& a, const core::LinkUsage& b) {
    return a.busy_seconds() != b.busy_seconds() ? a.busy_seconds() > b.busy_seconds() : a.name < b.name;
  });
  summary["links"] = nlohmann::json::array();
  for (std::size_t i = 0; i < busiest.size() && i < 20; ++i) {
    summary["links"].push_back(
        {{"link", busiest[i].name},
         {"bytes", busiest[i].bytes},
         {"busy_s", busiest[i].busy_seconds()},
         {"utilization_percent", makespan > 0 ? 100 * busiest[i].busy_seconds() / makespan : 0}});
  }
  const core::Trace together = combined_trace(jobs, results);
  write_outputs(out, {{"trace.json", [&](std::ostream& o) { core::write_chrome_trace(together, o); }},
                      {"trace.csv", [&](std::ostream& o) { core::write_csv_trace(together, o); }},
                      {"summary.json", [&](std::ostream& o) { o << summary.dump(2) << "\n"; }}});

  if (!args.quiet) {
    std::cout << fmt::format("\n  {:<16} {:>10} {:>12} {:>12} {:>9}\n", "job", "start", "iteration", "alone",
                             "slowdown");
    for (const auto& j : summary[core::kJobsKey]) {
      std::cout << fmt::format("  {:<16} {:>10} {:>12} {:>12} {:>8.3f}x\n", j["name"].get<std::string>(),
                               core::format_duration(j["start_s"].get<double>()),
                               core::format_duration(j["iteration_s"].get<double>()),
                               core::format_duration(j["alone_iteration_s"].get<double>()),
                               j["slowdown"].get<double>());
    }
    std::cout << fmt::format(
        "\n  wrote {}, the jobs' trace together (trace.json, trace.csv) and one directory per job (alone/: "
        "each job by itself)\n",
        (out / "summary.json").string());
  }
  return 0;
}

}  // namespace dmlsim::apps
