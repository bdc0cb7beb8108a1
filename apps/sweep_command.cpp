// `dmlsim sweep`: one experiment over the points of a sweep file (sweep_plan.hpp), every point a
// `dmlsim run` in its own process (batch_runner.hpp), `--jobs` at a time; one row per point in
// sweep.csv (sweep_table.hpp). A point that fails is recorded with its error and the sweep goes on.
//
// Output directory:
//   sweep.csv                      (a shard: sweep-shard-I-of-N.csv)
//   points/NNNN/                   each point's run: summary.json, trace.json, trace.csv, links.csv
//   logs/NNNN.log                  what a failed point printed
//   points.jsonl                   (a shard: points-shard-I-of-N.jsonl) one line per finished point:
//                                  {point, inputs, status[, error]}; --resume skips a point whose
//                                  line says ok for the same inputs (the hash of every file its
//                                  experiment reads and of its overrides) and whose summary is there.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "apps/batch_runner.hpp"
#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "apps/sweep_plan.hpp"
#include "apps/sweep_table.hpp"
#include "core/config_node.hpp"
#include "core/errors.hpp"
#include "strategies/jobs.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::apps {
namespace {

namespace fs = std::filesystem;

// FNV-1a, 64 bits: a fingerprint of a point's inputs, not a defence against anyone.
class Fingerprint {
 public:
  void add(std::string_view text) {
    for (const char c : fmt::format("{}:", text.size())) mix(c);
    for (const char c : text) mix(c);
  }
  std::string hex() const { return fmt::format("{:016x}", hash_); }

 private:
  void mix(char c) {
    hash_ ^= static_cast<unsigned char>(c);
    hash_ *= 0x100000001b3ULL;
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

struct Point {
  const SweepPoint* spec = nullptr;
  Overrides overrides;    // --set, then the point's values
  std::string inputs;     // fingerprint of what the point reads; empty when its input is bad
  std::string error;      // bad input, or what the failed run said
  std::string directory;  // points/NNNN, relative to the output directory
  bool ok = false;
};

std::string shard_suffix(const SweepArgs& args) {
  return args.shard_count > 1 ? fmt::format("-shard-{}-of-{}", args.shard_index, args.shard_count) : "";
}

// A point with its fields: the sweep file's `set`, then --set, then the point's own values.
Point make_point(const SweepPlan& plan, const SweepArgs& args, const SweepPoint& spec) {
  Point p;
  p.spec = &spec;
  p.overrides = plan.set;
  p.overrides.insert(p.overrides.end(), args.overrides.begin(), args.overrides.end());
  const auto values = plan.values(spec);
  p.overrides.insert(p.overrides.end(), values.begin(), values.end());
  return p;
}

// Loads the point's experiment (every input error surfaces here, before anything runs) and
// fingerprints the files it read: the experiment, its platform, model and device files. `jobs`:
// the experiment lists jobs (strategies/jobs.hpp), asked once per sweep.
void check_inputs(Point& point, const fs::path& experiment, bool jobs) {
  try {
    const core::LoadedFiles files;
    if (jobs) {
      strategies::load_jobs(experiment, point.overrides);  // every job's experiment and strategy
    } else {
      strategies::make_strategy(strategies::load_experiment(experiment, point.overrides))->predict();
    }
    Fingerprint f;
    f.add("dmlsim 0.1.0 sweep point");
    for (const auto& [path, text] : files.files()) f.add(text);
    for (const auto& [field, value] : point.overrides) f.add(field + "=" + value);
    point.inputs = f.hex();
  } catch (const core::ConfigError& e) {
    point.error = e.what();
  }
}

// The point's state lines of an earlier sweep into the same directory: point → the last line.
std::map<int, nlohmann::json> read_state(const fs::path& file) {
  std::map<int, nlohmann::json> state;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    try {
      const nlohmann::json entry = nlohmann::json::parse(line);
      state[entry.at("point").get<int>()] = entry;
    } catch (const nlohmann::json::exception&) {
      // A line cut short by an interrupt: that point runs again.
    }
  }
  return state;
}

// The last line a failed run printed ("dmlsim: error: ..."), without the program's name.
std::string failure_of(const fs::path& log, int exit_code) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  for (const std::string_view prefix : {"dmlsim: error: ", "dmlsim: "}) {
    if (last.starts_with(prefix)) return last.substr(prefix.size());
  }
  return last.empty() ? fmt::format("exit code {}", exit_code) : last;
}

// The shard's mark, written when its CSV is: which Open MPI job and which network namespace it ran in.
fs::path shard_mark(const fs::path& out, int index, int count) {
  return out / fmt::format("shard-{}-of-{}.done", index, count);
}

// Under mpirun: every rank marks its shard done; rank 0 waits for the marks of this job (a mark
// of an earlier job in the same directory does not count) and merges the shards into sweep.csv.
// The other ranks exit 0 whatever their points did: mpirun would stop rank 0 on a non-zero exit.
int finish_mpirun_shard(const SweepArgs& args, const fs::path& out, const std::string& name,
                        std::size_t failed) {
  std::error_code ec;
  const fs::path netns = fs::read_symlink("/proc/self/ns/net", ec);
  const nlohmann::json mark{{"job", args.mpi_job},
                            {"shard", args.shard_index},
                            {"failed", failed},
                            {"net_namespace", netns.string()}};
  const fs::path mine = shard_mark(out, args.shard_index, args.shard_count);
  write_outputs(out, {{mine.filename().string(), [&](std::ostream& o) { o << mark.dump() << "\n"; }}});
  if (args.shard_index != 0) return 0;
  std::vector<fs::path> shards;
  for (int i = 0; i < args.shard_count; ++i) {
    const fs::path file = shard_mark(out, i, args.shard_count);
    for (bool said = false;; std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
      std::ifstream in(file);
      nlohmann::json j;
      try {
        if (in) j = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception&) {
      }
      if (j.is_object() && j.value("job", "") == args.mpi_job) break;
      if (!said) std::cout << fmt::format("  waiting for shard {}/{}\n", i, args.shard_count) << std::flush;
      said = true;
    }
    shards.push_back(out / fmt::format("sweep-shard-{}-of-{}.csv", i, args.shard_count));
  }
  const SweepTable table = merge_sweep_tables(shards);
  write_outputs(out, {{"sweep.csv", [&](std::ostream& csv) { write_sweep_csv(table, csv); }}});
  const auto failures = static_cast<std::size_t>(std::count_if(
      table.rows.begin(), table.rows.end(), [](const SweepRow& r) { return r.status != "ok"; }));
  std::cout << fmt::format("  {}: {} shards merged into {} ({} point(s), {} failed)\n", name,
                           args.shard_count, (out / "sweep.csv").string(), table.rows.size(), failures);
  if (failures > 0) {
    std::cerr << fmt::format("dmlsim: {} of {} point(s) failed: see the error column of {}\n", failures,
                             table.rows.size(), (out / "sweep.csv").string());
    return 1;
  }
  return 0;
}

}  // namespace

