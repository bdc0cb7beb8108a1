#include "strategies/paths.hpp"

#include <algorithm>
#include <limits>

namespace dmlsim::strategies {
namespace {

struct Worst {
  AlphaBeta ab{0, std::numeric_limits<double>::infinity()};
  bool any = false;
  void add(const core::PathParams& p) {
    ab.alpha = std::max(ab.alpha, p.latency);
    ab.bandwidth = std::min(ab.bandwidth, p.bandwidth);
    any = true;
  }
  AlphaBeta value() const { return any ? ab : AlphaBeta{0, 1}; }
};

}  // namespace

std::optional<PathClasses> path_classes(const core::Experiment& e, const core::Group& group, int local_size) {
  const int n = group.size();
  auto host = [&](int member) { return e.placement[static_cast<std::size_t>(group.at(member))]; };
  if (n > 1 && !e.platform.path(host(0), host(1))) return std::nullopt;
  Worst flat, intra, inter;
  auto path = [&](int i, int j) { return *e.platform.path(host(i), host(j)); };
  const int g = std::max(local_size, 1);
  const int nodes = n / g;
  for (int i = 0; i < n; ++i) {
    for (int d = 1; d < n; d *= 2) flat.add(path(i, (i + d) % n));
    const int node = i / g, local = i % g;
    for (int d = 1; d < g; d *= 2) intra.add(path(i, node * g + (local + d) % g));
    for (int d = 1; d < nodes; d *= 2) inter.add(path(i, ((node + d) % nodes) * g + local));
  }
  return PathClasses{flat.value(), intra.value(), inter.value()};
}

}  // namespace dmlsim::strategies
