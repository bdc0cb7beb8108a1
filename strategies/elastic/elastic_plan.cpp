#include "strategies/elastic/elastic_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "core/availability_trace.hpp"
#include "core/errors.hpp"
#include "core/seeded_draws.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"

namespace dmlsim::strategies {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// "iteration 500" → 500; nullopt when `text` is not of that form.
std::optional<std::int64_t> iteration_of(const std::string& text) {
  constexpr std::string_view kPrefix = "iteration ";
  if (text.rfind(kPrefix, 0) != 0) return std::nullopt;
  const std::string digits = text.substr(kPrefix.size());
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  return std::stoll(digits);
}

bool all_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

void read_checkpoint(const core::ConfigNode& node, ElasticOptions& o) {
  node.expect_only({"interval", "storage", "bytes"});
  if (const auto interval = node.find("interval")) {
    const std::string text = interval->as_string();
    if (text == "young-daly") {
      o.interval = ElasticOptions::Interval::young_daly;
    } else if (all_digits(text)) {
      o.interval = ElasticOptions::Interval::iterations;
      o.interval_iterations = interval->as_int();
      if (o.interval_iterations < 1) interval->fail("a checkpoint interval in iterations must be at least 1");
    } else {
      o.interval = ElasticOptions::Interval::seconds;
      o.interval_seconds = interval->as_duration();
      if (!(o.interval_seconds > 0)) interval->fail("a checkpoint interval must be positive");
    }
  }
  if (const auto storage = node.find("storage")) {
    storage->expect_only({"write", "read", "latency"});
    if (storage->has("write")) o.storage.write = storage->bandwidth("write");
    if (storage->has("read")) o.storage.read = storage->bandwidth("read");
    o.storage.latency = storage->duration_or("latency", 0);
    if (!(o.storage.write > 0)) storage->at("write").fail("must be positive");
    if (!(o.storage.read > 0)) storage->at("read").fail("must be positive");
    if (o.storage.latency < 0) storage->at("latency").fail("must not be negative");
  }
  if (node.has("bytes")) {
    o.checkpoint_bytes = node.bytes("bytes");
    if (o.checkpoint_bytes == 0) node.at("bytes").fail("a checkpoint holds at least one byte");
  }
}

}  // namespace

std::optional<int> ElasticOptions::node_index(std::int64_t id) const {
  const auto at = std::find(node_ids.begin(), node_ids.end(), id);
  if (at == node_ids.end()) return std::nullopt;
  return static_cast<int>(at - node_ids.begin());
}