int sweep_command(const SweepArgs& args) {
  const SweepPlan plan = read_sweep_plan(args.file);
  const bool lists_jobs = strategies::has_jobs(plan.experiment);
  const fs::path out = args.out.empty() ? fs::path("dmlsim-out/sweep") / plan.name : args.out;
  check_output_dir(out);
  const std::string suffix = shard_suffix(args);
  const fs::path state_file = out / fmt::format("points{}.jsonl", suffix);
  const std::string csv_name = fmt::format("sweep{}.csv", suffix);

  const int width = std::max<int>(4, static_cast<int>(std::to_string(plan.points.size() - 1).size()));
  std::vector<Point> points;
  for (const SweepPoint& spec : plan.points) {
    if (spec.index % args.shard_count != args.shard_index) continue;
    Point p = make_point(plan, args, spec);
    p.directory = fmt::format("points/{:0{}}", spec.index, width);
    check_inputs(p, plan.experiment, lists_jobs);
    points.push_back(std::move(p));
  }
  // Bad input for every point is bad input, not a sweep of failures (an axis naming no field). A
  // shard whose points are all invalid looks at the others' until one is valid.
  const auto invalid_input = [](const Point& p) { return p.inputs.empty(); };
  const auto another_is_valid = [&] {
    for (const SweepPoint& spec : plan.points) {
      if (spec.index % args.shard_count == args.shard_index) continue;
      Point q = make_point(plan, args, spec);
      check_inputs(q, plan.experiment, lists_jobs);
      if (!q.inputs.empty()) return true;
    }
    return false;
  };
  if (!points.empty() && std::all_of(points.begin(), points.end(), invalid_input) && !another_is_valid()) {
    throw core::ConfigError(fmt::format("sweep {}: every point's experiment is invalid; point {}: {}",
                                        plan.name, points.front().spec->index, points.front().error));
  }

  const std::map<int, nlohmann::json> earlier =
      args.resume ? read_state(state_file) : std::map<int, nlohmann::json>{};
  std::vector<PlannedRun> runs;
  std::vector<Point*> run_points;
  std::size_t done_before = 0, invalid = 0;
  for (Point& p : points) {
    if (p.inputs.empty()) {
      ++invalid;
      continue;
    }
    if (const auto it = earlier.find(p.spec->index);
        it != earlier.end() && it->second.value("status", "") == "ok" &&
        it->second.value("inputs", "") == p.inputs && fs::exists(out / p.directory / "summary.json")) {
      p.ok = true;
      ++done_before;
      continue;
    }
    std::vector<std::string> shown;
    for (const auto& [field, value] : plan.values(*p.spec)) shown.push_back(value);
    Overrides overrides = p.overrides;
    overrides.emplace_back("name", fmt::format("{}-{:0{}}", plan.name, p.spec->index, width));
    runs.push_back({fmt::format("point {} ({})", p.spec->index, fmt::join(shown, ", ")),
                    plan.experiment,
                    std::move(overrides),
                    out / p.directory,
                    {},
                    out / "logs" / fmt::format("{:0{}}.log", p.spec->index, width)});
    run_points.push_back(&p);
  }

  const int jobs = effective_jobs(args.jobs);
  std::cout << fmt::format("dmlsim sweep {}: {} point(s){} over {} ax{}", plan.name, points.size(),
                           args.shard_count > 1 ? fmt::format(" of {} (shard {}/{})", plan.points.size(),
                                                              args.shard_index, args.shard_count)
                                                : "",
                           plan.axes.size(), plan.axes.size() == 1 ? "is" : "es");
  if (done_before > 0) std::cout << fmt::format(", {} done already", done_before);
  if (invalid > 0) std::cout << fmt::format(", {} with invalid input", invalid);
  std::cout << fmt::format("; {} to run, {} at a time\n", runs.size(), jobs) << std::flush;

  fs::create_directories(out / "logs");
  // Without --resume the sweep starts over: its earlier state goes (the points' directories are
  // replaced as they run again).
  const bool cut_short = args.resume && fs::exists(state_file) && [&] {
    const std::string text = [&] {
      std::ifstream in(state_file);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    return !text.empty() && text.back() != '\n';
  }();
  std::ofstream state(state_file, args.resume ? std::ios::app : std::ios::trunc);
  if (!state) throw core::BackendError(fmt::format("cannot write {}", state_file.string()));
  if (cut_short) state << "\n";  // a line an interrupt cut short ends, unread, before the next
  for (const Point& p : points) {
    if (!p.inputs.empty()) continue;
    state << nlohmann::json{{"point", p.spec->index}, {"status", "invalid"}, {"error", p.error}}.dump()
          << "\n";
  }
  state.flush();
  run_batch(runs, jobs, &std::cout, [&](std::size_t index, int exit_code) {
    Point& p = *run_points[index];
    nlohmann::json entry{{"point", p.spec->index}, {"inputs", p.inputs}};
    if (exit_code == 0) {
      p.ok = true;
      fs::remove(runs[index].log);
      entry["status"] = "ok";
    } else {
      p.error = failure_of(runs[index].log, exit_code);
      entry["status"] = "failed";
      entry["error"] = p.error;
    }
    state << entry.dump() << "\n" << std::flush;
  });
  // Only when empty (the logs of failed points stay), and not beside other shards still running.
  std::error_code ignored;
  if (args.shard_count == 1) fs::remove(out / "logs", ignored);

  SweepTable table;
  for (const SweepAxis& axis : plan.axes) table.axes.push_back(axis.field);
  std::size_t failed = 0;
  for (const Point& p : points) {
    SweepRow row;
    row.point = p.spec->index;
    for (const auto& [field, value] : plan.values(*p.spec)) row.values.push_back(value);
    row.output = p.directory;
    if (p.ok) {
      row.status = "ok";
      row.figures = summary_figures(read_summary(out / p.directory));
    } else {
      row.status = "failed";
      row.error = p.error;
      ++failed;
    }
    table.rows.push_back(std::move(row));
  }
  write_outputs(out, {{csv_name, [&](std::ostream& csv) { write_sweep_csv(table, csv); }}});
  std::cout << fmt::format("\n  wrote {} ({} point(s), {} failed) and one directory per point under {}\n",
                           (out / csv_name).string(), points.size(), failed, (out / "points").string());
  if (!args.mpi_job.empty()) return finish_mpirun_shard(args, out, plan.name, failed);
  if (failed > 0) {
    std::cerr << fmt::format(
        "dmlsim: {} of {} point(s) failed: see the error column of {}{}\n", failed, points.size(),
        (out / csv_name).string(),
        failed > invalid ? fmt::format(" and the logs in {}", (out / "logs").string()) : "");
    return 1;
  }
  return 0;
}

int sweep_merge_command(const SweepMergeArgs& args) {
  const SweepTable table = merge_sweep_tables(args.inputs);
  check_output_dir(args.out.parent_path());
  const fs::path dir = args.out.parent_path().empty() ? fs::path(".") : args.out.parent_path();
  write_outputs(dir,
                {{args.out.filename().string(), [&](std::ostream& csv) { write_sweep_csv(table, csv); }}});
  std::cout << fmt::format("dmlsim sweep merge: {} point(s) from {} file(s) into {}\n", table.rows.size(),
                           args.inputs.size(), args.out.string());
  return 0;
}

}  // namespace dmlsim::apps
