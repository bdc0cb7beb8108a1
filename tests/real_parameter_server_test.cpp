// The parameter server on the real backend (Open MPI processes): the same strategy source moves
// real bytes and every worker pulls what it must — sync (sharded and colocated), async and ssp —
// on this machine and on a shaped namespace testbed.
#include <gtest/gtest.h>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

// 6 hosts; odd layer sizes, 4 KiB buckets and 1000-byte chunks: many buckets and uneven pieces.
// Payload mode: each worker checks what it pulled after every iteration (sync: exactly the sum of
// all workers' gradients), each asynchronous server checks that it applied every update once; a
// wrong value fails the rank and the run.
// `workers`: the experiment's ranks; dedicated servers are ranks after them.
std::string experiment(int workers, const std::string& strategy) {
  return fmt::format(R"(experiment:
  platform: {{topology: star, hosts: 6, link: {{bandwidth: 1Gbps, latency: 50us}}, device: cpu}}
  model: {{type: mlp, widths: [37, 29, 23, 11], batch: 3, dtype: fp32}}
  ranks: {}
  iterations: 3
  strategy: {{type: parameter-server, bucket_size: 4KiB, chunk_size: 1000B, {}}}
  simulation: {{payload: true, trace: phases}}
)",
                     workers, strategy);
}

struct Case {
  std::string name;
  int workers;
  int ranks;  // every rank the run starts: the workers and the dedicated servers
  std::string strategy;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class RealParameterServer : public ::testing::TestWithParam<Case> {};

TEST_P(RealParameterServer, EveryWorkerPullsWhatItMust) {
  const Case& c = GetParam();
  ScratchDir scratch("real-ps");
  write_file(scratch / "e.yaml", experiment(c.workers, c.strategy));
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--local",
                             "--timeout", "120", "--out", (scratch / "out").string()},
                            scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto summary = testing::read_json(scratch / "out" / "summary.json");
  EXPECT_EQ(summary["backend"], "real");
  EXPECT_EQ(summary["ranks"], c.ranks);
  EXPECT_EQ(summary["iterations_s"].size(), 3u);
  // Every worker's iterations, exchanges and (async, ssp) updates, as the simulator has them.
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", c.ranks, scratch);
}

INSTANTIATE_TEST_SUITE_P(Real, RealParameterServer,
                         ::testing::Values(Case{"sync_two_servers", 3, 5, "mode: sync, servers: 2"},
                                           Case{"sync_colocated", 4, 4,
                                                "mode: sync, servers: 3, server_placement: colocated"},
                                           Case{"async", 3, 5, "mode: async, servers: 2"},
                                           Case{"ssp", 3, 5, "mode: ssp, staleness: 1, servers: 2"}),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(TestbedParameterServer, ShardedAndStaleSynchronousOnAShapedNetwork) {
  // The same small configuration on a temporary namespace testbed shaped like the platform.
  DMLSIM_REQUIRE_ROOT();
  for (const char* strategy : {"mode: sync, servers: 2", "mode: ssp, staleness: 1, servers: 2"}) {
    ScratchDir scratch("testbed-ps");
    write_file(scratch / "e.yaml", experiment(3, strategy));  // 3 workers and 2 servers
    const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--timeout", "200",
                               "--out", (scratch / "out").string()},
                              scratch);
    ASSERT_EQ(r.exit_code, 0) << strategy << ": " << r.err << r.out;
    EXPECT_EQ(testing::read_json(scratch / "out" / "summary.json")["backend"], "real");
    SCOPED_TRACE(strategy);
    testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "out", 5, scratch);
  }
}

}  // namespace
}  // namespace dmlsim
