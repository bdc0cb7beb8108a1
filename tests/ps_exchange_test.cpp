// The parameter server's push/pull pipeline as data: pieces partition the gradients and respect
// the chunk size, every member's schedule is round-aligned with the others', running all of them
// in memory leaves the exact sum on every worker (one server, sharded, colocated), and the closed
// form of the pipeline tends to BytePS' reference points.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "strategies/training/ps_cost.hpp"
#include "strategies/training/ps_exchange.hpp"

namespace dmlsim {
namespace {

using core::Op;
using core::OpKind;
using strategies::PsExchangeSchedule;
using strategies::PsLayout;
using strategies::PsRoles;

// Three buckets of awkward sizes; chunks of 7 elements.
std::shared_ptr<const PsLayout> layout_for(int servers, std::uint64_t chunk = 7) {
  return std::make_shared<PsLayout>(std::vector<PsLayout::BucketSpec>{{2, 101}, {1, 5}, {0, 64}}, servers,
                                    chunk);
}

TEST(PsLayout, PiecesPartitionTheGradientsAndRespectTheChunk) {
  for (int k : {1, 2, 3, 5, 8}) {
    const auto layout = layout_for(k);
    ASSERT_EQ(layout->elements(), 101u + 5 + 64);
    ASSERT_EQ(layout->buckets()[0].count, 101u);
    std::vector<int> owner(layout->elements(), -1);
    for (int s = 0; s < k; ++s) {
      for (const core::ElementRange& p : layout->pieces_of(s)) {
        EXPECT_LE(p.count, 7u);
        EXPECT_GT(p.count, 0u);
        for (std::uint64_t e = p.offset; e < p.offset + p.count; ++e) {
          EXPECT_EQ(owner[e], -1) << "element " << e << " is in two pieces";
          owner[e] = s;
        }
      }
    }
    for (std::size_t e = 0; e < owner.size(); ++e)
      EXPECT_NE(owner[e], -1) << "element " << e << " has no server";
    // Rounds: ceil(count / (k · chunk)).
    EXPECT_EQ(layout->buckets()[0].rounds, (101 + 7u * k - 1) / (7u * k));
  }
}

std::vector<std::vector<core::SchedulePtr>> members_of(const std::shared_ptr<const PsLayout>& layout,
                                                       const PsRoles& roles) {
  std::vector<std::vector<core::SchedulePtr>> buckets;
  for (std::size_t b = 0; b < layout->buckets().size(); ++b) {
    buckets.emplace_back();
    for (int m = 0; m < roles.group_size(); ++m)
      buckets.back().push_back(std::make_shared<PsExchangeSchedule>(layout, b, roles, m));
  }
  return buckets;
}

// Runs every bucket's exchange in memory, round by round, on each member's whole iteration buffer
// (each schedule sees its window), delivering messages in order per (sender, receiver).
void run_in_memory(const PsLayout& layout, const std::vector<std::vector<core::SchedulePtr>>& buckets,
                   std::vector<std::vector<float>>& data) {
  const int n = static_cast<int>(data.size());
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    const std::uint64_t base = layout.window(b).offset;
    for (std::size_t t = 0; t < buckets[b][0]->rounds(); ++t) {
      std::map<std::pair<int, int>, std::vector<std::vector<float>>> in_flight;
      std::vector<std::vector<Op>> ops(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        buckets[b][static_cast<std::size_t>(i)]->round(t, ops[static_cast<std::size_t>(i)]);
        for (const Op& op : ops[static_cast<std::size_t>(i)]) {
          if (op.kind != OpKind::send || op.range.count == 0) continue;
          const float* src = data[static_cast<std::size_t>(i)].data() + base + op.range.offset;
          in_flight[{i, op.peer}].emplace_back(src, src + op.range.count);
        }
      }
      for (int i = 0; i < n; ++i) {
        for (const Op& op : ops[static_cast<std::size_t>(i)]) {
          if (op.kind == OpKind::send || op.range.count == 0) continue;
          auto& queue = in_flight[{op.peer, i}];
          ASSERT_FALSE(queue.empty())
              << "bucket " << b << " round " << t << ": " << i << " receives nothing from " << op.peer;
          const std::vector<float> message = std::move(queue.front());
          queue.erase(queue.begin());
          ASSERT_EQ(message.size(), op.range.count);
          float* dst = data[static_cast<std::size_t>(i)].data() + base + op.range.offset;
          for (std::uint64_t e = 0; e < op.range.count; ++e)
            dst[e] = op.kind == OpKind::recv_copy ? message[e] : dst[e] + message[e];
        }
      }
    }
  }
}

struct Case {
  int workers, servers;
  bool colocated;
};

class PsExchange : public ::testing::TestWithParam<Case> {};

TEST_P(PsExchange, IsRoundAlignedAndLeavesTheSumOnEveryWorker) {
  const Case c = GetParam();
  const PsRoles roles{c.workers, c.servers, c.colocated};
  const auto layout = layout_for(c.servers);
  const auto buckets = members_of(layout, roles);
  for (const auto& members : buckets) EXPECT_EQ(core::check_round_aligned(members), "");
  // Worker w holds w·1000 + e + 1 at element e; dedicated servers start from zero.
  std::vector<std::vector<float>> data(static_cast<std::size_t>(roles.group_size()),
                                       std::vector<float>(layout->elements(), 0.0F));
  for (int w = 0; w < c.workers; ++w) {
    for (std::size_t e = 0; e < layout->elements(); ++e)
      data[static_cast<std::size_t>(w)][e] = static_cast<float>(w * 1000 + static_cast<int>(e) + 1);
  }
  run_in_memory(*layout, buckets, data);
  for (int w = 0; w < c.workers; ++w) {
    for (std::size_t e = 0; e < layout->elements(); ++e) {
      float sum = 0;
      for (int v = 0; v < c.workers; ++v) sum += static_cast<float>(v * 1000 + static_cast<int>(e) + 1);
      ASSERT_EQ(data[static_cast<std::size_t>(w)][e], sum) << "worker " << w << " element " << e;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ps, PsExchange,
                         ::testing::Values(Case{1, 1, false}, Case{2, 1, false}, Case{5, 1, false},
                                           Case{5, 3, false}, Case{4, 8, false}, Case{5, 2, true},
                                           Case{5, 5, true}, Case{3, 1, true}, Case{1, 1, true}),
                         [](const auto& param_info) {
                           return fmt::format("n{}_k{}_{}", param_info.param.workers,
                                              param_info.param.servers,
                                              param_info.param.colocated ? "colocated" : "dedicated");
                         });

TEST(PsExchange, ServersCuttingDifferentPiecesAreCaught) {
  // Workers cut 7-element chunks, the server 5-element ones: the messages no longer match.
  const PsRoles roles{3, 1, false};
  std::vector<core::SchedulePtr> members;
  for (int m = 0; m < roles.group_size(); ++m)
    members.push_back(std::make_shared<PsExchangeSchedule>(layout_for(1, m < 3 ? 7 : 5), 0, roles, m));
  EXPECT_NE(core::check_round_aligned(members), "");
}

// One bucket of C rounds, k pieces of c bytes each; a star of bandwidth B and path latency α.
TEST(PsCost, PipelineTendsToTheReferenceClosedForms) {
  const double alpha = 2e-6, bandwidth = 1.25e9;
  const std::uint64_t elements = 1 << 24;  // 64 MiB of floats
  for (const auto& [n, k, colocated] :
       {std::tuple{8, 1, false}, {8, 2, false}, {8, 4, false}, {8, 8, false}, {8, 16, false}, {8, 8, true}}) {
    SCOPED_TRACE(fmt::format("n = {}, k = {}, colocated = {}", n, k, colocated));
    const PsRoles roles{n, k, colocated};
    const PsLayout layout({{0, elements}}, k, 1 << 14);  // 64 KiB chunks
    const auto paths = strategies::exchange_paths(roles, [&](int, int) {
      return core::PathParams{alpha, bandwidth};
    });
    const double cost = strategies::exchange_cost(layout, 0, roles, 4, paths).total();
    const double rounds = static_cast<double>(layout.buckets()[0].rounds);
    const double piece = 4.0 * elements / (rounds * k);
    const double m = 4.0 * elements;
    // Dedicated: every round's busiest link carries max(n, k) pieces: (C + 1)·(α + max(n, k)·c/B).
    // n colocated servers: 2(n−1) pieces in the C − 1 middle rounds, n − 1 in the first (push
    // only) and the last (pull only): (C + 1)·α + 2(n−1)·C·c/B.
    const double expected = colocated ? (rounds + 1) * alpha + 2 * (n - 1) * rounds * piece / bandwidth
                                      : (rounds + 1) * (alpha + std::max(n, k) * piece / bandwidth);
    EXPECT_NEAR(cost / expected, 1.0, 1e-12);
    // As C grows: max(M/B, nM/(kB)) dedicated, 2(n−1)M/(nB) colocated — within 2 % at C ≥ 64.
    const double reference =
        colocated ? strategies::allreduce_time(n, m, bandwidth) : strategies::ps_time(n, k, m, bandwidth);
    EXPECT_GE(cost / reference, 1.0);
    EXPECT_LE(cost / reference, 1.02);
  }
}

TEST(PsCost, BytePsReferencePointsMeetAtTheirEnds) {
  // k = 0 extra servers: all-reduce; k = n: M/B, the NIC bound (Jiang et al. 2020, §3.1).
  EXPECT_DOUBLE_EQ(strategies::byteps_time(16, 0, 1e9, 1e10), strategies::allreduce_time(16, 1e9, 1e10));
  EXPECT_DOUBLE_EQ(strategies::byteps_time(16, 16, 1e9, 1e10), 1e9 / 1e10);
  EXPECT_DOUBLE_EQ(strategies::ps_time(16, 4, 1e9, 1e10), 4 * 1e9 / 1e10);
  EXPECT_DOUBLE_EQ(strategies::ps_time(16, 32, 1e9, 1e10), 1e9 / 1e10);
  EXPECT_LT(strategies::byteps_time(16, 4, 1e9, 1e10), strategies::allreduce_time(16, 1e9, 1e10));
}

}  // namespace
}  // namespace dmlsim
