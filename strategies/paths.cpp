#include "strategies/paths.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <vector>

#include "strategies/collectives/binary_tree.hpp"
#include "strategies/collectives/rail_rings.hpp"

namespace dmlsim::strategies {
namespace {

// (member, member): one message of a round.
using Pair = std::pair<int, int>;

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

// The messages of one round, all sent at once: adds each one's path to `worst`, every port shared
// by the round's messages through it. A message between nodes leaves by its sender's NIC and
// enters by its receiver's (on a star or fat-tree a host's link is its NIC; on GPU nodes the GPUs
// behind one NIC share it); one inside a node uses the GPUs' ports into the node switch.
void add_round(Worst& worst, const core::Platform& platform, const std::vector<int>& hosts,
               const std::vector<Pair>& round) {
  // Messages per port, counted in arrays indexed by the port (host ids and NIC ids are both below the
  // host count; a SimGrid file's hosts have no NIC, −1): a 16 k-member round in maps cost 0.2 s.
  const std::size_t ports = static_cast<std::size_t>(platform.host_count()) + 1;
  std::array<std::vector<int>, 2> out{std::vector<int>(ports), std::vector<int>(ports)};  // [between nodes]
  std::array<std::vector<int>, 2> in = out;
  const auto port = [&](int host, bool between_nodes) {
    return static_cast<std::size_t>((between_nodes ? platform.nic_of(host) : host) + 1);
  };
  struct Path {
    int a, b;
    bool between;
  };
  std::vector<Path> paths;
  paths.reserve(round.size());
  for (const auto& [i, j] : round) {
    const int a = hosts[static_cast<std::size_t>(i)], b = hosts[static_cast<std::size_t>(j)];
    if (a == b) continue;
    const bool between = platform.node_of(a) != platform.node_of(b);
    ++out[between][port(a, between)];
    ++in[between][port(b, between)];
    paths.push_back({a, b, between});
  }
  for (const Path& p : paths) {
    worst.add(
        *platform.path(p.a, p.b, out[p.between][port(p.a, p.between)], in[p.between][port(p.b, p.between)]));
  }
}

std::vector<Pair> shifted(int n, int d, int stride = 1, int groups = 1) {
  // Member i of each of `groups` interleaved groups of n (member k·stride + g) to member i + d.
  std::vector<Pair> round;
  for (int g = 0; g < groups; ++g) {
    for (int i = 0; i < n; ++i) round.emplace_back(i * stride + g, (i + d) % n * stride + g);
  }
  return round;
}

// Member i to member i XOR d (halving-doubling's partners at distance d), in each of `groups`
// interleaved groups; members whose partner is beyond n (a non-power-of-two group) are left out.
std::vector<Pair> butterfly_round(int n, int d, int stride = 1, int groups = 1) {
  std::vector<Pair> round;
  for (int g = 0; g < groups; ++g) {
    for (int i = 0; i < n; ++i) {
      if ((i ^ d) < n) round.emplace_back(i * stride + g, (i ^ d) * stride + g);
    }
  }
  return round;
}

// Child to parent of the binary tree over n members (roles shifted by `rotation`), in each of
// `groups` interleaved groups; `up` false: parent to child.
void add_tree_edges(std::vector<Pair>& round, int n, int rotation, bool up, int stride = 1, int groups = 1) {
  const BinaryTree tree{n};
  for (int g = 0; g < groups; ++g) {
    const auto member = [&](int role) { return (role + rotation) % n * stride + g; };
    for (int role = 1; role < n; ++role) {
      const Pair edge{member(role), member(tree.parent(role))};
      round.push_back(up ? edge : Pair{edge.second, edge.first});
    }
  }
}

// The classes of rounds over groups of n members, `groups` of them interleaved with `stride`
// (the rails of hierarchical: member k of rail g is k·stride + g), all groups at once.
GroupPaths group_paths(const core::Platform& platform, const std::vector<int>& hosts, int n, int stride,
                       int groups) {
  Worst ring, butterfly, tree, double_tree;
  std::vector<AlphaBeta> by_distance;
  add_round(ring, platform, hosts, shifted(n, 1, stride, groups));
  for (int d = 1; d < n; d *= 2) {
    const std::vector<Pair> round = butterfly_round(n, d, stride, groups);
    Worst one;
    add_round(one, platform, hosts, round);
    add_round(butterfly, platform, hosts, round);
    by_distance.push_back(one.value());
  }
  for (const bool up : {true, false}) {
    std::vector<Pair> one, two;
    add_tree_edges(one, n, 0, up, stride, groups);
    two = one;
    add_tree_edges(two, n, 1, up, stride, groups);
    add_round(tree, platform, hosts, one);
    add_round(double_tree, platform, hosts, two);
  }
  // A tree round moves f chunks through its busiest port: the port's bandwidth is f × one flow's share.
  const double fan_in = BinaryTree{n}.max_fan_in();
  AlphaBeta t = tree.value(), dt = double_tree.value();
  if (tree.any) t.bandwidth *= fan_in;
  if (double_tree.any) dt.bandwidth *= fan_in;
  return GroupPaths{ring.value(), butterfly.value(), std::move(by_distance), t, dt};
}

}  // namespace

std::optional<AlphaBeta> concurrent_path(const core::Experiment& e,
                                         const std::vector<std::pair<int, int>>& rank_pairs) {
  // Members are indices into `hosts`: two per pair.
  std::vector<int> hosts;
  std::vector<Pair> round;
  for (const auto& [from, to] : rank_pairs) {
    const int a = e.placement[static_cast<std::size_t>(from)], b = e.placement[static_cast<std::size_t>(to)];
    if (a != b && !e.platform.path(a, b)) return std::nullopt;
    round.emplace_back(static_cast<int>(hosts.size()), static_cast<int>(hosts.size()) + 1);
    hosts.push_back(a);
    hosts.push_back(b);
  }
  Worst worst;
  add_round(worst, e.platform, hosts, round);
  return worst.value();
}

std::optional<PathClasses> path_classes(const core::Experiment& e, const core::Group& group, int local_size) {
  const int n = group.size();
  std::vector<int> hosts;
  for (int member = 0; member < n; ++member)
    hosts.push_back(e.placement[static_cast<std::size_t>(group.at(member))]);
  if (n > 1 && !e.platform.path(hosts[0], hosts[1])) return std::nullopt;
  const int g = std::max(local_size, 1);
  const int nodes = n / g;
  Worst intra;
  for (int d = 1; d < g; d *= 2) {
    std::vector<Pair> round;
    for (int i = 0; i < n; ++i) {
      // A group smaller than a node (or not a whole number of nodes) has no member there.
      const int j = i / g * g + (i % g + d) % g;
      if (j < n) round.emplace_back(i, j);
    }
    add_round(intra, e.platform, hosts, round);
  }
  Worst rail_rings;
  if (n % g == 0) {
    std::vector<Pair> round;
    for (int c = 0; c < g; ++c) {
      for (int i = 0; i < n; ++i) {
        const int next = rail_ring_member((rail_ring_position(i, g, c) + 1) % n, g, c);
        round.emplace_back(i, next);
      }
    }
    add_round(rail_rings, e.platform, hosts, round);
  }
  AlphaBeta channels = rail_rings.value();
  if (rail_rings.any) channels.bandwidth *= g;
  return PathClasses{group_paths(e.platform, hosts, n, 1, 1), intra.value(),
                     group_paths(e.platform, hosts, nodes, g, g), e.platform.collective_launch, channels};
}

}  // namespace dmlsim::strategies
