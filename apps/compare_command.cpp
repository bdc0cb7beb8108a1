// `dmlsim compare`: which strategy wins on which cluster. Runs each strategy on the same platform
// and model — every simulation in its own `dmlsim run` process, since SimGrid allows one engine
// per process — and prints them ranked by throughput, beside their closed forms. Writes
// compare.csv and one directory per run (trace.json, trace.csv, summary.json, links.csv).
//
// Input: an experiment with --strategies NAME,..., or a compare file:
//   compare:
//     name: ps-vs-allreduce
//     experiment: base.yaml                  # relative to this file
//     cases:                                 # optional: fields of the experiment to override,
//       resnet50: {model: ../models/resnet50.yaml}           # as --set does (paths relative to
//       oversubscribed: {platform.oversubscription: 2}       # the experiment file)
//     strategies:                            # a preset name, or fields to override
//       ring: ring
//       ps-sync-8: ps-sync:8
//       hierarchical: {strategy: {type: data-parallel, allreduce: hierarchical, local_size: 8}}
// Presets: the all-reduce algorithms (data-parallel with that algorithm) and ps-sync[:k],
// ps-async[:k], ps-ssp:k:s, ps-colocated[:k] (parameter servers; dedicated servers come as k
// more ranks after the experiment's workers).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "apps/batch_runner.hpp"
#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "core/trace_csv_reader.hpp"
#include "core/units.hpp"
#include "strategies/collectives/algorithm.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::apps {
namespace {

// The presets: every all-reduce of the algorithm table (data-parallel with it), then the
// parameter-server families.
std::string preset_help() {
  std::vector<std::string_view> names;
  for (const strategies::AlgorithmDescriptor* a : strategies::algorithm_table()) {
    if (a->implements(strategies::Collective::all_reduce)) names.push_back(a->name);
  }
  return fmt::format("{}, ps-sync[:k], ps-async[:k], ps-ssp:k:s, ps-colocated[:k]", fmt::join(names, ", "));
}

struct Variant {
  std::string name;
  Overrides overrides;  // fields to set
  std::string preset;   // or a preset, resolved against the case's experiment
  std::string where;    // file:line for errors
};

struct Plan {
  std::string name;
  std::filesystem::path experiment;
  std::vector<Variant> cases;
  std::vector<Variant> strategies;
};

// `name: preset` or `name: {field: value, ...}` entries of a compare file's cases or strategies.
std::vector<Variant> read_variants(const core::ConfigNode& node, bool presets) {
  std::vector<Variant> out;
  if (!node.is_map()) node.fail("expected a mapping of names to overrides");
  for (const std::string& name : node.keys()) {
    const core::ConfigNode entry = node.at(name);
    core::check_name(entry, name);
    Variant v{name, {}, {}, fmt::format("{}:{}", entry.file(), entry.line())};
    if (entry.is_scalar()) {
      if (!presets) entry.fail("expected a mapping of experiment fields to values");
      v.preset = entry.as_string();
    } else if (entry.is_map()) {
      for (const std::string& field : entry.keys())
        v.overrides.emplace_back(field, entry.at(field).as_flow_yaml());
    } else {
      entry.fail(presets ? "expected a preset name or a mapping of experiment fields to values"
                         : "expected a mapping of experiment fields to values");
    }
    out.push_back(std::move(v));
  }
  return out;
}

Plan read_plan(const CompareArgs& args) {
  Plan plan;
  const core::ConfigNode root = core::ConfigNode::load_file(args.file);
  const std::vector<std::string> keys = root.keys();
  if (keys.size() == 1 && keys[0] == "experiment") {
    plan.experiment = args.file;
    plan.name = root.at("experiment").string_or("name", args.file.stem().string());
    plan.cases.push_back({"", {}, {}, ""});
  } else {
    root.expect_only({"compare"});
    const core::ConfigNode node = root.at("compare");
    node.expect_only({"name", "experiment", "cases", "strategies"});
    plan.name = core::name_or(node, args.file.stem().string());
    plan.experiment = node.resolve_path(node.string("experiment"));
    if (const auto cases = node.find("cases")) plan.cases = read_variants(*cases, false);
    if (plan.cases.empty()) plan.cases.push_back({"", {}, {}, ""});
    if (const auto strategies = node.find("strategies")) {
      plan.strategies = read_variants(*strategies, true);
    }
  }
  // --cases and --strategies pick (and, for strategies, add presets to) what the file lists.
  if (!args.cases.empty()) {
    std::vector<Variant> picked;
    for (const std::string& name : args.cases) {
      const auto it = std::find_if(plan.cases.begin(), plan.cases.end(),
                                   [&](const Variant& v) { return v.name == name; });
      if (it == plan.cases.end()) {
        std::vector<std::string> known;
        for (const Variant& v : plan.cases) known.push_back(v.name);
        throw core::ConfigError(fmt::format("--cases {}: {} has no such case (known: {})", name,
                                            args.file.string(), fmt::join(known, ", ")));
      }
      picked.push_back(*it);
    }
    plan.cases = picked;
  }
  if (!args.strategies.empty()) {
    std::vector<Variant> picked;
    for (const std::string& name : args.strategies) {
      const auto it = std::find_if(plan.strategies.begin(), plan.strategies.end(),
                                   [&](const Variant& v) { return v.name == name; });
      picked.push_back(it != plan.strategies.end() ? *it : Variant{name, {}, name, "--strategies"});
    }
    plan.strategies = picked;
  }
  if (plan.strategies.empty()) {
    throw core::ConfigError(
        fmt::format("{}: nothing to compare: give --strategies (presets: {}) or a compare file",
                    args.file.string(), preset_help()));
  }
  return plan;
}

// The overrides of a preset for an experiment with `workers` ranks and strategy `base_type`.
Overrides preset_overrides(const Variant& v, const core::Experiment& base) {
  const std::string& spec = v.preset;
  const auto bad = [&](const std::string& why) {
    throw core::ConfigError(
        fmt::format("{}: strategy '{}': {} (presets: {})", v.where, spec, why, preset_help()));
  };
  if (strategies::find_algorithm(strategies::Collective::all_reduce, spec) != nullptr) {
    if (base.strategy_type == "data-parallel") return {{"strategy.allreduce", spec}};
    return {{"strategy", fmt::format("{{type: data-parallel, allreduce: {}}}", spec)}};
  }
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const auto number = [&](std::size_t i, int fallback) {
    if (i >= parts.size()) return fallback;
    try {
      std::size_t used = 0;
      const int value = std::stoi(parts[i], &used);
      if (used == parts[i].size() && value >= 0) return value;
    } catch (const std::exception&) {
    }
    bad(fmt::format("'{}' is not a count", parts[i]));
    return fallback;
  };
  const std::string& kind = parts[0];
  if (kind == "ps-colocated") {
    if (parts.size() > 2) bad("expected ps-colocated[:servers]");
    const int k = number(1, base.training_ranks());
    return {
        {"strategy",
         fmt::format("{{type: parameter-server, mode: sync, servers: {}, server_placement: colocated}}", k)}};
  }
  if (kind != "ps-sync" && kind != "ps-async" && kind != "ps-ssp") bad("unknown strategy");
  const bool ssp = kind == "ps-ssp";
  if (parts.size() > (ssp ? 3u : 2u) || (ssp && parts.size() != 3)) {
    bad(ssp ? "expected ps-ssp:servers:staleness" : fmt::format("expected {}[:servers]", kind));
  }
  const int k = number(1, 1);
  if (k < 1) bad("needs at least one server");
  std::string strategy = fmt::format("{{type: parameter-server, mode: {}, servers: {}", kind.substr(3), k);
  if (ssp) strategy += fmt::format(", staleness: {}", number(2, 0));
  // A preset is the strategy alone: `ranks` stays the experiment's workers, and the k dedicated
  // servers take k hosts after them, as the same strategy does in `run`.
  return {{"strategy", strategy + "}"}};
}

struct Run {
  std::string case_name;
  std::string strategy;
  Overrides overrides;
  std::filesystem::path dir;
  strategies::Prediction prediction;
  // Measured.
  double iteration = 0, throughput = 0, communication_share = 0, exposed_share = 0, hidden_share = 0;
  std::string busiest_link;
  double busiest_bytes_per_iteration = 0;
};

std::vector<Run> plan_runs(const Plan& plan, const CompareArgs& args, const std::filesystem::path& out) {
  // Each run writes into a directory of its name: two of one name would write over each other.
  for (const std::vector<Variant>* list : {&plan.cases, &plan.strategies}) {
    std::set<std::string> seen;
    for (const Variant& v : *list) {
      if (!seen.insert(v.name).second)
        throw core::ConfigError(fmt::format("compare: '{}' is listed twice", v.name));
    }
  }
  std::vector<Run> runs;
  for (const Variant& c : plan.cases) {
    Overrides case_overrides = args.overrides;
    case_overrides.insert(case_overrides.end(), c.overrides.begin(), c.overrides.end());
    const core::Experiment base = strategies::load_experiment(plan.experiment, case_overrides);
    for (const Variant& s : plan.strategies) {
      Run run;
      run.case_name = c.name;
      run.strategy = s.name;
      run.overrides = case_overrides;
      const Overrides strategy = s.preset.empty() ? s.overrides : preset_overrides(s, base);
      run.overrides.insert(run.overrides.end(), strategy.begin(), strategy.end());
      const std::string label = c.name.empty() ? s.name : c.name + "-" + s.name;
      run.overrides.emplace_back("name", fmt::format("{}-{}", plan.name, label));
      run.dir = c.name.empty() ? out / s.name : out / c.name / s.name;
      // Every input error surfaces here, before anything runs, naming the strategy (and case) the
      // user wrote: a preset's fields show as "(from --set)" in the experiment's error.
      const core::Experiment e = [&] {
        try {
          core::Experiment loaded = strategies::load_experiment(plan.experiment, run.overrides);
          run.prediction = strategies::make_strategy(loaded)->predict();
          return loaded;
        } catch (const core::ConfigError& error) {
          const std::string what =
              s.preset.empty() || s.preset == s.name ? "" : fmt::format(" ({})", s.preset);
          throw core::ConfigError(fmt::format("compare: strategy '{}'{}{}: {}", s.name, what,
                                              c.name.empty() ? "" : fmt::format(" in case '{}'", c.name),
                                              error.what()));
        }
      }();
      // The table needs each run's compute/communication breakdown, which trace: none does not keep.
      if (e.trace == core::TraceDetail::none) run.overrides.emplace_back("simulation.trace", "phases");
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

void execute(const std::vector<Run>& runs, const std::filesystem::path& experiment, int jobs) {
  std::vector<PlannedRun> planned;
  for (const Run& r : runs) {
    planned.push_back(
        {r.case_name.empty() ? r.strategy : r.case_name + "/" + r.strategy, experiment, r.overrides, r.dir});
  }
  const std::vector<std::string> failed = run_batch(planned, jobs, &std::cout);
  if (!failed.empty()) {
    throw core::BackendError(fmt::format("{} run(s) failed: {}", failed.size(), fmt::join(failed, ", ")));
  }
}

// Reads what a run wrote: summary.json, links.csv and the iteration marks of trace.csv.
void measure(Run& run) {
  const nlohmann::json summary = read_summary(run.dir);
  const core::RunSummary figures = core::RunSummary::from_json(summary);
  run.iteration = figures.iteration_mean;
  const auto trains = [&](int rank) {
    return rank >= 0 && rank < figures.ranks &&
           figures.per_rank[static_cast<std::size_t>(rank)].role.trains();
  };
  // Throughput: each training rank's share of an iteration's samples over its own span of
  // iterations, summed — so a worker that runs ahead (asynchronous training) counts at its own pace.
  const double samples_per_rank =
      figures.training_ranks > 0 ? static_cast<double>(figures.samples_per_iteration) / figures.training_ranks
                                 : 0;
  std::map<int, std::tuple<int, double, double>> spans;  // rank → (iterations, first start, last end)
  const core::Trace trace = core::read_csv_trace(run.dir / "trace.csv");
  for (const core::TraceEvent& e : trace.events()) {
    if (e.lane != core::Lane::phase || !trains(e.rank) || trace.text(e.name) != "iteration") continue;
    auto [it, added] = spans.try_emplace(e.rank, 0, e.start, e.end);
    auto& [count, first, last] = it->second;
    ++count;
    first = std::min(first, e.start);
    last = std::max(last, e.end);
  }
  // summary.json's means are over the training ranks already (the servers serve).
  if (run.iteration > 0) {
    run.communication_share = summary["communication_s"].get<double>() / run.iteration;
    run.exposed_share = summary["exposed_communication_s"].get<double>() / run.iteration;
    run.hidden_share = figures.hidden_mean / run.iteration;
  }
  for (const auto& [rank, span] : spans) {
    const auto& [count, first, last] = span;
    if (last > first) run.throughput += count * samples_per_rank / (last - first);
  }
  // No training rank marks iterations (a federated server keeps the rounds): the run's own.
  if (spans.empty() && run.iteration > 0)
    run.throughput = static_cast<double>(figures.samples_per_iteration) / run.iteration;
  // An elastic run simulates only a few of its iterations: its samples kept per second of makespan,
  // the failures, writes and restarts included.
  if (figures.elastic) run.throughput = figures.elastic->goodput;
  const double iterations = std::max<double>(1, static_cast<double>(summary["iterations_s"].size()));
  std::ifstream links(run.dir / "links.csv");
  std::string line;
  std::getline(links, line);  // link,bandwidth_Bps,bytes,busy_s,utilization
  if (std::getline(links, line)) {
    const std::size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
    run.busiest_link = line.substr(0, a);
    run.busiest_bytes_per_iteration = std::stod(line.substr(b + 1, c - b - 1)) / iterations;
  }
}

// The runs of one case, best first: highest throughput, then shortest iteration.
std::vector<const Run*> ranked(const std::vector<Run>& runs, const std::string& case_name) {
  std::vector<const Run*> rows;
  for (const Run& r : runs) {
    if (r.case_name == case_name) rows.push_back(&r);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Run* a, const Run* b) {
    if (a->throughput != b->throughput) return a->throughput > b->throughput;
    return a->iteration < b->iteration;
  });
  return rows;
}

void print_table(const std::string& title, const std::vector<const Run*>& rows, std::ostream& out) {
  if (!title.empty()) out << "\n" << title << "\n";
  std::size_t width = 16;  // the strategy column: as wide as its longest name
  for (const Run* r : rows) width = std::max(width, r->strategy.size());
  out << fmt::format("  {:>2}  {:<{}} {:>11} {:>11} {:>10} {:>6} {:>8} {:>11}  {}\n", "#", "strategy", width,
                     "iteration", "closed form", "samples/s", "comm", "exposed", "memory/GPU",
                     "busiest link (per iteration)");
  int rank = 0;
  for (const Run* r : rows) {
    out << fmt::format(
        "  {:>2}  {:<{}} {:>11} {:>11} {:>10.0f} {:>5.0f}% {:>7.0f}% {:>11}  {} {}\n", ++rank, r->strategy,
        width, core::format_duration(r->iteration), core::format_duration(r->prediction.iteration_seconds),
        r->throughput, 100 * r->communication_share, 100 * r->exposed_share,
        // A configuration that does not fit (simulated with check_memory: false) says so.
        r->prediction.memory_per_device > 0
            ? fmt::format("{}{}", r->prediction.memory_fits() == false ? "OOM " : "",
                          core::format_bytes(static_cast<double>(r->prediction.memory_per_device)))
            : "-",
        r->busiest_link.empty() ? "-" : r->busiest_link, core::format_bytes(r->busiest_bytes_per_iteration));
  }
}

}  // namespace

int compare_command(const CompareArgs& args) {
  const Plan plan = read_plan(args);
  const std::filesystem::path out =
      args.out.empty() ? std::filesystem::path("dmlsim-out/compare") / plan.name : args.out;
  check_output_dir(out);
  std::vector<Run> runs = plan_runs(plan, args, out);
  const int jobs = effective_jobs(args.jobs);
  std::cout << fmt::format("dmlsim compare {}: {} strategies × {} case(s), {} simulation(s), {} at a time\n",
                           plan.name, plan.strategies.size(), plan.cases.size(), runs.size(), jobs)
            << std::flush;
  execute(runs, plan.experiment, jobs);
  for (Run& r : runs) measure(r);

  for (const Variant& c : plan.cases)
    print_table(c.name.empty() ? "" : "case " + c.name, ranked(runs, c.name), std::cout);
  write_outputs(out,
                {{"compare.csv", [&](std::ostream& csv) {
                    csv << "case,strategy,rank,iteration_s,predicted_iteration_s,throughput_samples_per_s,"
                           "communication_share,exposed_communication_share,hidden_communication_share,"
                           "memory_per_gpu_bytes,memory_fits,busiest_link,busiest_link_bytes_per_iteration,"
                           "output\n";
                    for (const Variant& c : plan.cases) {
                      int rank = 0;
                      for (const Run* r : ranked(runs, c.name)) {
                        const std::optional<bool> fits = r->prediction.memory_fits();
                        csv << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r->case_name,
                                           r->strategy, ++rank, r->iteration, r->prediction.iteration_seconds,
                                           r->throughput, r->communication_share, r->exposed_share,
                                           r->hidden_share, r->prediction.memory_per_device,
                                           fits ? (*fits ? "true" : "false") : "", r->busiest_link,
                                           r->busiest_bytes_per_iteration, r->dir.string());
                      }
                    }
                  }}});
  std::cout << fmt::format("\n  wrote {} and one directory per run (trace.json opens in ui.perfetto.dev)\n",
                           (out / "compare.csv").string());
  return 0;
}

}  // namespace dmlsim::apps
