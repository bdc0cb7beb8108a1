// Requests in the simulator: waiting with a deadline and withdrawing a receive.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "sim_helpers.hpp"

namespace dmlsim {
namespace {

core::Experiment star(int hosts) {
  return testing::experiment_from_yaml(
      fmt::format("experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}, simulation: "
                  "{{payload: true}}}}",
                  testing::star_platform(hosts, "10Gbps", "1us")));
}

// Clients 1, 2, 3 compute 1, 2 and 5 ms, then send 1 KiB; the server waits until a 3 ms deadline:
// it gets clients 1 and 2, the wait ends exactly at the deadline, the third receive is withdrawn,
// and the late update is then taken by a receive posted afterwards (it was not lost to the
// cancelled one).
TEST(SimRequests, ADeadlineTakesWhatHasArrivedAndTheRestIsCancelled) {
  const core::Experiment e = star(4);
  std::vector<int> arrived;
  double deadline_reached = -1, late_at = -1;
  bool withdrawn = false;
  std::vector<std::byte> late(1024);
  sim::simulate(e, [&](core::Rank& rank) {
    core::Communicator c = rank.communicator(core::Group::world(4), "round");
    if (rank.rank() == 0) {
      std::vector<std::vector<std::byte>> data(3, std::vector<std::byte>(1024));
      std::vector<core::Request> r;
      for (int k = 1; k <= 3; ++k)
        r.push_back(c.irecv(k, {1024, data[static_cast<std::size_t>(k - 1)].data()}));
      for (;;) {
        const auto got = rank.wait_any_for(r, 3e-3 - rank.now());
        if (!got) break;
        arrived.push_back(static_cast<int>(*got) + 1);
      }
      deadline_reached = rank.now();
      withdrawn = rank.cancel(r[2]);
      core::Request again = c.irecv(3, {1024, late.data()});
      rank.wait(again);
      late_at = rank.now();
    } else {
      rank.sleep(rank.rank() == 3 ? 5e-3 : rank.rank() * 1e-3);
      std::vector<std::byte> update(1024, std::byte(rank.rank()));
      core::Request s = c.isend(0, {1024, update.data()});
      rank.wait(s);
    }
  });
  EXPECT_EQ(arrived, (std::vector<int>{1, 2}));
  EXPECT_DOUBLE_EQ(deadline_reached, 3e-3);
  EXPECT_TRUE(withdrawn);
  EXPECT_EQ(late[0], std::byte{3});
  // 5 ms of compute, then α = 2 µs and 1 KiB at 10 Gbit/s.
  EXPECT_NEAR(late_at, 5e-3 + 2e-6 + 1024 * 8 / 10e9, 1e-12);
}

// A receive that a message has already matched is not withdrawn: cancel returns false and the
// data is there.
TEST(SimRequests, AMatchedReceiveCompletesInsteadOfBeingCancelled) {
  const core::Experiment e = star(2);
  bool withdrawn = true;
  std::byte got{0};
  sim::simulate(e, [&](core::Rank& rank) {
    core::Communicator c = rank.communicator(core::Group::world(2), "pair");
    if (rank.rank() == 0) {
      core::Request r = c.irecv(1, {1, &got});
      rank.sleep(1e-3);  // the message was sent at 0 and has arrived
      withdrawn = rank.cancel(r);
      EXPECT_FALSE(r.pending());
    } else {
      std::byte x{'x'};
      core::Request s = c.isend(0, {1, &x});
      rank.wait(s);
    }
  });
  EXPECT_FALSE(withdrawn);
  EXPECT_EQ(got, std::byte{'x'});
}

TEST(SimRequests, SendsCannotBeCancelled) {
  const core::Experiment e = star(2);
  try {
    sim::simulate(e, [](core::Rank& rank) {
      std::byte x{'x'};
      if (rank.rank() == 0) {
        core::Request s = rank.isend(1, {1, &x}, 0);
        rank.cancel(s);
      } else {
        core::Request r = rank.irecv(0, {1, &x}, 0);
        rank.wait(r);
      }
    });
    FAIL() << "expected an error";
  } catch (const core::ValueError& err) {
    EXPECT_STREQ(err.what(), "a send cannot be cancelled, only a receive");
  }
}

// Rank::agree: every rank gets member 0's values whatever the order the ranks arrive in, and no
// rank's clock moves. Ranks 0..3 are 3, 2, 1 and 0 ms into their work; rank 0 first takes a message
// from rank 1, so it reaches the agreement at 3 ms of simulated time while ranks 2 and 3 have waited
// for it there since 0: their own clocks stay at 1 and 0 ms, and go on from there. An agreement over
// ranks {1, 2} has rank 1 as its member 0.
TEST(SimRequests, AnAgreementGivesMemberZerosValuesAndCostsNoTime) {
  const core::Experiment e = star(4);
  std::vector<double> got(8, -1), before(4, -1), after(4, -1), later(4, -1);
  sim::simulate(e, [&](core::Rank& rank) {
    const int r = rank.rank();
    rank.sleep(0.001 * (3 - r));
    std::byte byte{};
    if (r == 1) {
      core::Request send = rank.isend(0, {1, &byte}, 5);
      rank.wait(send);
    } else if (r == 0) {
      core::Request recv = rank.irecv(1, {1, &byte}, 5);
      rank.wait(recv);
    }
    before[static_cast<std::size_t>(r)] = rank.now();
    double values[2] = {10.0 * r, 10.0 * r + 1};
    rank.agree(core::Group::world(4), values);
    after[static_cast<std::size_t>(r)] = rank.now();
    got[static_cast<std::size_t>(2 * r)] = values[0];
    got[static_cast<std::size_t>(2 * r + 1)] = values[1];
    if (r == 1 || r == 2) {
      double pair[1] = {static_cast<double>(r)};
      rank.agree(core::Group::strided(1, 2), pair);
      EXPECT_EQ(pair[0], 1.0) << "rank " << r;
    }
    rank.sleep(0.001);
    later[static_cast<std::size_t>(r)] = rank.now();
  });
  EXPECT_EQ(got, (std::vector<double>{0, 1, 0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(before, after);
  EXPECT_NEAR(before[0], 0.003, 1e-5);
  EXPECT_DOUBLE_EQ(before[2], 0.001);
  EXPECT_DOUBLE_EQ(before[3], 0);
  for (int r = 0; r < 4; ++r)
    EXPECT_NEAR(later[static_cast<std::size_t>(r)], before[static_cast<std::size_t>(r)] + 0.001, 1e-12);
}

}  // namespace
}  // namespace dmlsim
