// Communicators in the simulator: each has its own message context (two communicators over the same
// ranks never match each other's messages, whatever their tags), collectives are built for the
// member's index in the group, and communicators of different names run on streams of their own
// that progress concurrently.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "sim_helpers.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/collectives/verify.hpp"

namespace dmlsim {
namespace {

core::Experiment payload_experiment(int hosts, const std::string& bandwidth = "10Gbps",
                                    const std::string& latency = "1us") {
  return testing::experiment_from_yaml(
      fmt::format("experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}, simulation: "
                  "{{payload: true}}}}",
                  testing::star_platform(hosts, bandwidth, latency)));
}

// Rank 0 sends "a" in communicator A and then "b" in communicator B, both with tag 0; rank 1
// receives B's first. With one tag space (before communicators) the first receive took the first
// message sent, "a": a collision that communicators make impossible.
TEST(SimCommunicator, SameTagInTwoCommunicatorsNeverMatches) {
  const core::Experiment e = payload_experiment(2);
  std::vector<std::byte> got_a(1), got_b(1);
  sim::simulate(e, [&](core::Rank& rank) {
    core::Communicator a = rank.communicator(core::Group::world(2), "a");
    core::Communicator b = rank.communicator(core::Group::world(2), "b");
    EXPECT_NE(a.context(), b.context());
    if (rank.rank() == 0) {
      std::byte x{'a'}, y{'b'};
      std::vector<core::Request> sends;
      sends.push_back(a.isend(1, {1, &x}, 0));
      sends.push_back(b.isend(1, {1, &y}, 0));
      rank.wait_all(sends);
    } else {
      core::Request rb = b.irecv(0, {1, got_b.data()}, 0);
      rank.wait(rb);
      core::Request ra = a.irecv(0, {1, got_a.data()}, 0);
      rank.wait(ra);
    }
  });
  EXPECT_EQ(got_a[0], std::byte{'a'});
  EXPECT_EQ(got_b[0], std::byte{'b'});
}

// Elastic membership: rank 2 leaves after epoch 0, and ranks 0 and 1 go on with "dp" at epoch 1
// over the two of them. A message rank 0 sent in the old membership (tag 0) is not taken by the
// new membership's receive (tag 0 too), and the new group's all-reduce is built for its members.
TEST(SimCommunicator, AnEpochIsACommunicatorOfItsOwn) {
  const core::Experiment e = payload_experiment(3);
  std::byte got_old{0}, got_new{0};
  std::vector<float> sum(64);
  std::string name_taken;
  sim::simulate(e, [&](core::Rank& rank) {
    core::Communicator dp0 = rank.communicator(core::Group::world(3), "dp");
    if (rank.rank() == 2) return;  // leaves
    core::Communicator dp1 = rank.communicator(core::Group::world(2), "dp", 1);
    EXPECT_EQ(dp1.name(), "dp@1");
    EXPECT_EQ(dp1.epoch(), 1);
    EXPECT_NE(dp1.context(), dp0.context());
    if (rank.rank() == 0) {
      std::byte old_message{'o'}, new_message{'n'};
      std::vector<core::Request> sends;
      sends.push_back(dp0.isend(1, {1, &old_message}, 0));
      sends.push_back(dp1.isend(1, {1, &new_message}, 0));
      rank.wait_all(sends);
      try {
        rank.communicator(core::Group::world(2), "dp");  // epoch 0 is over three ranks
      } catch (const core::ValueError& error) {
        name_taken = error.what();
      }
    } else {
      core::Request r1 = dp1.irecv(0, {1, &got_new}, 0);
      rank.wait(r1);
      core::Request r0 = dp0.irecv(0, {1, &got_old}, 0);
      rank.wait(r0);
    }
    std::vector<float> data(64);
    strategies::fill_test_input(dp1.index(), data);
    dp1.all_reduce({data.size(), 4, data.data()}, strategies::NamedAlgorithm("ring"));
    if (rank.rank() == 1) sum = data;
  });
  EXPECT_EQ(got_new, std::byte{'n'});
  EXPECT_EQ(got_old, std::byte{'o'});
  EXPECT_EQ(strategies::check_test_output(strategies::Collective::all_reduce, 2, 1, sum), "");
  EXPECT_NE(name_taken.find("already holds a communicator named 'dp'"), std::string::npos) << name_taken;
}

TEST(SimCommunicator, EveryMemberGetsTheSameContextAndAgainTheSameCommunicator) {
  const core::Experiment e = payload_experiment(4);
  std::vector<std::uint32_t> dp(4), dp_again(4), tp(4);
  sim::simulate(e, [&](core::Rank& rank) {
    const auto r = static_cast<std::size_t>(rank.rank());
    dp[r] = rank.communicator(core::Group::world(4), "dp").context();
    dp_again[r] = rank.communicator(core::Group::of({0, 1, 2, 3}), "dp").context();  // the same group
    // tp pairs {0,1} and {2,3}: one name, two groups, two contexts.
    tp[r] = rank.communicator(core::Group::strided(rank.rank() / 2 * 2, 2), "tp").context();
  });
  for (std::size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(dp[r], dp[0]);
    EXPECT_EQ(dp_again[r], dp[0]);
    EXPECT_NE(tp[r], dp[0]);
  }
  EXPECT_EQ(tp[0], tp[1]);
  EXPECT_EQ(tp[2], tp[3]);
  EXPECT_NE(tp[0], tp[2]);
}

TEST(SimCommunicator, ANameHeldOverAnotherGroupIsRefused) {
  const core::Experiment e = payload_experiment(3);
  try {
    sim::simulate(e, [](core::Rank& rank) {
      rank.communicator(core::Group::world(3), "dp");
      if (rank.rank() == 0) rank.communicator(core::Group::strided(0, 2), "dp");
    });
    FAIL() << "expected an error";
  } catch (const core::ValueError& err) {
    EXPECT_STREQ(err.what(),
                 "rank 0 already holds a communicator named 'dp' over another group; give each group its own "
                 "name");
  }
}

TEST(SimCommunicator, ANonMemberCannotAskForTheCommunicator) {
  const core::Experiment e = payload_experiment(3);
  try {
    sim::simulate(e, [](core::Rank& rank) { rank.communicator(core::Group::strided(0, 2), "pair"); });
    FAIL() << "expected an error";
  } catch (const core::ValueError& err) {
    EXPECT_STREQ(err.what(), "rank 2 asked for communicator 'pair' of a group it is not a member of");
  }
}

// Collectives are built for the member's index: a ring all-reduce over ranks {1, 3, 5} of 6 (and
// one over {0, 2, 4}) sums exactly what its own members put in.
TEST(SimCommunicator, CollectivesOfASubGroupUseTheMemberIndex) {
  const core::Experiment e = payload_experiment(6);
  std::vector<std::string> problems(6);
  sim::simulate(e, [&](core::Rank& rank) {
    core::Communicator half = rank.communicator(core::Group::strided(rank.rank() % 2, 3, 2), "half");
    EXPECT_EQ(half.index(), rank.rank() / 2);
    std::vector<float> data(1000);
    strategies::fill_test_input(half.index(), data);
    half.all_reduce({data.size(), 4, data.data()}, strategies::NamedAlgorithm("ring"));
    problems[static_cast<std::size_t>(rank.rank())] =
        strategies::check_test_output(strategies::Collective::all_reduce, 3, half.index(), data);
  });
  for (const std::string& p : problems) EXPECT_EQ(p, "");
}

TEST(SimCommunicator, AScheduleOfAnotherMemberIsRefused) {
  const core::Experiment e = payload_experiment(2);
  try {
    sim::simulate(e, [](core::Rank& rank) {
      core::Communicator world = rank.communicator(core::Group::world(2), "world");
      std::vector<float> data(8);
      const auto theirs = strategies::make_schedule(strategies::Collective::all_reduce, "ring", 2,
                                                    1 - world.index(), data.size(), 4, {});
      world.run(*theirs, {data.size(), 4, data.data()});
    });
    FAIL() << "expected an error";
  } catch (const core::ValueError& err) {
    // Both ranks fail; the first error reported is either's.
    const std::string what = err.what();
    EXPECT_TRUE(what == "rank 0 runs the all-reduce ring schedule of member 1 of 2 but is member 0 of 2" ||
                what == "rank 1 runs the all-reduce ring schedule of member 0 of 2 but is member 1 of 2")
        << what;
  }
}

// Two communicators over the same four ranks, each with its own all-reduce in flight on its own
// stream at once, different data in each: both sums come out exact.
TEST(SimCommunicator, TwoCommunicatorsOnTheSameRanksExchangeConcurrently) {
  const core::Experiment e = payload_experiment(4);
  std::vector<std::string> problems(8);
  sim::simulate(e, [&](core::Rank& rank) {
    core::Communicator first = rank.communicator(core::Group::world(4), "job1");
    core::Communicator second = rank.communicator(core::Group::world(4), "job2");
    std::vector<float> a(4096), b(4096);
    strategies::fill_test_input(first.index(), a);
    strategies::fill_test_input(second.index(), b);
    for (float& x : b) x *= 3;
    const strategies::NamedAlgorithm ring("ring"), hd("halving-doubling");
    std::vector<core::CollectiveHandle> handles;
    handles.push_back(first.start(first.schedule(strategies::Collective::all_reduce, ring, a.size(), 4),
                                  {a.size(), 4, a.data()}));
    handles.push_back(second.start(second.schedule(strategies::Collective::all_reduce, hd, b.size(), 4),
                                   {b.size(), 4, b.data()}));
    rank.wait_all(handles);
    for (float& x : b) x /= 3;
    const auto r = static_cast<std::size_t>(rank.rank());
    problems[2 * r] = strategies::check_test_output(strategies::Collective::all_reduce, 4, first.index(), a);
    problems[2 * r + 1] =
        strategies::check_test_output(strategies::Collective::all_reduce, 4, second.index(), b);
  });
  for (const std::string& p : problems) EXPECT_EQ(p, "");
}

// Rank 0 broadcasts S bytes to rank 1 in one communicator and receives S bytes from rank 2 in
// another (a reduce to it), both started on streams at once. On the star's split-duplex links the
// two paths share no link (0's up and 1's down link; 2's up and 0's down link), so with streams
// that progress concurrently both end at α + S/B — one after the other would take twice that.
TEST(SimCommunicator, TwoStreamsOnDisjointLinksTakeTheTimeOfOne) {
  const core::Experiment e = testing::experiment_from_yaml(
      fmt::format("experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}}}",
                  testing::star_platform(3, "10Gbps", "5us")));
  const std::uint64_t count = 16u << 20;  // 64 MiB of floats
  double end_send = 0, end_recv = 0;
  sim::simulate(e, [&](core::Rank& rank) {
    strategies::CollectiveOptions one_chunk;
    one_chunk.tree_chunk_bytes = count * 4;  // no pipelining: one message of S bytes
    const strategies::NamedAlgorithm tree("tree", one_chunk);
    std::vector<core::CollectiveHandle> handles;
    if (rank.rank() != 2) {
      core::Communicator out = rank.communicator(core::Group::strided(0, 2), "out");
      handles.push_back(
          out.start(out.schedule(strategies::Collective::broadcast, tree, count, 4), {count, 4, nullptr}));
    }
    if (rank.rank() != 1) {
      core::Communicator in = rank.communicator(core::Group::strided(0, 2, 2), "in");
      handles.push_back(
          in.start(in.schedule(strategies::Collective::reduce, tree, count, 4), {count, 4, nullptr}));
    }
    if (rank.rank() == 0) {
      rank.wait(handles[0]);
      end_send = rank.now();
      rank.wait(handles[1]);
      end_recv = rank.now();
    } else {
      rank.wait_all(handles);
    }
  });
  const double alpha = 2 * 5e-6, seconds = alpha + static_cast<double>(count * 4) * 8 / 10e9;
  EXPECT_NEAR(end_send, seconds, 1e-9 * seconds);
  EXPECT_NEAR(end_recv, seconds, 1e-9 * seconds);
}

}  // namespace
}  // namespace dmlsim
