// `dmlsim search EXPERIMENT --gpus N`: which (dp, tp, pp, schedule, micro-batch size, ZeRO stage,
// recomputation) is fastest for this model on this cluster, and does it fit? Every factorisation
// dp·tp·pp = N with each schedule (interleaved with each of `--chunks`), each of
// `--micro-batch-sizes` b, ZeRO stage 0 or 1 and recomputation none or selective is built as a
// `hybrid` strategy (its micro-batches from the global batch: m = B / (dp · b)); what cannot be
// built (a degree that does not divide the model, a batch that does not divide) or does not fit a
// device is pruned with its reason; the rest are ranked by the closed forms' throughput and the
// best `--simulate` K of them simulated, `--jobs` at a time (each in its own `dmlsim run`). Prints
// the simulated ranking and writes search.csv with every configuration.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>

#include "apps/batch_runner.hpp"
#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::apps {
namespace {

struct Candidate {
  int dp = 1, tp = 1, pp = 1;
  std::string schedule = "1f1b";
  int chunks = 1;  // v: interleaved's model chunks per stage
  std::int64_t micro_batch_size = 1;
  int micro_batches = 1;
  int zero = 0;
  std::string recompute = "none";

  std::string status = "pruned";  // pruned | predicted | simulated | failed
  std::string reason;             // why pruned or failed
  double predicted_s = 0;
  std::uint64_t memory_bytes = 0;
  double bubble = 0;  // the schedule's idle share of stage time (replay)
  double simulated_s = 0, compute_share = 0, exposed_share = 0;
  std::filesystem::path dir;

  std::string name() const {
    return fmt::format("dp{}-tp{}-pp{}-{}{}-b{}-m{}-zero{}-{}", dp, tp, pp, schedule,
                       schedule == "interleaved" ? fmt::format("-v{}", chunks) : "", micro_batch_size,
                       micro_batches, zero, recompute);
  }
  Overrides overrides(int gpus) const {
    return {{"ranks", std::to_string(gpus)},
            {"parallelism", fmt::format("{{dp: {}, tp: {}, pp: {}}}", dp, tp, pp)},
            {"strategy",
             fmt::format("{{type: hybrid, schedule: {}, {}micro_batches: {}, micro_batch_size: {}, zero: {}, "
                         "recompute: {}, check_memory: false}}",
                         schedule, schedule == "interleaved" ? fmt::format("chunks: {}, ", chunks) : "",
                         micro_batches, micro_batch_size, zero, recompute)}};
  }
};

std::vector<int> divisors(int n) {
  std::vector<int> out;
  for (int d = 1; d <= n; ++d) {
    if (n % d == 0) out.push_back(d);
  }
  return out;
}

// Every configuration, in a stable order: tp, pp, schedule (interleaved by chunks), micro-batch size,
// ZeRO, recomputation.
std::vector<Candidate> enumerate(int gpus, std::int64_t global_batch, const SearchArgs& args) {
  std::vector<std::pair<std::string, int>> pipelined = {{"1f1b", 1}};  // schedule, chunks
  for (const int v : args.chunks) pipelined.emplace_back("interleaved", v);
  pipelined.emplace_back("zb-h1", 1);
  std::vector<Candidate> out;
  for (const int tp : divisors(gpus)) {
    for (const int pp : divisors(gpus / tp)) {
      const int dp = gpus / tp / pp;
      const auto schedules = pp == 1 ? std::vector<std::pair<std::string, int>>{{"1f1b", 1}} : pipelined;
      for (const auto& [schedule, chunks] : schedules) {
        for (const std::int64_t b : args.micro_batch_sizes) {
          for (const int zero : {0, 1}) {
            for (const std::string recompute : {"none", "selective"}) {
              Candidate c;
              c.dp = dp;
              c.tp = tp;
              c.pp = pp;
              c.schedule = schedule;
              c.chunks = chunks;
              c.micro_batch_size = b;
              c.zero = zero;
              c.recompute = recompute;
              const std::int64_t per_replica = global_batch / dp;
              if (global_batch % dp != 0 || per_replica % b != 0) {
                c.reason = fmt::format("the global batch {} is not a multiple of dp {} × micro-batch {}",
                                       global_batch, dp, b);
              } else {
                c.micro_batches = static_cast<int>(per_replica / b);
              }
              out.push_back(c);
            }
          }
        }
      }
    }
  }
  return out;
}

// Builds the candidate's strategy and asks its closed forms; prunes what cannot be built or fit.
void predict(Candidate& c, const SearchArgs& args) {
  if (!c.reason.empty()) return;
  Overrides overrides = args.overrides;
  const Overrides mine = c.overrides(args.gpus);
  overrides.insert(overrides.end(), mine.begin(), mine.end());
  try {
    const core::Experiment e = strategies::load_experiment(args.experiment, overrides);
    const strategies::Prediction p = strategies::make_strategy(e)->predict();
    c.predicted_s = p.iteration_seconds;
    c.memory_bytes = p.memory_per_device;
    c.bubble = p.bubble_fraction;
    for (const auto& m : p.memory) {
      if (m.total() > m.capacity) {
        c.reason = fmt::format("out of memory: {} needs {} of {}", m.ranks,
                               core::format_bytes(static_cast<double>(m.total())),
                               core::format_bytes(static_cast<double>(m.capacity)));
        return;
      }
    }
    c.status = "predicted";
  } catch (const core::ConfigError& err) {
    // The message names the field; keep what follows "field '...': ".
    std::string what = err.what();
    const std::size_t at = what.find("': ");
    c.reason = at == std::string::npos ? what : what.substr(at + 3);
  }
}

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char ch : text) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return quoted + "\"";
}