namespace {

// The job's node index of each node number in `value` (one number or a list).
std::vector<int> read_nodes(const core::ConfigNode& value, const ElasticOptions& o) {
  std::vector<core::ConfigNode> items;
  if (value.as_flow_yaml().starts_with("[")) {
    items = value.items();
  } else {
    items.push_back(value);
  }
  std::vector<int> nodes;
  for (const core::ConfigNode& item : items) {
    const std::int64_t n = item.as_int();
    const std::optional<int> index = o.node_index(n);
    if (!index) item.fail(fmt::format("node {} runs none of the job's ranks", n));
    nodes.push_back(*index);
  }
  if (nodes.empty()) value.fail("name at least one node");
  return nodes;
}

// An availability trace (core/availability_trace.hpp) as timed events: each window's start a join, its end a
// preemption (a failure, or a clean leave with `preemption: leave`); nodes whose first window starts
// after the job's are out of it at the start.
void read_availability_events(const core::ConfigNode& file, const core::ConfigNode& failures,
                              ElasticOptions& o) {
  const std::filesystem::path path = file.resolve_path(file.as_string());
  const std::string preemption = failures.string_or("preemption", "fail");
  if (preemption != "fail" && preemption != "leave")
    failures.at("preemption").fail("fail (the work since the last commit is lost) or leave (at a commit)");
  const auto preempted = preemption == "leave" ? MembershipEvent::Kind::leave : MembershipEvent::Kind::fail;
  std::map<int, double> first_window;  // job node index → its first window's start
  for (const core::AvailabilityWindow& w : core::read_availability(path, "node")) {
    const std::optional<int> index = o.node_index(w.key);
    if (!index) {
      throw core::ConfigError(
          fmt::format("{}:{}: node {} runs none of the job's ranks", path.string(), w.line, w.key));
    }
    const int n = *index;
    const auto [it, inserted] = first_window.try_emplace(n, w.from);
    if (!inserted) it->second = std::min(it->second, w.from);
    if (w.from > 0) o.events.push_back({.kind = MembershipEvent::Kind::join, .at = w.from, .nodes = {n}});
    if (std::isfinite(w.to)) o.events.push_back({.kind = preempted, .at = w.to, .nodes = {n}});
  }
  for (const auto& [n, from] : first_window) {
    o.traced_nodes.push_back(n);
    if (from > 0) o.out_at_start.push_back(n);
  }
}

void read_failures(const core::ConfigNode& node, const core::Experiment& e, ElasticOptions& o) {
  node.expect_only({"mtbf", "seed", "events", "repair", "availability", "preemption"});
  if (const auto mtbf = node.find("mtbf")) {
    o.host_mtbf = mtbf->as_duration();
    if (!(o.host_mtbf > 0)) mtbf->fail("a mean time between failures must be positive");
  }
  o.seed = static_cast<std::uint64_t>(node.integer_in_or("seed", 0, std::int64_t{1} << 62, 1));
  if (const auto repair = node.find("repair")) {
    o.repair = repair->as_duration();
    if (!(o.repair > 0)) repair->fail("a repair takes a positive time");
  }
  if (const auto events = node.find("events")) {
    for (const core::ConfigNode& event : events->items()) {
      event.expect_only({"at", "fail", "leave", "join"});
      MembershipEvent m;
      int kinds = 0;
      for (const auto& [key, kind] :
           {std::pair{"fail", MembershipEvent::Kind::fail}, std::pair{"leave", MembershipEvent::Kind::leave},
            std::pair{"join", MembershipEvent::Kind::join}}) {
        if (const auto nodes = event.find(key)) {
          m.kind = kind;
          m.nodes = read_nodes(*nodes, o);
          ++kinds;
        }
      }
      if (kinds != 1) event.fail("give one of fail, leave or join: the nodes it concerns");
      const core::ConfigNode at = event.at("at");
      const std::string text = at.as_string();
      if (const auto iteration = iteration_of(text)) {
        m.iteration = *iteration;
        if (m.iteration < 1 || m.iteration > e.iterations)
          at.fail(fmt::format("the job trains iterations 1 to {}", e.iterations));
      } else {
        m.at = at.as_duration();
        if (!(m.at > 0)) at.fail("a change comes after the start: give a positive time or 'iteration N'");
      }
      o.events.push_back(std::move(m));
    }
  }
  o.scripted_events = o.events.size();
  if (const auto file = node.find("availability")) read_availability_events(*file, node, o);
}

}  // namespace

std::span<const std::string_view> elastic_own_fields() {
  static constexpr std::string_view kFields[] = {"policy",    "checkpoint", "failures", "restart", "commit",
                                                 "min_ranks", "max_ranks",  "spares",   "batch"};
  return kFields;
}

