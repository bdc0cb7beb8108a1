// Schedules as data: every algorithm is round-aligned (each message sent and received in the same
// round, with equal sizes) and really sums, checked by running all members' rounds in memory.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <numeric>

#include "core/errors.hpp"
#include "strategies/collectives/algorithm.hpp"
#include "strategies/collectives/binary_tree.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/collectives/cost.hpp"
#include "strategies/collectives/hierarchical.hpp"

namespace dmlsim {
namespace {

using core::Op;
using core::OpKind;
using strategies::Collective;

std::vector<core::SchedulePtr> all_members(Collective c, const std::string& algorithm, int n,
                                           std::uint64_t count,
                                           const strategies::CollectiveOptions& options = {}) {
  std::vector<core::SchedulePtr> members;
  for (int i = 0; i < n; ++i)
    members.push_back(strategies::make_schedule(c, algorithm, n, i, count, 4, options));
  return members;
}

// Runs every member's schedule round by round over real float buffers, delivering messages in
// FIFO order per (sender, receiver), as both backends do.
std::vector<std::vector<float>> run_in_memory(const std::vector<core::SchedulePtr>& members,
                                              std::vector<std::vector<float>> data) {
  const int n = static_cast<int>(members.size());
  for (std::size_t t = 0; t < members[0]->rounds(); ++t) {
    std::map<std::pair<int, int>, std::vector<std::vector<float>>> in_flight;
    std::vector<std::vector<Op>> ops(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      members[i]->round(t, ops[static_cast<std::size_t>(i)]);
      for (const Op& op : ops[static_cast<std::size_t>(i)]) {
        if (op.kind != OpKind::send || op.range.count == 0) continue;
        const auto& src = data[static_cast<std::size_t>(i)];
        in_flight[{i, op.peer}].emplace_back(
            src.begin() + static_cast<std::ptrdiff_t>(op.range.offset),
            src.begin() + static_cast<std::ptrdiff_t>(op.range.offset + op.range.count));
      }
    }
    for (int i = 0; i < n; ++i) {
      for (const Op& op : ops[static_cast<std::size_t>(i)]) {
        if (op.kind == OpKind::send || op.range.count == 0) continue;
        auto& queue = in_flight[{op.peer, i}];
        EXPECT_FALSE(queue.empty()) << "round " << t << ": " << i << " receives from " << op.peer
                                    << " nothing";
        if (queue.empty()) return data;
        std::vector<float> message = std::move(queue.front());
        queue.erase(queue.begin());
        EXPECT_EQ(message.size(), op.range.count);
        auto& dst = data[static_cast<std::size_t>(i)];
        for (std::uint64_t k = 0; k < op.range.count && k < message.size(); ++k) {
          float& x = dst[static_cast<std::size_t>(op.range.offset + k)];
          x = op.kind == OpKind::recv_copy ? message[k] : x + message[k];
        }
      }
    }
  }
  return data;
}

// Member i holds i·1000 + k + 1 at element k (small integers: float sums are exact).
std::vector<std::vector<float>> inputs(int n, std::uint64_t count) {
  std::vector<std::vector<float>> data(static_cast<std::size_t>(n), std::vector<float>(count));
  for (int i = 0; i < n; ++i) {
    for (std::uint64_t k = 0; k < count; ++k)
      data[static_cast<std::size_t>(i)][k] = static_cast<float>(i * 1000 + k % 997 + 1);
  }
  return data;
}

float sum_at(int n, std::uint64_t k) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<float>(i * 1000 + k % 997 + 1);
  return s;
}

struct Case {
  Collective collective;
  std::string algorithm;
  strategies::CollectiveOptions options;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  strategies::CollectiveOptions small_chunks;
  small_chunks.tree_chunk_bytes = 12;  // several pipeline chunks even for small buffers
  for (Collective c : strategies::kAllCollectives) {
    for (std::string_view a : strategies::algorithms(c)) {
      if (a == "hierarchical") {
        for (const char* inner : {"ring", "halving-doubling", "tree", "double-binary-tree"}) {
          Case k{c, std::string(a), small_chunks};
          k.options.local_size = 2;
          k.options.inner = inner;
          cases.push_back(k);
        }
        continue;
      }
      cases.push_back({c, std::string(a), {}});
      if (a == "tree" || a == "double-binary-tree") cases.push_back({c, std::string(a), small_chunks});
      if (a == "halving-doubling" && c == Collective::all_reduce) {
        Case k{c, std::string(a), {}};
        k.options.partner_order = strategies::PartnerOrder::distance_halving;
        cases.push_back(k);
      }
    }
  }
  return cases;
}

}  // namespace
}  // namespace dmlsim
namespace dmlsim::core {
void PrintTo(const PeerTraffic& p, std::ostream* os) {
  *os << "{peer " << p.peer << ": send " << p.send_elements << " in " << p.send_messages << ", recv "
      << p.recv_elements << " in " << p.recv_messages << "}";
}
}  // namespace dmlsim::core
namespace dmlsim {
namespace {

void PrintTo(const Case& k, std::ostream* os) {
  *os << strategies::to_string(k.collective) << " " << k.algorithm << " (local_size " << k.options.local_size
      << ", inner " << k.options.inner << ", tree chunk " << k.options.tree_chunk_bytes << " B"
      << (k.options.partner_order == strategies::PartnerOrder::distance_halving ? ", distance-halving" : "")
      << ")";
}

bool applies(const Case& k, int n) {
  try {
    strategies::validate_algorithm(k.collective, k.algorithm, n, k.options);
    return true;
  } catch (const core::ValueError&) {
    return false;
  }
}

class EveryAlgorithm : public ::testing::TestWithParam<Case> {};

TEST_P(EveryAlgorithm, IsRoundAlignedAndCorrect) {
  const Case& k = GetParam();
  int sizes = 0;  // group sizes the algorithm accepts: at least the powers of two
  for (int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17}) {
    if (!applies(k, n)) continue;
    ++sizes;
    for (std::uint64_t count : {1, 3, 10, 97, 256}) {
      SCOPED_TRACE(fmt::format("n={} count={}", n, count));
      const auto members = all_members(k.collective, k.algorithm, n, count, k.options);
      ASSERT_EQ(core::check_round_aligned(members), "");
      const auto out = run_in_memory(members, inputs(n, count));
      const auto in = inputs(n, count);
      for (int i = 0; i < n; ++i) {
        const auto& mine = out[static_cast<std::size_t>(i)];
        for (std::uint64_t e = 0; e < count; ++e) {
          const core::ElementRange own =
              core::chunk_range(count, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(i));
          const bool in_own_chunk = e >= own.offset && e < own.offset + own.count;
          switch (k.collective) {
            case Collective::all_reduce:
              ASSERT_EQ(mine[e], sum_at(n, e)) << "member " << i << " element " << e;
              break;
            case Collective::reduce_scatter:
              if (in_own_chunk) {
                ASSERT_EQ(mine[e], sum_at(n, e)) << "member " << i << " element " << e;
              }
              break;
            case Collective::all_gather: {
              // Member j contributed its own chunk j; everyone must end with all of them.
              int owner = 0;
              while (!(e < core::chunk_range(count, n, static_cast<std::uint64_t>(owner)).offset +
                               core::chunk_range(count, n, static_cast<std::uint64_t>(owner)).count))
                ++owner;
              ASSERT_EQ(mine[e], in[static_cast<std::size_t>(owner)][e])
                  << "member " << i << " element " << e;
              break;
            }
            case Collective::broadcast:
              ASSERT_EQ(mine[e], in[0][e]) << "member " << i << " element " << e;
              break;
            case Collective::reduce:
              if (i == 0) {
                ASSERT_EQ(mine[e], sum_at(n, e)) << "element " << e;
              }
              break;
          }
        }
      }
    }
  }
  EXPECT_GE(sizes, 4);
}

// Peer order does not matter to `flows` (one merged message per peer and direction).
std::vector<core::PeerTraffic> by_peer(std::vector<core::PeerTraffic> t) {
  std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.peer < b.peer; });
  return t;
}

