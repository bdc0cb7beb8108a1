#include "strategies/training/ps_cost.hpp"

#include <algorithm>
#include <limits>

namespace dmlsim::strategies {

double allreduce_time(int n, double bytes, double bandwidth) {
  return 2.0 * (n - 1) * bytes / (n * bandwidth);
}

double ps_time(int n, int k, double bytes, double bandwidth) {
  return std::max(bytes / bandwidth, n * bytes / (k * bandwidth));
}

double byteps_time(int n, int k, double bytes, double bandwidth) {
  const double nd = n, kd = k;
  return 2 * nd * (nd - 1) * bytes / ((nd * nd + kd * nd - 2 * kd) * bandwidth);
}

ExchangePaths exchange_paths(const PsRoles& roles,
                             const std::function<core::PathParams(int member_a, int member_b)>& path) {
  ExchangePaths out;
  out.nic.assign(static_cast<std::size_t>(roles.group_size()), 0);
  out.slowest_to.assign(static_cast<std::size_t>(roles.servers), std::numeric_limits<double>::infinity());
  for (int s = 0; s < roles.servers; ++s) {
    const int server = roles.server_member(s);
    for (int w = 0; w < roles.workers; ++w) {
      if (w == server) continue;
      // Pushes go worker → server, pulls server → worker: both directions matter.
      for (const core::PathParams& p : {path(w, server), path(server, w)}) {
        out.alpha = std::max(out.alpha, p.latency);
        out.nic[static_cast<std::size_t>(w)] = std::max(out.nic[static_cast<std::size_t>(w)], p.bandwidth);
        out.nic[static_cast<std::size_t>(server)] =
            std::max(out.nic[static_cast<std::size_t>(server)], p.bandwidth);
        out.slowest_to[static_cast<std::size_t>(s)] =
            std::min(out.slowest_to[static_cast<std::size_t>(s)], p.bandwidth);
      }
    }
  }
  return out;
}

CostTerms exchange_cost(const PsLayout& layout, std::size_t bucket, const PsRoles& roles,
                        std::uint32_t element_bytes, const ExchangePaths& paths) {
  CostTerms total;
  const int k = roles.servers;
  const auto n = static_cast<double>(roles.workers);
  std::vector<double> p(static_cast<std::size_t>(k)), q(static_cast<std::size_t>(k));
  const PsBucket& b = layout.buckets()[bucket];
  for (std::size_t t = 0; t < layout.exchange_rounds(bucket); ++t) {
    const auto pulled = layout.pulled_round(bucket, t);
    double sum_p = 0, sum_q = 0;
    for (int s = 0; s < k; ++s) {
      const auto us = static_cast<std::size_t>(s);
      p[us] = t < b.rounds ? static_cast<double>(layout.piece(bucket, t, s).count * element_bytes) : 0;
      q[us] = pulled
                  ? static_cast<double>(layout.piece(pulled->first, pulled->second, s).count * element_bytes)
                  : 0;
      sum_p += p[us];
      sum_q += q[us];
    }
    double busiest = 0;  // seconds the round's bottleneck needs
    for (int s = 0; s < k; ++s) {
      const auto us = static_cast<std::size_t>(s);
      busiest = std::max(busiest, std::max(p[us], q[us]) / paths.slowest_to[us]);
    }
    for (int m = 0; m < roles.group_size(); ++m) {
      const int s = roles.server_of(m);
      double out = 0, in = 0;
      if (roles.is_worker(m)) {
        out += sum_p - (s >= 0 ? p[static_cast<std::size_t>(s)] : 0);
        in += sum_q - (s >= 0 ? q[static_cast<std::size_t>(s)] : 0);
      }
      if (s >= 0) {
        const double peers = roles.is_worker(m) ? n - 1 : n;
        out += peers * q[static_cast<std::size_t>(s)];
        in += peers * p[static_cast<std::size_t>(s)];
      }
      if (out > 0 || in > 0)
        busiest = std::max(busiest, std::max(out, in) / paths.nic[static_cast<std::size_t>(m)]);
    }
    if (busiest > 0) total += CostTerms{paths.alpha, busiest};
  }
  return total;
}

}  // namespace dmlsim::strategies