namespace {

// Live rescaling's own checks: joins of nodes that are out of the job (spares, or removed by an event
// listed before), leaves that keep min_ranks, failed nodes that come back when failures are drawn.
void check_membership(const core::ConfigNode& node, const ElasticOptions& o, const std::vector<int>& spares) {
  const auto events = node.find("failures") ? node.at("failures").find("events") : std::nullopt;
  std::vector<bool> in(o.node_ranks.size(), true);
  for (int s : spares) in[static_cast<std::size_t>(s)] = false;
  const auto ranks_in = [&] {
    int n = 0;
    for (std::size_t i = 0; i < in.size(); ++i) n += in[i] ? static_cast<int>(o.node_ranks[i].size()) : 0;
    return n;
  };
  if (ranks_in() < o.min_ranks)
    node.at("min_ranks").fail(fmt::format("the job starts with {} ranks (spares out)", ranks_in()));
  if (o.max_ranks > 0 && ranks_in() > o.max_ranks) {
    node.at("max_ranks")
        .fail(fmt::format("the job starts with {} ranks: name the nodes beyond it in spares", ranks_in()));
  }
  for (std::size_t k = 0; k < o.scripted_events; ++k) {
    const MembershipEvent& m = o.events[k];
    const core::ConfigNode where = events->items()[k];
    for (int n : m.nodes) {
      const bool was_in = in[static_cast<std::size_t>(n)];
      if (m.kind == MembershipEvent::Kind::join && was_in) {
        where.at("join").fail(
            fmt::format("node {} is in the job then: only a spare or a node that left or "
                        "failed before can join",
                        o.node_ids[static_cast<std::size_t>(n)]));
      }
      if (m.kind != MembershipEvent::Kind::join && !was_in) {
        where.fail(fmt::format("node {} is not in the job then", o.node_ids[static_cast<std::size_t>(n)]));
      }
      in[static_cast<std::size_t>(n)] = m.kind == MembershipEvent::Kind::join;
    }
    if (m.kind == MembershipEvent::Kind::leave && ranks_in() < o.min_ranks)
      where.at("leave").fail(fmt::format("leaves {} ranks, below min_ranks {}", ranks_in(), o.min_ranks));
  }
  if (o.host_mtbf > 0 && o.repair <= 0) {
    node.at("failures")
        .fail(
            "live rescaling with drawn failures needs failures.repair: the time after which a "
            "failed node joins again");
  }
}

}  // namespace