TEST_P(EveryAlgorithm, TrafficMatchesTheRoundsItSums) {
  // traffic() is what `flows` sends; algorithms may give it in closed form: it must equal the walk.
  const Case& k = GetParam();
  int sizes = 0;
  for (int n : {2, 3, 4, 5, 8, 16}) {
    if (!applies(k, n)) continue;
    ++sizes;
    for (std::uint64_t count : {1, 7, 100, 4096}) {
      for (const auto& member : all_members(k.collective, k.algorithm, n, count, k.options)) {
        std::vector<core::RoundSpan> spans = member->mergeable_spans();
        spans.push_back({0, member->rounds()});
        for (const core::RoundSpan span : spans) {
          ASSERT_EQ(by_peer(member->traffic(span)), by_peer(core::walk_traffic(*member, span)))
              << "n=" << n << " count=" << count << " member " << member->index() << " span [" << span.begin
              << ", " << span.end << ")";
        }
      }
    }
  }
  EXPECT_GE(sizes, 4);
}

INSTANTIATE_TEST_SUITE_P(Collectives, EveryAlgorithm, ::testing::ValuesIn(all_cases()),
                         [](const auto& param_info) {
                           const Case& k = param_info.param;
                           std::string name =
                               fmt::format("{}_{}", strategies::to_string(k.collective), k.algorithm);
                           if (k.options.local_size > 1) name += "_" + k.options.inner;
                           if (k.options.tree_chunk_bytes < 1000) name += "_pipelined";
                           if (k.options.partner_order == strategies::PartnerOrder::distance_halving)
                             name += "_distance_halving";
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(BinaryTree, ShapeForPowersOfTwo) {
  // n = 8: top 0 → root 4 → {2, 6} → leaves {1, 3, 5, 7}.
  const strategies::BinaryTree t{8};
  EXPECT_EQ(t.parent(4), 0);
  EXPECT_EQ(t.children(0), (std::array<int, 2>{4, -1}));
  EXPECT_EQ(t.children(4), (std::array<int, 2>{2, 6}));
  EXPECT_EQ(t.children(6), (std::array<int, 2>{5, 7}));
  EXPECT_EQ(t.parent(7), 6);
  EXPECT_EQ(t.max_depth(), 3);
  for (int leaf : {1, 3, 5, 7}) EXPECT_EQ(t.depth(leaf), 3);
}

TEST(BinaryTree, EveryMemberHasOneParentAndChildrenAgree) {
  for (int n = 2; n <= 300; ++n) {
    const strategies::BinaryTree t{n};
    int max_depth = 0;
    std::vector<int> child_count(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) {
      for (int c : t.children(r)) {
        if (c < 0) continue;
        ASSERT_LT(c, n);
        ASSERT_EQ(t.parent(c), r) << "n=" << n;
        ++child_count[static_cast<std::size_t>(c)];
      }
      max_depth = std::max(max_depth, t.depth(r));
    }
    for (int r = 1; r < n; ++r)
      ASSERT_EQ(child_count[static_cast<std::size_t>(r)], 1) << "n=" << n << " r=" << r;
    ASSERT_EQ(max_depth, t.max_depth()) << "n=" << n;
  }
}

TEST(DoubleBinaryTree, EveryMemberIsALeafInOneTreeForEvenN) {
  for (int n : {4, 6, 8, 16, 64}) {
    const strategies::BinaryTree t{n};
    for (int i = 0; i < n; ++i) {
      const int role_a = i, role_b = (i - 1 + n) % n;
      const bool leaf_a = t.children(role_a)[0] < 0, leaf_b = t.children(role_b)[0] < 0;
      EXPECT_NE(leaf_a, leaf_b) << "n=" << n << " member " << i;
    }
  }
}

TEST(RingAllReduce, FlowsSpanCoversEveryRoundWithTotalBytes) {
  // One member of a ring sends 2(n−1)/n of the buffer to its right neighbour, in 2(n−1) messages.
  const int n = 8;
  const auto s = strategies::make_schedule(Collective::all_reduce, "ring", n, 3, 800, 4, {});
  const auto spans = s->mergeable_spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].begin, 0u);
  EXPECT_EQ(spans[0].end, 14u);
  const auto traffic = s->traffic(spans[0]);
  ASSERT_EQ(traffic.size(), 2u);
  EXPECT_EQ(traffic[0].peer, 4);
  EXPECT_EQ(traffic[0].send_elements, 2u * 7 * 100);
  EXPECT_EQ(traffic[0].send_messages, 14u);
  EXPECT_EQ(traffic[1].peer, 2);
  EXPECT_EQ(traffic[1].recv_elements, 2u * 7 * 100);
}

