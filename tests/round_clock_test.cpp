// round_by_round_ends against rounds worked out by hand.
#include <gtest/gtest.h>

#include "sim/round_clock.hpp"

namespace dmlsim::sim {
namespace {

// Each member of a ring of `hops.size()` sends to the next every round; hop i→i+1 takes hops[i].
std::vector<std::vector<RoundMessage>> ring_rounds(const std::vector<double>& hops, int rounds) {
  const auto n = static_cast<std::uint32_t>(hops.size());
  std::vector<std::vector<RoundMessage>> out(static_cast<std::size_t>(rounds));
  for (auto& round : out) {
    for (std::uint32_t i = 0; i < n; ++i) round.push_back({i, (i + 1) % n, hops[i]});
  }
  return out;
}

TEST(RoundClock, MembersBehindASlowHopEndLaterThanTheRest) {
  // Hop 2→3 takes 5, the others 1. Round 1: ends 1, 1, 5, 5 (members 2 and 3 wait for the slow
  // message). Round 2: 0→1 starts at 1, 1→2 at max(1, 5): ends 6, 6, 10, 10. Round 3: 11, 11, 15, 15.
  const auto rounds = ring_rounds({1, 1, 5, 1}, 3);
  EXPECT_EQ(round_by_round_ends({0, 0, 0, 0}, rounds), (std::vector<double>{11, 11, 15, 15}));
}

TEST(RoundClock, AMessageStartsWhenBothEndsHavePostedIt) {
  // Member 3 arrives at 3: 2→3 starts then (ends 8), 3→0 too (ends 4); 0→1 and 1→2 end at 1.
  const auto rounds = ring_rounds({1, 1, 5, 1}, 1);
  EXPECT_EQ(round_by_round_ends({0, 0, 0, 3}, rounds), (std::vector<double>{4, 1, 8, 8}));
}

TEST(RoundClock, AMemberWithoutMessagesKeepsItsTime) {
  const std::vector<std::vector<RoundMessage>> rounds{{{0, 1, 2}}, {{1, 0, 3}}};
  EXPECT_EQ(round_by_round_ends({0, 1, 7}, rounds), (std::vector<double>{6, 6, 7}));
}

TEST(RoundClock, EqualHopsEndTogether) {
  const auto rounds = ring_rounds({2, 2, 2}, 4);
  EXPECT_EQ(round_by_round_ends({0, 0, 0}, rounds), (std::vector<double>{8, 8, 8}));
}

}  // namespace
}  // namespace dmlsim::sim
