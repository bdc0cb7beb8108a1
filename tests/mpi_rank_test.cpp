// MpiRank under mpirun (ctest starts `mpirun -np 3` of this program): communicators keep their
// messages apart, streams of two communicators progress at once, and requests can be waited for
// with a timeout and cancelled. Every rank runs the same GoogleTest cases; a failure on any rank
// fails the run.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "realrun/common_clock.hpp"
#include "realrun/mpi_rank.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/collectives/verify.hpp"

namespace dmlsim {
namespace {

// One MpiRank per test, over the whole world.
class MpiRankTest : public ::testing::Test {
 protected:
  MpiRankTest() : clock_(MPI_COMM_WORLD) {
    MPI_Comm_rank(MPI_COMM_WORLD, &context_.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &context_.size);
    context_.clock = &clock_;
    context_.detail = core::TraceDetail::messages;
    rank_ = std::make_unique<real::MpiRank>(context_, trace_);
  }
  ~MpiRankTest() override {
    rank_->finish();
    rank_.reset();
    MPI_Barrier(MPI_COMM_WORLD);  // the next test starts together
  }
  real::CommonClock clock_;
  real::MpiContext context_;
  core::Trace trace_;
  std::unique_ptr<real::MpiRank> rank_;
};

// Rank 0 sends 'a' in communicator A and then 'b' in communicator B, both with tag 0, to rank 1,
// which receives B's first: each receive gets its own communicator's message.
TEST_F(MpiRankTest, SameTagInTwoCommunicatorsNeverMatches) {
  core::Rank& rank = *rank_;
  core::Communicator a = rank.communicator(core::Group::world(rank.size()), "a");
  core::Communicator b = rank.communicator(core::Group::world(rank.size()), "b");
  if (rank.rank() == 0) {
    std::byte x{'a'}, y{'b'};
    std::vector<core::Request> sends;
    sends.push_back(a.isend(1, {1, &x}, 0));
    sends.push_back(b.isend(1, {1, &y}, 0));
    rank.wait_all(sends);
  } else if (rank.rank() == 1) {
    std::byte got_a{0}, got_b{0};
    core::Request rb = b.irecv(0, {1, &got_b}, 0);
    rank.wait(rb);
    core::Request ra = a.irecv(0, {1, &got_a}, 0);
    rank.wait(ra);
    EXPECT_EQ(got_a, std::byte{'a'});
    EXPECT_EQ(got_b, std::byte{'b'});
  }
}

// Elastic membership: rank 2 leaves after epoch 0; ranks 0 and 1 go on with "dp" at epoch 1. The
// old membership's message (tag 0) is not taken by the new one's receive (tag 0), and the new
// group's all-reduce sums over its two members.
TEST_F(MpiRankTest, AnEpochIsACommunicatorOfItsOwn) {
  core::Rank& rank = *rank_;
  core::Communicator dp0 = rank.communicator(core::Group::world(rank.size()), "dp");
  if (rank.rank() >= 2) return;  // leaves
  core::Communicator dp1 = rank.communicator(core::Group::world(2), "dp", 1);
  EXPECT_EQ(dp1.name(), "dp@1");
  EXPECT_NE(dp1.context(), dp0.context());
  if (rank.rank() == 0) {
    std::byte old_message{'o'}, new_message{'n'};
    std::vector<core::Request> sends;
    sends.push_back(dp0.isend(1, {1, &old_message}, 0));
    sends.push_back(dp1.isend(1, {1, &new_message}, 0));
    rank.wait_all(sends);
    EXPECT_THROW(rank.communicator(core::Group::world(2), "dp"), core::ValueError) << "epoch 0 is over all";
  } else {
    std::byte got_old{0}, got_new{0};
    core::Request r1 = dp1.irecv(0, {1, &got_new}, 0);
    rank.wait(r1);
    core::Request r0 = dp0.irecv(0, {1, &got_old}, 0);
    rank.wait(r0);
    EXPECT_EQ(got_new, std::byte{'n'});
    EXPECT_EQ(got_old, std::byte{'o'});
  }
  std::vector<float> data(1000);
  strategies::fill_test_input(dp1.index(), data);
  dp1.all_reduce({data.size(), 4, data.data()}, strategies::NamedAlgorithm("ring"));
  EXPECT_EQ(strategies::check_test_output(strategies::Collective::all_reduce, 2, dp1.index(), data), "");
}

// A sub-group's collective is built for the member index: ranks {1, 2} all-reduce alone while
// rank 0 is not a member (and not asked).
TEST_F(MpiRankTest, SubGroupCollectivesUseTheMemberIndex) {
  core::Rank& rank = *rank_;
  if (rank.rank() == 0) return;
  core::Communicator pair = rank.communicator(core::Group::strided(1, 2), "pair");
  EXPECT_EQ(pair.index(), rank.rank() - 1);
  std::vector<float> data(1000);
  strategies::fill_test_input(pair.index(), data);
  pair.all_reduce({data.size(), 4, data.data()}, strategies::NamedAlgorithm("ring"));
  EXPECT_EQ(strategies::check_test_output(strategies::Collective::all_reduce, 2, pair.index(), data), "");
}

// Two communicators over every rank, each with an all-reduce on its own stream thread at once,
// different data in each: both sums exact.
TEST_F(MpiRankTest, TwoStreamsExchangeConcurrentlyWithExactSums) {
  core::Rank& rank = *rank_;
  const int n = rank.size();
  core::Communicator one = rank.communicator(core::Group::world(n), "one");
  core::Communicator two = rank.communicator(core::Group::world(n), "two");
  std::vector<float> a(1 << 16), b(1 << 16);
  strategies::fill_test_input(one.index(), a);
  strategies::fill_test_input(two.index(), b);
  for (float& x : b) x *= 5;
  const strategies::NamedAlgorithm ring("ring");
  std::vector<core::CollectiveHandle> handles;
  handles.push_back(
      one.start(one.schedule(core::Collective::all_reduce, ring, a.size(), 4), {a.size(), 4, a.data()}));
  handles.push_back(
      two.start(two.schedule(core::Collective::all_reduce, ring, b.size(), 4), {b.size(), 4, b.data()}));
  rank.wait_all(handles);
  for (float& x : b) x /= 5;
  EXPECT_EQ(strategies::check_test_output(core::Collective::all_reduce, n, one.index(), a), "");
  EXPECT_EQ(strategies::check_test_output(core::Collective::all_reduce, n, two.index(), b), "");
}

// Rank 0 waits 50 ms for a message rank 1 sends only when told: the wait times out and the
// receive stays pending; told, rank 1 sends, and the next wait gets it.
TEST_F(MpiRankTest, WaitAnyForTimesOutAndTheReceiveStaysPending) {
  core::Rank& rank = *rank_;
  core::Communicator c = rank.communicator(core::Group::world(rank.size()), "deadline");
  std::byte go{'g'}, data{'x'}, got{0};
  if (rank.rank() == 0) {
    std::vector<core::Request> r;
    r.push_back(c.irecv(1, {1, &got}, 1));
    const double t0 = rank.now();
    EXPECT_EQ(rank.wait_any_for(r, 0.05), std::nullopt);
    EXPECT_GE(rank.now() - t0, 0.05);
    EXPECT_TRUE(r[0].pending());
    core::Request s = c.isend(1, {1, &go}, 0);
    rank.wait(s);
    EXPECT_EQ(rank.wait_any_for(r, 60.0), std::optional<std::size_t>(0));
    EXPECT_FALSE(r[0].pending());
    EXPECT_EQ(got, std::byte{'x'});
  } else if (rank.rank() == 1) {
    core::Request g = c.irecv(0, {1, &got}, 0);
    rank.wait(g);
    core::Request s = c.isend(0, {1, &data}, 1);
    rank.wait(s);
  }
}

// A receive cancelled before any message matched it is withdrawn: the message sent afterwards is
// taken by the next receive. A receive that a message has matched cannot be withdrawn: cancel
// returns false and the data is there.
TEST_F(MpiRankTest, CancelWithdrawsAnUnmatchedReceiveOnly) {
  core::Rank& rank = *rank_;
  core::Communicator c = rank.communicator(core::Group::world(rank.size()), "cancel");
  std::byte go{'g'}, x{'x'}, y{'y'}, z{'z'};
  if (rank.rank() == 0) {
    std::byte first{0}, second{0}, third{0}, fourth{0};
    core::Request early = c.irecv(1, {1, &first}, 1);
    EXPECT_TRUE(rank.cancel(early));
    EXPECT_FALSE(early.pending());
    core::Request s = c.isend(1, {1, &go}, 0);
    rank.wait(s);
    core::Request r = c.irecv(1, {1, &second}, 1);
    rank.wait(r);
    EXPECT_EQ(second, std::byte{'x'});
    EXPECT_EQ(first, std::byte{0}) << "the cancelled receive took nothing";
    // 'y' then 'z' on one tag: once the second receive is done, the first has its data.
    core::Request ry = c.irecv(1, {1, &third}, 1);
    core::Request rz = c.irecv(1, {1, &fourth}, 1);
    rank.wait(rz);
    EXPECT_FALSE(rank.cancel(ry));
    EXPECT_FALSE(ry.pending());
    EXPECT_EQ(third, std::byte{'y'});
    EXPECT_EQ(fourth, std::byte{'z'});
  } else if (rank.rank() == 1) {
    std::byte got{0};
    core::Request g = c.irecv(0, {1, &got}, 0);
    rank.wait(g);
    std::vector<core::Request> sends;
    sends.push_back(c.isend(0, {1, &x}, 1));
    sends.push_back(c.isend(0, {1, &y}, 1));
    sends.push_back(c.isend(0, {1, &z}, 1));
    rank.wait_all(sends);
  }
}

TEST_F(MpiRankTest, SendsCannotBeCancelled) {
  core::Rank& rank = *rank_;
  if (rank.rank() != 0) return;
  std::byte x{'x'};
  core::Request s = rank.isend(0, {1, &x}, 9);  // to itself
  EXPECT_THROW(rank.cancel(s), core::ValueError);
  std::byte got{0};
  core::Request r = rank.irecv(0, {1, &got}, 9);
  rank.wait(r);
  rank.wait(s);
  EXPECT_EQ(got, std::byte{'x'});
}

}  // namespace
}  // namespace dmlsim

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