TEST(Collectives, UnknownAlgorithmNamesTheKnownOnes) {
  try {
    strategies::make_schedule(Collective::all_reduce, "rng", 4, 0, 10, 4, {});
    FAIL() << "expected an error";
  } catch (const core::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown all-reduce algorithm 'rng'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("halving-doubling"), std::string::npos) << e.what();
  }
}

TEST(Collectives, HalvingReduceScatterRejectsNonPowerOfTwo) {
  EXPECT_THROW(strategies::make_schedule(Collective::reduce_scatter, "halving-doubling", 6, 0, 10, 4, {}),
               core::ValueError);
}

TEST(CostModel, RingMatchesTextbookForm) {
  // 2(n−1)(α + S/(nB)) with n = 4, S = 4 MiB, α = 2 µs, B = 10 GB/s.
  const auto p = strategies::PathClasses::uniform({2e-6, 10e9});
  const auto c = strategies::collective_cost(Collective::all_reduce, "ring", 4, 1 << 20, 4, p, {});
  EXPECT_DOUBLE_EQ(c.latency, 6 * 2e-6);
  EXPECT_DOUBLE_EQ(c.transfer, 6 * (4.0 * (1 << 20) / 4) / 10e9);
}

TEST(CostModel, HalvingDoublingMatchesTextbookForm) {
  const auto p = strategies::PathClasses::uniform({2e-6, 10e9});
  const double s = 4.0 * (1 << 20);
  const auto c =
      strategies::collective_cost(Collective::all_reduce, "halving-doubling", 8, 1 << 20, 4, p, {});
  EXPECT_DOUBLE_EQ(c.latency, 2 * 3 * 2e-6);
  EXPECT_DOUBLE_EQ(c.transfer, 2 * 7.0 / 8 * s / 10e9);
}