ElasticOptions read_elastic_options(const core::ConfigNode& node, const core::Experiment& e,
                                    std::uint64_t checkpoint_bytes) {
  ElasticOptions o;
  o.checkpoint_bytes = checkpoint_bytes;
  o.storage = {.write = 2e9, .read = 10e9, .latency = 0};
  const std::string policy = node.string_or("policy", "checkpoint-restart");
  if (policy == "live-rescale") {
    o.policy = ElasticOptions::Policy::live_rescale;
  } else if (policy != "checkpoint-restart") {
    node.at("policy").fail("known policies: checkpoint-restart, live-rescale");
  }
  std::map<int, std::vector<int>> nodes;  // node number → its ranks
  for (int r = 0; r < e.training_ranks(); ++r)
    nodes[e.platform.node_of(e.placement[static_cast<std::size_t>(r)])].push_back(r);
  for (const auto& [id, ranks] : nodes) {
    o.node_ids.push_back(id);
    o.node_ranks.push_back(ranks);
  }
  o.readers = e.training_ranks();
  if (const auto failures = node.find("failures")) read_failures(*failures, e, o);
  const bool live = o.policy == ElasticOptions::Policy::live_rescale;
  for (const char* own : {"commit", "min_ranks", "max_ranks", "spares", "batch"}) {
    if (!live && node.has(own)) node.at(own).fail("a field of policy: live-rescale");
  }
  if (!live) {
    if (const auto failures = node.find("failures")) {
      for (const char* own : {"availability", "preemption"}) {
        if (failures->has(own)) failures->at(own).fail("a field of policy: live-rescale");
      }
    }
    for (std::size_t k = 0; k < o.events.size(); ++k) {
      if (o.events[k].kind != MembershipEvent::Kind::fail) {
        node.at("failures")
            .at("events")
            .items()[k]
            .fail("joins and leaves need policy: live-rescale (checkpoint-restart replaces a failed node)");
      }
    }
    if (o.repair > 0) node.at("failures").at("repair").fail("a field of policy: live-rescale");
  } else {
    if (node.has("checkpoint"))
      node.at("checkpoint")
          .fail("live rescaling keeps the state in memory and writes no checkpoints: see commit");
    o.commit_every = node.integer_in_or("commit", 1, std::int64_t{1} << 40, 1);
    o.min_ranks = static_cast<int>(node.integer_in_or("min_ranks", 1, e.training_ranks(), 1));
    o.max_ranks = static_cast<int>(
        node.integer_in_or("max_ranks", o.min_ranks, e.training_ranks(), e.training_ranks()));
    std::vector<int> spares;
    if (const auto s = node.find("spares")) spares = read_nodes(*s, o);
    check_membership(node, o, spares);
    for (int n : o.out_at_start) {
      if (std::find(spares.begin(), spares.end(), n) != spares.end()) {
        node.at("spares").fail(
            fmt::format("node {} is in the availability trace: it says when the node is up",
                        o.node_ids[static_cast<std::size_t>(n)]));
      }
    }
    spares.insert(spares.end(), o.out_at_start.begin(), o.out_at_start.end());
    o.spares = spares;
    const std::string batch = node.string_or("batch", "per-rank");
    if (batch == "global" && node.integer_or("accumulation", 1) > 1) {
      node.at("batch").fail(
          "keeping the global batch shares it among the ranks of each epoch; with gradient accumulation "
          "that is not modelled yet (use batch: per-rank)");
    }
    if (batch == "global") {
      // The starting job's batch, shared by whoever is in the job at each step.
      int starting = e.training_ranks();
      for (int s : spares) starting -= static_cast<int>(o.node_ranks[static_cast<std::size_t>(s)].size());
      o.global_batch = e.require_model().micro_batch * starting;
      if (o.global_batch < e.training_ranks()) {
        node.at("batch").fail(
            fmt::format("the global batch of {} samples cannot give each of up to {} ranks one",
                        o.global_batch, e.training_ranks()));
      }
    } else if (batch != "per-rank") {
      node.at("batch").fail("per-rank (each rank keeps its batch) or global (the job keeps its batch)");
    }
  }
  if (o.host_mtbf > 0) o.interval = ElasticOptions::Interval::young_daly;  // the default with failures
  if (const auto checkpoint = node.find("checkpoint")) read_checkpoint(*checkpoint, o);
  if (o.interval == ElasticOptions::Interval::young_daly && o.host_mtbf <= 0) {
    node.at("checkpoint")
        .at("interval")
        .fail("young-daly needs the failure rate: give failures: {mtbf: ...}, or an interval");
  }
  if (const auto restart = node.find("restart")) {
    restart->expect_only({"detect", "launch", "rendezvous"});
    o.detect = restart->duration_or("detect", o.detect);
    o.launch = restart->duration_or("launch", o.launch);
    o.rendezvous = restart->duration_or("rendezvous", o.rendezvous);
    if (o.detect < 0) restart->at("detect").fail("must not be negative");
    if (o.launch < 0) restart->at("launch").fail("must not be negative");
    if (o.rendezvous < 0) restart->at("rendezvous").fail("must not be negative");
    if (live && restart->has("launch"))
      restart->at("launch").fail("live rescaling launches nothing: see rendezvous");
    if (!live && restart->has("rendezvous"))
      restart->at("rendezvous").fail("a field of policy: live-rescale (a restart's is in launch)");
  }
  return o;
}

