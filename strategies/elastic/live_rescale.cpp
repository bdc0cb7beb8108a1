// Live rescaling's timeline (elastic_plan.hpp): the members are the ranks of the nodes that are up;
// the state is committed in memory every c steps (Horovod Elastic's state.commit(), whose in-memory
// copy is taken as free). A failure loses the work since the last commit: the survivors notice it
// after `detect`, agree on the new membership (`rendezvous`) and go on from the committed step. A
// leave or join takes effect at the first commit boundary at or after it is due, losing nothing;
// the first member then broadcasts the state (Horovod's state.sync()). A failed node joins again
// after `repair`.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "strategies/elastic/elastic_plan.hpp"

namespace dmlsim::strategies {
ElasticOutcome drive_live_rescale(const ElasticOptions& o, std::int64_t iterations, int warm_up,
                                  FailureClock& failures, TimelineExecutor& x) {
  ElasticOutcome out;
  out.epochs = 0;
  const std::int64_t c = o.commit_every;
  const auto boundary_at_or_after = [&](std::int64_t s) { return (s + c - 1) / c * c; };
  std::vector<bool> in(o.node_ranks.size(), true);
  for (int s : o.spares) in[static_cast<std::size_t>(s)] = false;
  std::vector<MembershipEvent>
      pending;  // scripted changes (timed failures are the FailureClock's) and repairs
  for (const MembershipEvent& m : o.events) {
    if (m.kind != MembershipEvent::Kind::fail || m.iteration > 0) pending.push_back(m);
  }
  const auto members_now = [&] {
    std::vector<int> ranks;
    for (std::size_t n = 0; n < in.size(); ++n) {
      if (in[n]) ranks.insert(ranks.end(), o.node_ranks[n].begin(), o.node_ranks[n].end());
    }
    std::sort(ranks.begin(), ranks.end());
    return ranks;
  };
  std::vector<int> joining;  // ranks that join at the next epoch's start
  // A join waits while it would take the job above max_ranks (a member's leave or failure makes room).
  const auto has_room = [&](const MembershipEvent& ch) {
    if (ch.kind != MembershipEvent::Kind::join || o.max_ranks <= 0) return true;
    std::size_t ranks = members_now().size();
    for (int n : ch.nodes) {
      if (!in[static_cast<std::size_t>(n)]) ranks += o.node_ranks[static_cast<std::size_t>(n)].size();
    }
    return static_cast<int>(ranks) <= o.max_ranks;
  };
  // Applies the changes `due` says are due, leaves before joins (a leave makes room for a join due
  // with it); returns whether the membership changed.
  const auto apply = [&](const auto& due) {
    bool changed = false;
    for (const bool joins : {false, true}) {
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->kind == MembershipEvent::Kind::fail || (it->kind == MembershipEvent::Kind::join) != joins ||
            !due(*it) || !has_room(*it)) {
          ++it;
          continue;
        }
        const bool join = it->kind == MembershipEvent::Kind::join;
        for (int n : it->nodes) {
          if (in[static_cast<std::size_t>(n)] == join) continue;  // already so (a failure came first)
          in[static_cast<std::size_t>(n)] = join;
          changed = true;
          if (join) {
            for (int r : o.node_ranks[static_cast<std::size_t>(n)]) joining.push_back(r);
          } else {
            for (int r : o.node_ranks[static_cast<std::size_t>(n)]) std::erase(joining, r);
          }
        }
        it = pending.erase(it);
      }
    }
    return changed;
  };

  double t = 0;
  std::int64_t step = 0, committed = 0, rank_steps = 0, rank_steps_committed = 0;
  double committed_at = 0;
  for (int epoch = 0;; ++epoch) {
    if (epoch > 1'000'000)
      throw core::ValueError("a live-rescaled run changed its membership a million times");
    // Below min_ranks the job waits for the next node that joins by the clock.
    for (std::vector<int> members = members_now(); static_cast<int>(members.size()) < o.min_ranks;
         members = members_now()) {
      double next_join = std::numeric_limits<double>::infinity();
      for (const MembershipEvent& ch : pending) {
        if (ch.kind == MembershipEvent::Kind::join && ch.at > 0 && has_room(ch))
          next_join = std::min(next_join, ch.at);
      }
      if (!std::isfinite(next_join)) {
        throw core::ValueError(
            fmt::format("the live-rescaled job is down to {} ranks, fewer than min_ranks {}, and no node "
                        "comes back by the "
                        "clock (failures.repair, or a join at a time)",
                        members.size(), o.min_ranks));
      }
      if (next_join > t) {
        x.pause(core::kWaitingForNodesPhase, next_join - t);
        out.waiting_seconds += next_join - t;
        t = next_join;
      }
      apply([&](const MembershipEvent& ch) { return ch.at > 0 && ch.at <= t; });
    }
    const std::vector<int> members = members_now();
    ++out.epochs;
    if (epoch > 0) {
      x.pause(core::kRendezvousPhase, o.rendezvous);
      out.rendezvous_seconds += o.rendezvous;
      t += o.rendezvous;
    }
    std::sort(joining.begin(), joining.end());
    if (!joining.empty()) x.transfer_state(epoch, members, joining);
    joining.clear();
    const auto size = static_cast<std::int64_t>(members.size());
    const FailureClock::Failure fail = failures.next_after(t, in);
    const double work_start = t;
    // The warm-up stops at a scripted change by step, but runs at least one step: the epoch's
    // iteration time is measured on its own members.
    std::int64_t first = std::min<std::int64_t>(warm_up, iterations - step);
    for (const MembershipEvent& ch : pending) {
      if (ch.iteration >= step) first = std::min(first, ch.iteration - step);
    }
    first = std::max<std::int64_t>(first, std::min<std::int64_t>(1, iterations - step));
    // The warm-up's end and the period after it (not a structured binding: the lambdas below capture
    // the period, which clang 14 does not allow of a binding).
    const std::pair<double, double> warm = x.warm_up(epoch, members, step, first);
    const double p = warm.second;
    t = warm.first;
    step += first;
    out.iterations_run += first;
    rank_steps += first * size;
    // Commits inside the warm-up, at their boundaries' times (not the commit of a step at whose end
    // a scripted failure comes).
    std::int64_t warm_end = step;
    for (const MembershipEvent& ch : pending) {
      if (ch.kind == MembershipEvent::Kind::fail && ch.iteration == step) warm_end = step - 1;
    }
    // Nor the commits after a failure that came during the warm-up.
    if (t > fail.at) {
      warm_end = std::min(warm_end, step - static_cast<std::int64_t>(std::ceil((t - fail.at) / p)));
    }
    if (warm_end / c * c > committed) {
      const std::int64_t boundary = warm_end / c * c;
      rank_steps_committed = rank_steps - (step - boundary) * size;
      committed_at = t - static_cast<double>(step - boundary) * p;
      committed = boundary;
    }
    double failed_at = t > fail.at ? fail.at : -1;  // during the warm-up: taken at its end
    std::vector<int> failed_nodes = failed_at >= 0 ? fail.nodes : std::vector<int>{};
    bool changed = false;
    while (failed_at < 0 && step < iterations && !changed) {
      // The step at whose end a change falls due, seen from the stretch's start: a failure by step at
      // the end of its step; a leave or join at the first commit boundary at or after it is due.
      const std::int64_t from = step;
      const double from_t = t;
      const auto due_at = [&](const MembershipEvent& ch) {
        if (ch.iteration > 0) {
          return ch.kind == MembershipEvent::Kind::fail ? std::max(ch.iteration, from)
                                                        : boundary_at_or_after(std::max(ch.iteration, from));
        }
        return boundary_at_or_after(from +
                                    static_cast<std::int64_t>(std::ceil(std::max(0.0, ch.at - from_t) / p)));
      };
      // The stretch ends at the end of training or where the first change falls due (a failure first).
      std::int64_t next = iterations;
      const MembershipEvent* scripted_failure = nullptr;
      for (const MembershipEvent& ch : pending) {
        if (!has_room(ch)) continue;  // a join that waits for room is not due
        const std::int64_t at = due_at(ch);
        const bool fails = ch.kind == MembershipEvent::Kind::fail;
        if (at < next || (at == next && fails && !scripted_failure)) {
          next = at;
          scripted_failure = fails ? &ch : nullptr;
        }
      }
      const double stretch = static_cast<double>(next - step) * p;
      // The commits of the stretch up to `end` steps (the last one's time and rank-steps).
      const auto commit_up_to = [&](std::int64_t end) {
        const std::int64_t boundary = end / c * c;
        if (boundary <= committed) return;
        committed_at = from_t + static_cast<double>(boundary - from) * p;
        rank_steps_committed = rank_steps + (boundary - from) * size;
        committed = boundary;
      };
      if (t + stretch > fail.at) {  // a drawn or timed failure inside the stretch
        const auto whole = static_cast<std::int64_t>(std::floor((fail.at - t) / p));
        if (fail.at > t) x.iterations(step, whole, fail.at - t);
        commit_up_to(step + whole);
        out.iterations_run += whole;
        rank_steps += whole * size;
        step += whole;
        t = fail.at;
        failed_at = fail.at;
        failed_nodes = fail.nodes;
        break;
      }
      if (next > step) x.iterations(step, next - step, stretch);
      // A failure by step comes at the end of its step, before that step's commit.
      commit_up_to(scripted_failure ? next - 1 : next);
      out.iterations_run += next - step;
      rank_steps += (next - step) * size;
      step = next;
      t += stretch;
      if (scripted_failure) {
        failed_nodes.clear();
        for (int n : scripted_failure->nodes) {
          if (in[static_cast<std::size_t>(n)]) failed_nodes.push_back(n);
        }
        pending.erase(pending.begin() + (scripted_failure - pending.data()));
        if (failed_nodes.empty()) {  // its nodes had already gone: nothing happens
          commit_up_to(step);
          continue;
        }
        failed_at = t;
        break;
      }
      if (step >= iterations) break;
      changed = apply([&](const MembershipEvent& ch) { return due_at(ch) <= step; });
    }
    if (failed_at < 0 && !changed) break;  // done
    if (failed_at < 0) continue;           // a planned change: the next epoch, nothing lost
    // The work lost is the ranks' since the commit: up to the failure, or to the end of the warm-up
    // when it came during one (the ranks learn of it there).
    const double lost = std::max(0.0, t - std::max(committed_at, work_start));
    ++out.failures;
    out.lost_seconds += lost;
    x.failure(failed_at, lost, step - committed);
    for (int n : failed_nodes) {
      in[static_cast<std::size_t>(n)] = false;
      const bool traced = std::find(o.traced_nodes.begin(), o.traced_nodes.end(), n) != o.traced_nodes.end();
      if (o.repair > 0 && !traced)
        pending.push_back({MembershipEvent::Kind::join, failed_at + o.repair, -1, {n}});
    }
    const double noticed = std::max(t, failed_at + o.detect);
    x.pause(core::kFailureDetectionPhase, noticed - t);
    out.detect_seconds += noticed - t;
    t = noticed;
    step = committed;
    rank_steps = rank_steps_committed;
  }
  out.makespan = t;
  out.rank_steps_kept = rank_steps;
  return out;
}

}  // namespace dmlsim::strategies