// The partner order of halving-doubling all-reduce (n = 8, 8 blocks of 1 element): distance 1
// first with half the buffer, then 2, then 4 (MPICH, Open MPI), member i ending the
// reduce-scatter with block bit-reverse(i); or 4, 2, 1, member i ending with block i.
TEST(HalvingDoubling, PartnerOrderDecidesWhoExchangesTheLargestHalves) {
  using strategies::PartnerOrder;
  for (const PartnerOrder order : {PartnerOrder::distance_doubling, PartnerOrder::distance_halving}) {
    strategies::CollectiveOptions options;
    options.partner_order = order;
    const bool doubling = order == PartnerOrder::distance_doubling;
    const auto members = all_members(Collective::all_reduce, "halving-doubling", 8, 8, options);
    const int member = 3;  // 011: bit-reverse 110 = 6
    std::vector<int> partners;
    std::vector<std::uint64_t> sizes;
    for (std::size_t t = 0; t < members[member]->rounds(); ++t) {
      std::vector<Op> ops;
      members[member]->round(t, ops);
      ASSERT_EQ(ops.size(), 2u);
      partners.push_back(ops[0].peer);
      sizes.push_back(ops[0].range.count);
      if (t == 2) {  // the last reduce-scatter round: what it reduces is the block it ends with
        EXPECT_EQ(ops[1].range.offset, doubling ? 6u : 3u);
      }
    }
    EXPECT_EQ(partners,
              doubling ? (std::vector<int>{2, 1, 7, 7, 1, 2}) : (std::vector<int>{7, 1, 2, 2, 1, 7}));
    EXPECT_EQ(sizes, (std::vector<std::uint64_t>{4, 2, 1, 1, 2, 4}));
  }
}

TEST(CostModel, HalvingDoublingChargesEachDistanceItsOwnPath) {
  // Distance 1 inside a node (10 GB/s, 1 µs), 2 and 4 across (1 GB/s, 5 µs); 8 members, S = 8 MB.
  strategies::PathClasses p = strategies::PathClasses::uniform({5e-6, 1e9});
  p.whole.butterfly_by_distance = {{1e-6, 10e9}, {5e-6, 1e9}, {5e-6, 1e9}};
  const double s = 8e6;
  strategies::CollectiveOptions options;
  const auto near_first =
      strategies::collective_cost(Collective::all_reduce, "halving-doubling", 8, 2'000'000, 4, p, options);
  EXPECT_DOUBLE_EQ(near_first.latency, 2 * (1e-6 + 5e-6 + 5e-6));
  EXPECT_DOUBLE_EQ(near_first.transfer, 2 * (s / 2 / 10e9 + s / 4 / 1e9 + s / 8 / 1e9));
  options.partner_order = strategies::PartnerOrder::distance_halving;
  const auto far_first =
      strategies::collective_cost(Collective::all_reduce, "halving-doubling", 8, 2'000'000, 4, p, options);
  EXPECT_DOUBLE_EQ(far_first.latency, near_first.latency);
  EXPECT_DOUBLE_EQ(far_first.transfer, 2 * (s / 2 / 1e9 + s / 4 / 1e9 + s / 8 / 10e9));
}

}  // namespace
}  // namespace dmlsim