void write_csv(std::ostream& out, const std::vector<Candidate>& all, std::int64_t global_batch) {
  out << "dp,tp,pp,schedule,micro_batches,zero,recompute,micro_batch_size,chunks,status,reason,"
         "predicted_iteration_s,"
         "simulated_iteration_s,samples_per_s,memory_per_device_bytes,bubble_share,compute_share,"
         "exposed_share,run\n";
  for (const Candidate& c : all) {
    const double iteration = c.status == "simulated" ? c.simulated_s : c.predicted_s;
    out << fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", c.dp, c.tp, c.pp, c.schedule,
        c.micro_batches, c.zero, c.recompute, c.micro_batch_size, c.chunks, c.status, csv_cell(c.reason),
        c.predicted_s > 0 ? fmt::format("{:.17g}", c.predicted_s) : "",
        c.status == "simulated" ? fmt::format("{:.17g}", c.simulated_s) : "",
        iteration > 0 ? fmt::format("{:.6g}", static_cast<double>(global_batch) / iteration) : "",
        c.memory_bytes > 0 ? std::to_string(c.memory_bytes) : "",
        c.predicted_s > 0 ? fmt::format("{:.4f}", c.bubble) : "",
        c.status == "simulated" ? fmt::format("{:.4f}", c.compute_share) : "",
        c.status == "simulated" ? fmt::format("{:.4f}", c.exposed_share) : "",
        c.dir.empty() ? "" : c.dir.string());
  }
}

}  // namespace