FailureClock::FailureClock(const ElasticOptions& options) : mtbf_(options.host_mtbf), seed_(options.seed) {
  if (mtbf_ > 0) {
    node_next_.resize(static_cast<std::size_t>(options.nodes()));
    node_draws_.assign(static_cast<std::size_t>(options.nodes()), 1);
    for (int h = 0; h < options.nodes(); ++h) node_next_[static_cast<std::size_t>(h)] = draw(h, 0);
  }
  for (const MembershipEvent& m : options.events) {
    if (m.kind == MembershipEvent::Kind::fail && m.at > 0) scripted_.emplace_back(m.at, m.nodes);
  }
  std::stable_sort(scripted_.begin(), scripted_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

// Exponential of mean M by inversion, −M·ln U, with U from splitmix64 of (seed, node, draw).
double FailureClock::draw(int node, std::uint64_t k) const {
  const std::uint64_t key =
      core::splitmix64(seed_ ^ core::splitmix64((static_cast<std::uint64_t>(node) << 32) ^ k));
  return -mtbf_ * std::log(core::open_unit_interval(key));
}

FailureClock::Failure FailureClock::next_after(double t, const std::vector<bool>& alive) {
  const auto up = [&](int node) { return alive.empty() || alive[static_cast<std::size_t>(node)]; };
  Failure next;
  for (std::size_t h = 0; h < node_next_.size(); ++h) {
    // A node's failures go on whether it is in the job or not: the draws stay the same whatever the
    // membership did.
    while (node_next_[h] <= t) node_next_[h] += draw(static_cast<int>(h), node_draws_[h]++);
    if (!up(static_cast<int>(h))) continue;
    if (node_next_[h] < next.at) next = {node_next_[h], {static_cast<int>(h)}};
  }
  for (const auto& [at, nodes] : scripted_) {
    if (at <= t || at >= next.at) continue;
    std::vector<int> hit;
    for (int n : nodes) {
      if (up(n)) hit.push_back(n);
    }
    if (!hit.empty()) next = {at, hit};
  }
  return next;
}

double young_daly_interval(double checkpoint_seconds, double mtbf) {
  return std::sqrt(2 * checkpoint_seconds * mtbf);
}

std::int64_t checkpoint_every(const ElasticOptions& o, double iteration_seconds) {
  const auto over = [&](double tau) {
    return std::max<std::int64_t>(1, std::llround(tau / std::max(iteration_seconds, 1e-12)));
  };
  switch (o.interval) {
    case ElasticOptions::Interval::none:
      return 0;
    case ElasticOptions::Interval::iterations:
      return o.interval_iterations;
    case ElasticOptions::Interval::seconds:
      return over(o.interval_seconds);
    case ElasticOptions::Interval::young_daly:
      return over(young_daly_interval(o.write_seconds(), o.job_mtbf()));
  }
  return 0;
}

// Cycle by cycle: a cycle is K steps and a write (the last: the remaining steps, no write), s long.
// Its first attempt starts from the state in memory; after a failure the job is down D, then each
// retry loads the checkpoint first (L; nothing to load before the first checkpoint) and lasts
// b = L + s. With failures at rate λ, an attempt of length a fails first at X ~ Exp(λ), and takes
// E[min(X, a)] = (1 − e^{−λa})/λ. The time from a retry's start to the cycle's end is
// G(b) = E[min(X, b)] + (1 − e^{−λb})·(D + G(b)), so G(b) = (e^{λb} − 1)·(1/λ + D); the cycle's
// expected time is F = E[min(X, s)] + (1 − e^{−λs})·(D + G(b)) = (1 − e^{−λs})·(1/λ + D)·e^{λb}.
// (It tends to s as λ → 0.) Failures while the job is down are absorbed, as the timeline has them.
double expected_makespan(const ElasticOptions& o, std::int64_t iterations, double p, std::int64_t every) {
  const double m = o.job_mtbf();
  const std::int64_t k = every > 0 ? every : iterations;
  const std::int64_t cycles = (iterations + k - 1) / k;
  if (m <= 0)
    return static_cast<double>(iterations) * p + static_cast<double>(cycles - 1) * o.write_seconds();
  const double lambda = 1 / m, down = o.detect + o.launch;
  double total = 0;
  for (std::int64_t c = 0; c < cycles; ++c) {
    const bool last = c == cycles - 1;
    const std::int64_t steps = last ? iterations - c * k : k;
    const double s = static_cast<double>(steps) * p + (last ? 0 : o.write_seconds());
    const double b = (c == 0 ? 0 : o.load_seconds()) + s;
    total += -std::expm1(-lambda * s) * (m + down) * std::exp(lambda * b);
  }
  return total;
}

ElasticOutcome drive_timeline(const ElasticOptions& o, std::int64_t iterations, int warm_up,
                              FailureClock& failures, TimelineExecutor& x) {
  ElasticOutcome out;
  std::vector<std::int64_t> scripted_steps;  // failures at the end of a step, each taken once
  for (const MembershipEvent& m : o.events) {
    if (m.kind == MembershipEvent::Kind::fail && m.iteration > 0) scripted_steps.push_back(m.iteration);
  }
  std::vector<int> everyone;
  for (const std::vector<int>& ranks : o.node_ranks)
    everyone.insert(everyone.end(), ranks.begin(), ranks.end());
  std::sort(everyone.begin(), everyone.end());
  std::sort(scripted_steps.begin(), scripted_steps.end(), std::greater<>());  // next at the back
  const double write = o.write_seconds(), load = o.load_seconds();
  double t = 0;           // the reference clock
  std::int64_t step = 0;  // steps done, and kept unless a failure comes
  std::int64_t committed = 0;
  double committed_at = 0;  // when the last checkpoint was written
  bool known_every = false;
  for (int epoch = 0;; ++epoch) {
    if (epoch > 1'000'000) {
      throw core::ValueError(fmt::format(
          "an elastic run met a million failures before it finished: a failure every {} on average, a "
          "checkpoint every {} steps",
          core::format_duration(o.job_mtbf()), out.checkpoint_every));
    }
    const double restarted = t;
    double fail_at = failures.next_after(restarted).at;
    if (epoch > 0 && committed > 0) {
      x.pause(core::kCheckpointLoadPhase, load);
      t += load;
      out.load_seconds += load;
    }
    const double work_start = t;
    std::int64_t first = std::min<std::int64_t>(warm_up, iterations - step);
    // A scripted failure inside the warm-up: the warm-up stops at it. (A checkpoint due inside a
    // warm-up is not written: the next one is.)
    if (!scripted_steps.empty() && scripted_steps.back() >= step)
      first = std::min(first, scripted_steps.back() - step);
    const auto [after, p] = x.warm_up(epoch, everyone, step, first);
    t = after;
    step += first;
    out.iterations_run += first;
    if (!known_every) {
      out.checkpoint_every = checkpoint_every(o, p);
      known_every = true;
    }
    const std::int64_t k = out.checkpoint_every;
    bool failed = t > fail_at;  // during the warm-up: taken at its end (ranks cannot go back in time)
    while (!failed && step < iterations) {
      std::int64_t next = k > 0 ? std::min(iterations, (step / k + 1) * k) : iterations;
      // A scripted failure at the end of step `next`, before its checkpoint (taken off the list once
      // it happens: a drawn failure that comes first leaves it for later).
      const bool scripted_now = !scripted_steps.empty() && scripted_steps.back() <= next;
      if (scripted_now) next = std::max(step, scripted_steps.back());
      const double stretch = static_cast<double>(next - step) * p;
      if (t + stretch > fail_at) {
        const auto whole = static_cast<std::int64_t>(std::floor((fail_at - t) / p));
        if (fail_at > t) x.iterations(step, whole, fail_at - t);
        out.iterations_run += whole;
        step += whole;
        t = fail_at;
        failed = true;
        break;
      }
      if (next > step) x.iterations(step, next - step, stretch);
      out.iterations_run += next - step;
      step = next;
      t += stretch;
      if (scripted_now) {
        scripted_steps.pop_back();
        fail_at = t;
        failed = true;
        break;
      }
      if (k > 0 && step < iterations && step % k == 0) {
        if (t + write > fail_at) {  // the write is cut short: the checkpoint is not kept
          x.pause(core::kCheckpointPhase, fail_at - t);
          out.checkpoint_seconds += fail_at - t;
          t = fail_at;
          failed = true;
          break;
        }
        x.pause(core::kCheckpointPhase, write);
        out.checkpoint_seconds += write;
        ++out.checkpoints;
        t += write;
        committed = step;
        committed_at = t;
      }
    }
    if (!failed) break;
    // The work since the last checkpoint (or since this epoch's start) is lost.
    const double lost = fail_at - std::max(committed_at, work_start);
    ++out.failures;
    out.lost_seconds += std::max(0.0, lost);
    x.failure(fail_at, std::max(0.0, lost), step - committed);
    const double noticed = std::max(t, fail_at + o.detect);
    x.pause(core::kFailureDetectionPhase, noticed - t);
    out.detect_seconds += noticed - t;
    x.pause(core::kRestartPhase, o.launch);
    out.restart_seconds += o.launch;
    t = noticed + o.launch;
    step = committed;
  }
  out.makespan = t;
  out.rank_steps_kept = iterations * static_cast<std::int64_t>(everyone.size());
  out.epochs = out.failures + 1;
  return out;
}

// Per node, failures come at 1/M while the job trains (a failure during a stall is absorbed by it);
// a failed node is out for R (repair) + c·p/2 (to the next commit) + Z (the rendezvous that takes it
// back). With φ the share of wall time spent training, a node is in the job a fraction
// a = 1 / (1 + φ·(R + c·p/2 + Z)/M). Each failure loses c·p/2 of work on average and stalls the job
// for D + Z, its node's return for Z more. With U the training time (work W = I·p plus the lost
// work) and F = N·a·U/M failures: U = W / (1 − N·a·(c·p/2)/M), T = U + F·(D + 2Z), φ = U/T —
// solved by fixed-point iteration. Of the training time, a failed node misses its repair less the
// stall it caused, at the training share φ, and the wait for a commit: the share of the ranks in
// the job is 1 / (1 + (φ·max(0, R − D − Z) + c·p/2)/M).
LiveExpectation expected_live_rescale(const ElasticOptions& o, std::int64_t iterations, double p) {
  const double work = static_cast<double>(iterations) * p;
  if (o.host_mtbf <= 0 || o.repair <= 0) return {work, 1};
  const double m = o.host_mtbf, n = static_cast<double>(o.nodes());
  const double half_commit = static_cast<double>(o.commit_every) * p / 2;
  double phi = 1, t = work;
  for (int k = 0; k < 200; ++k) {
    const double a = 1 / (1 + phi * (o.repair + half_commit + o.rendezvous) / m);
    const double rate = n * a / m;  // failures per second of training
    if (rate * half_commit >= 1) return {std::numeric_limits<double>::infinity(), a};
    const double u = work / (1 - rate * half_commit);
    t = u * (1 + rate * (o.detect + 2 * o.rendezvous));
    phi = u / t;
  }
  return {t, 1 / (1 + (phi * std::max(0.0, o.repair - o.detect - o.rendezvous) + half_commit) / m)};
}

ElasticOutcome drive(const ElasticOptions& options, std::int64_t iterations, int warm_up,
                     FailureClock& failures, TimelineExecutor& executor) {
  return options.policy == ElasticOptions::Policy::live_rescale
             ? drive_live_rescale(options, iterations, warm_up, failures, executor)
             : drive_timeline(options, iterations, warm_up, failures, executor);
}

namespace {

class ReplayExecutor final : public TimelineExecutor {
 public:
  explicit ReplayExecutor(std::function<double(std::size_t)> p) : p_(std::move(p)) {}
  std::pair<double, double> warm_up(int, const std::vector<int>& members, std::int64_t,
                                    std::int64_t n) override {
    const double p = p_(members.size());
    clock_ += static_cast<double>(n) * p;
    return {clock_, p};
  }
  void iterations(std::int64_t, std::int64_t, double seconds) override { clock_ += seconds; }
  void pause(std::string_view, double seconds) override { clock_ += seconds; }
  void failure(double, double, std::int64_t) override {}

 private:
  std::function<double(std::size_t)> p_;
  double clock_ = 0;
};

}  // namespace

ElasticOutcome replay_timeline(const ElasticOptions& options, std::int64_t iterations,
                               const std::function<double(std::size_t members)>& iteration_seconds) {
  FailureClock failures(options);
  ReplayExecutor executor(iteration_seconds);
  return drive(options, iterations, 0, failures, executor);
}

ElasticOutcome replay_timeline(const ElasticOptions& options, std::int64_t iterations,
                               double iteration_seconds) {
  return replay_timeline(options, iterations, [=](std::size_t) { return iteration_seconds; });
}

}  // namespace dmlsim::strategies