namespace dmlsim::strategies {
namespace {

// The algorithm table: every descriptor builds schedules that say its name and collective, for
// every member, round-aligned; and its cost is the one collective_cost gives.
TEST(AlgorithmTable, EveryDescriptorBuildsWhatItSaysAndCostsIt) {
  int built = 0;
  for (const AlgorithmDescriptor* a : algorithm_table()) {
    for (const Collective c : kAllCollectives) {
      if (!a->implements(c)) {
        EXPECT_EQ(find_algorithm(c, a->name), nullptr);
        continue;
      }
      CollectiveOptions options;
      options.local_size = 2;
      options.tree_chunk_bytes = 256;
      const int n = 8;
      ASSERT_EQ(algorithm_problem(c, a->name, n, options), std::nullopt) << a->name;
      std::vector<core::SchedulePtr> members;
      for (int i = 0; i < n; ++i) {
        members.push_back(a->build(c, n, i, 1000, 4, options));
        EXPECT_EQ(members.back()->algorithm(), a->name);
        EXPECT_EQ(members.back()->collective(), to_string(c));
      }
      EXPECT_EQ(core::check_round_aligned(members), "") << a->name << " " << to_string(c);
      const PathClasses paths{
          GroupPaths::uniform({1e-6, 1e9}), {1e-7, 1e10}, GroupPaths::uniform({2e-6, 1e9}), 0, {3e-6, 1e9}};
      const CostTerms direct = a->cost(c, n, 1000, 4, paths, options);
      EXPECT_EQ(direct.total(), collective_cost(c, a->name, n, 1000, 4, paths, options).total());
      EXPECT_GT(direct.total(), 0);
      ++built;
    }
  }
  EXPECT_EQ(built, 3 + 3 + 3 + 1 + 1 + 1)
      << "ring, halving-doubling, tree, double-binary-tree, hierarchical, rail-rings";
}

// A problem names the option to blame, so that errors point at the right field of the file.
TEST(AlgorithmTable, ProblemsNameTheirField) {
  CollectiveOptions options;
  options.local_size = 3;
  auto p = algorithm_problem(Collective::all_reduce, "hierarchical", 8, options);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->field, "local_size");
  options.local_size = 2;
  options.inner = "rign";
  p = algorithm_problem(Collective::all_reduce, "hierarchical", 8, options);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->field, "inner");
  EXPECT_EQ(p->message,
            "unknown all-reduce algorithm 'rign' (known: ring, halving-doubling, tree, double-binary-tree, "
            "hierarchical, rail-rings)");
  p = algorithm_problem(Collective::reduce_scatter, "halving-doubling", 6, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->field, "algorithm");
  EXPECT_EQ(p->message, "halving-doubling reduce-scatter needs a power-of-two group, got 6 members");
  p = algorithm_problem(Collective::broadcast, "ring", 4, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->message, "unknown broadcast algorithm 'ring' (known: tree)");
}

// Hierarchical all-reduce names its three parts, in round order and covering every round, each
// with the elements it works on (the inner all-reduce: this member's rail chunk); flat algorithms
// have none.
TEST(ScheduleParts, HierarchicalNamesItsPhases) {
  CollectiveOptions options;
  options.local_size = 4;
  options.inner = "ring";
  const core::SchedulePtr s = make_hierarchical_all_reduce(12, 5, 1003, 4, options);
  const std::vector<core::SchedulePart> parts = s->parts();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].name, "intra-node reduce-scatter");
  EXPECT_EQ(parts[1].name, "inter-node ring all-reduce");
  EXPECT_EQ(parts[2].name, "intra-node all-gather");
  EXPECT_EQ(parts[0].rounds, (core::RoundSpan{0, 3}));          // 4 per node: 3 ring steps
  EXPECT_EQ(parts[1].rounds, (core::RoundSpan{3, 3 + 2 * 2}));  // 3 nodes: 2·2 ring steps
  EXPECT_EQ(parts[2].rounds, (core::RoundSpan{7, s->rounds()}));
  EXPECT_EQ(s->rounds(), 10u);
  EXPECT_EQ(parts[0].count, 1003u);
  EXPECT_EQ(parts[1].count, core::chunk_range(1003, 4, 1).count);  // member 5 is local member 1
  EXPECT_TRUE(make_tree_all_reduce(8, 3, 1000, 4)->parts().empty());
}

}  // namespace
}  // namespace dmlsim::strategies