int search_command(const SearchArgs& args) {
  if (args.gpus < 1) throw core::ConfigError(fmt::format("--gpus {}: at least one GPU", args.gpus));
  const core::Experiment base = strategies::load_experiment(args.experiment, args.overrides);
  const core::Model& model = base.require_model();
  if (base.platform.host_count() < args.gpus) {
    throw core::ConfigError(fmt::format("{}: --gpus {}: platform '{}' has {} hosts", args.experiment.string(),
                                        args.gpus, base.platform.name, base.platform.host_count()));
  }
  const std::int64_t global_batch = args.global_batch > 0 ? args.global_batch : model.micro_batch * args.gpus;
  SearchArgs tried = args;
  if (tried.micro_batch_sizes.empty()) tried.micro_batch_sizes = {model.micro_batch};
  for (const std::int64_t b : tried.micro_batch_sizes) {
    if (b < 1) throw core::ConfigError(fmt::format("--micro-batch-sizes {}: a size is at least 1", b));
  }
  for (const int v : tried.chunks) {
    if (v < 2) throw core::ConfigError(fmt::format("--chunks {}: interleaving takes at least 2 chunks", v));
  }
  std::vector<Candidate> all = enumerate(args.gpus, global_batch, tried);
  std::cout << fmt::format("search: {} on {} GPUs of {}, global batch {} ({} configurations)\n", model.name,
                           args.gpus, base.platform.name, global_batch, all.size());
  for (Candidate& c : all) predict(c, args);

  // The fitting ones by predicted throughput (shortest iteration first); the best K are simulated.
  std::vector<Candidate*> fitting;
  for (Candidate& c : all) {
    if (c.status == "predicted") fitting.push_back(&c);
  }
  std::stable_sort(fitting.begin(), fitting.end(),
                   [](const Candidate* a, const Candidate* b) { return a->predicted_s < b->predicted_s; });
  std::cout << fmt::format("  {} fit, {} pruned; simulating the best {} by the closed forms\n",
                           fitting.size(), all.size() - fitting.size(),
                           std::min<std::size_t>(fitting.size(), static_cast<std::size_t>(args.simulate)));
  const std::filesystem::path out =
      args.out.empty() ? std::filesystem::path("dmlsim-out/search") / base.name : args.out;
  std::vector<PlannedRun> planned;
  std::vector<Candidate*> simulated;
  for (Candidate* c : fitting) {
    if (static_cast<int>(simulated.size()) >= args.simulate) break;
    c->dir = out / c->name();
    Overrides overrides = args.overrides;
    const Overrides mine = c->overrides(args.gpus);
    overrides.insert(overrides.end(), mine.begin(), mine.end());
    if (base.trace == core::TraceDetail::none) overrides.emplace_back("simulation.trace", "phases");
    planned.push_back({c->name(), args.experiment, overrides, c->dir});
    simulated.push_back(c);
  }
  const std::vector<std::string> failed = run_batch(planned, effective_jobs(args.jobs), &std::cout);
  for (Candidate* c : simulated) {
    if (std::find(failed.begin(), failed.end(), c->name()) != failed.end()) {
      c->status = "failed";
      c->reason = "the simulation failed (see its directory)";
      continue;
    }
    const core::RunSummary s = core::RunSummary::from_json(read_summary(c->dir));
    c->status = "simulated";
    c->simulated_s = s.iteration_mean;
    c->compute_share = s.iteration_mean > 0 ? s.compute_mean / s.iteration_mean : 0;
    c->exposed_share = s.iteration_mean > 0 ? s.exposed_mean / s.iteration_mean : 0;
  }
  std::stable_sort(simulated.begin(), simulated.end(), [](const Candidate* a, const Candidate* b) {
    return (a->status == "simulated" ? a->simulated_s : 1e300) <
           (b->status == "simulated" ? b->simulated_s : 1e300);
  });

  std::cout << fmt::format("\n  {:<52} {:>11} {:>11} {:>10} {:>10} {:>7} {:>8} {:>8}\n", "configuration",
                           "iteration", "predicted", "samples/s", "memory", "bubble", "compute", "exposed");
  for (const Candidate* c : simulated) {
    if (c->status != "simulated") continue;
    std::cout << fmt::format("  {:<52} {:>11} {:>11} {:>10.4g} {:>10} {:>6.1f}% {:>7.1f}% {:>7.1f}%\n",
                             c->name(), core::format_duration(c->simulated_s),
                             core::format_duration(c->predicted_s),
                             static_cast<double>(global_batch) / c->simulated_s,
                             core::format_bytes(static_cast<double>(c->memory_bytes)), 100 * c->bubble,
                             100 * c->compute_share, 100 * c->exposed_share);
  }
  const auto written =
      write_outputs(out, {{"search.csv", [&](std::ostream& o) { write_csv(o, all, global_batch); }}});
  std::cout << fmt::format("\n  wrote {}\n", written.front().string());
  if (!failed.empty())
    throw core::BackendError(
        fmt::format("{} simulation(s) failed: {}", failed.size(), fmt::join(failed, ", ")));
  return 0;
}

}  // namespace dmlsim::apps
