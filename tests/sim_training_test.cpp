// Compute costs and data-parallel training in the simulator against hand-computed expectations.
#include <gtest/gtest.h>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "core/phase_stats.hpp"
#include "core/summary.hpp"
#include "sim_helpers.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim {
namespace {

// A device with round numbers: 1 TFLOP/s in fp32 at full efficiency, memory fast enough that
// every kernel below is compute-bound.
const char* kDevice = R"({name: round, peak: {fp32: 1TFLOPS}, memory_bandwidth: 1000TBps, memory: 80GB})";

TEST(SimCompute, KernelsTakeTheirRooflineTime) {
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(R"(
experiment:
  platform: {{topology: star, hosts: 2, link: {{bandwidth: 10Gbps, latency: 1us}},
             device: {{name: d, peak: {{fp32: 2TFLOPS, fp16: 8TFLOPS}}, memory_bandwidth: 100GBps, memory: 8GB,
                      efficiency: {{compute: 0.5, memory: 0.8}}, launch_overhead: 4us}}}}
  strategy: {{type: collective, size: 4KiB}}
  slowdown: {{1: 3}}
)"));
  const sim::SimResult r = sim::simulate(e, [](core::Rank& rank) {
    rank.compute(core::gemm("gemm", 2048, 2048, 2048, core::DType::fp16));
    rank.compute(core::elementwise("ew", 50'000'000, core::DType::fp16, 1, 2));
  });
  // GEMM: 2·2048³ flops at 8 TFLOP/s × 0.5 (memory 3·2048²·2 B at 80 GB/s is less) + 4 µs.
  const double gemm = 4e-6 + 2.0 * 2048 * 2048 * 2048 / 4e12;
  // Elementwise: 5e7 × 2 accesses × 2 B at 100 GB/s × 0.8 (flops at fp32 2 TFLOP/s × 0.5 are less).
  const double ew = 4e-6 + 50e6 * 2 * 2 / 80e9;
  auto took = [&](int rank, std::string_view name) {
    for (const core::TraceEvent& ev : r.trace.events()) {
      if (ev.lane == core::Lane::compute && ev.rank == rank && r.trace.text(ev.name) == name)
        return ev.duration();
    }
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(took(0, "gemm"), gemm);
  EXPECT_DOUBLE_EQ(took(0, "ew"), ew);
  EXPECT_NEAR(took(1, "gemm"), 3 * gemm, 1e-15);  // rank 1 is 3x slower
  EXPECT_NEAR(took(1, "ew"), 3 * ew, 1e-15);
}

std::string dp_experiment(bool overlap, const std::string& extra = "") {
  return fmt::format(R"(
experiment:
  platform: {{topology: star, hosts: 2, link: {{bandwidth: 10Gbps, latency: 1us}}, device: {}}}
  model: {{type: mlp, widths: [1024, 1024, 1024], batch: 128, dtype: fp32}}
  iterations: 2
  strategy: {{type: data-parallel, allreduce: ring, bucket_size: 4MiB, overlap: {}}}
  simulation: {{fidelity: steps}}
  {}
)",
                     kDevice, overlap ? "true" : "false", extra);
}

// Hand-computed: per layer, forward = GEMM(128×1024×1024) + bias/ReLU (2 flops × 131072);
// backward = its gradient (2 flops × 131072) + two GEMMs of the same size. Each layer has
// 1024² + 1024 parameters = 4 198 400 B > 4 MiB, so each layer is its own bucket; a 2-rank ring
// all-reduce of S bytes takes 2·(α + (S/2)/B) with α = 2 µs, B = 1.25 GB/s. Adam: 12 flops/param.
struct Expected {
  double gemm = 2.0 * 128 * 1024 * 1024 / 1e12;
  double elementwise = 2.0 * 128 * 1024 / 1e12;
  double forward_layer = gemm + elementwise;
  double backward_layer = elementwise + 2 * gemm;
  double bucket_bytes = (1024.0 * 1024 + 1024) * 4;
  double allreduce = 2 * (2e-6 + bucket_bytes / 2 / 1.25e9);
  double optimizer = 12 * 2 * (1024.0 * 1024 + 1024) / 1e12;
};

// A ping-pong's round trips are phases named "pingpong" with the message size in `bytes`; each
// lasts 2·(α + S/B) on a star (α = 2 × 5 µs, B = 1 Gbps), the term `explain` shows for its label.
TEST(SimPingPong, EveryRoundTripCarriesItsSizeAndTakesTheClosedForm) {
  const core::Experiment e =
      testing::experiment_from_yaml(fmt::format(R"(experiment:
  name: pp
  ranks: 2
  platform: {}
  strategy: {{type: pingpong, sizes: [1KiB, 16MiB], repeats: 2}}
  simulation: {{trace: phases}}
)",
                                                testing::star_platform(2, "1Gbps", "5us")));
  const core::Trace trace = testing::simulate_strategy(e).trace;
  const strategies::Prediction p = strategies::make_strategy(e)->predict();
  std::map<std::uint64_t, int> trips;
  for (const core::TraceEvent& ev : trace.events()) {
    if (ev.lane != core::Lane::phase || trace.text(ev.name) != "pingpong") continue;
    ++trips[ev.bytes];
    const double closed_form = 2 * (10e-6 + static_cast<double>(ev.bytes) * 8 / 1e9);
    EXPECT_NEAR(ev.duration() / closed_form, 1.0, 1e-6) << ev.bytes << " bytes on rank " << ev.rank;
    const std::string label = core::phase_label("pingpong", ev.bytes);
    const auto term =
        std::find_if(p.terms.begin(), p.terms.end(), [&](const auto& t) { return t.name == label; });
    ASSERT_NE(term, p.terms.end()) << label;
    EXPECT_NEAR(term->seconds / closed_form, 1.0, 1e-6) << label;
  }
  EXPECT_EQ(trips, (std::map<std::uint64_t, int>{{1024, 4}, {16 << 20, 4}}))
      << "2 repeats × 2 ranks per size";
}

TEST(SimDataParallel, WithoutOverlapEveryAllReduceIsExposed) {
  const core::Experiment e = testing::experiment_from_yaml(dp_experiment(false));
  const core::RunSummary s = core::summarize(testing::simulate_strategy(e).trace, {});
  const Expected x;
  const double expected = 2 * x.forward_layer + 2 * x.backward_layer + 2 * x.allreduce + x.optimizer;
  ASSERT_EQ(s.iteration_seconds.size(), 2u);
  for (double t : s.iteration_seconds) EXPECT_NEAR(t / expected, 1.0, 1e-9);
  EXPECT_NEAR(s.exposed_mean / (2 * x.allreduce), 1.0, 1e-9);
  EXPECT_NEAR(strategies::make_strategy(e)->predict().iteration_seconds / expected, 1.0, 1e-9);
}

TEST(SimDataParallel, OverlapHidesTheAllReduceBehindBackward) {
  const core::Experiment e = testing::experiment_from_yaml(dp_experiment(true));
  const core::RunSummary s = core::summarize(testing::simulate_strategy(e).trace, {});
  const Expected x;
  // Bucket 0 (last layer) starts when that layer's backward ends; layer 0's backward runs under
  // it; bucket 1 follows bucket 0 on the stream.
  const double expected = 2 * x.forward_layer + x.backward_layer + 2 * x.allreduce + x.optimizer;
  for (double t : s.iteration_seconds) EXPECT_NEAR(t / expected, 1.0, 1e-9);
  const double without_overlap = expected + x.backward_layer;
  EXPECT_LT(s.iteration_mean, without_overlap - 0.9 * x.backward_layer);  // a whole layer's backward hidden
  EXPECT_NEAR(strategies::make_strategy(e)->predict().iteration_seconds / expected, 1.0, 1e-9);
}

// Gradient accumulation (accumulation: 3, DDP's no_sync): three forward and backward passes per
// iteration, the buckets exchanged only in the last one's backward (overlapped as above), the
// throughput three micro-batches per rank.
TEST(SimDataParallel, AccumulationRunsMicroBatchesAndExchangesTheBucketsOnce) {
  std::string yaml = dp_experiment(true);
  const std::string overlap = "overlap: true}";
  yaml.replace(yaml.find(overlap), overlap.size(), "overlap: true, accumulation: 3}");
  const core::Experiment e = testing::experiment_from_yaml(yaml);
  const sim::SimResult r = testing::simulate_strategy(e);
  const auto strategy = strategies::make_strategy(e);
  const core::RunSummary s = core::summarize(r.trace, {}, strategy->roles());
  const Expected x;
  const double one = 2 * x.forward_layer + x.backward_layer + 2 * x.allreduce + x.optimizer;
  const double expected = one + 2 * (2 * x.forward_layer + 2 * x.backward_layer);
  for (double t : s.iteration_seconds) EXPECT_NEAR(t / expected, 1.0, 1e-9);
  EXPECT_NEAR(strategy->predict().iteration_seconds / expected, 1.0, 1e-9);
  EXPECT_EQ(s.samples_per_iteration, 3 * 128 * 2);
  int forwards = 0, all_reduces = 0;
  for (const core::TraceEvent& ev : r.trace.events()) {
    if (ev.rank != 0) continue;
    if (ev.lane == core::Lane::phase && r.trace.text(ev.name) == "forward") ++forwards;
    if (ev.lane == core::Lane::collective && !core::is_collective_part(ev)) ++all_reduces;
  }
  EXPECT_EQ(forwards, 3 * 2) << "3 micro-batches × 2 iterations";
  EXPECT_EQ(all_reduces, 2 * 2) << "2 buckets, once per iteration";
}

// The "memory in use" counter: weights and gradients (fp32, 8 B/param) and Adam's two fp32
// moments (8 B/param) all along; the 128×1024 fp32 activations each layer saves (512 KiB) added
// when forward ends, and freed as each layer's backward ends.
TEST(SimDataParallel, MemoryInUseRisesByTheSavedActivationsAndFallsLayerByLayer) {
  const core::Experiment e = testing::experiment_from_yaml(dp_experiment(false));
  const sim::SimResult r = testing::simulate_strategy(e);
  const Expected x;
  const double resident = 16 * 2 * (1024.0 * 1024 + 1024);
  const double saved = 128 * 1024 * 4;
  const double iteration = 2 * x.forward_layer + 2 * x.backward_layer + 2 * x.allreduce + x.optimizer;
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<std::pair<double, double>> samples;  // (time, bytes)
    for (const core::TraceEvent& ev : r.trace.events()) {
      if (ev.rank != rank || ev.lane != core::Lane::counter) continue;
      EXPECT_EQ(r.trace.text(ev.name), "memory in use");
      EXPECT_EQ(ev.start, ev.end);
      samples.emplace_back(ev.start, ev.value);
    }
    ASSERT_EQ(samples.size(), 2u * 4) << "per iteration: forward's start and end, each layer's backward";
    for (int it = 0; it < 2; ++it) {
      const double t0 = it * iteration;
      const std::pair<double, double> expected[] = {
          {t0, resident},
          {t0 + 2 * x.forward_layer, resident + 2 * saved},
          {t0 + 2 * x.forward_layer + x.backward_layer, resident + saved},
          {t0 + 2 * x.forward_layer + 2 * x.backward_layer, resident}};
      for (int k = 0; k < 4; ++k) {
        const auto [time, bytes] = samples[static_cast<std::size_t>(4 * it + k)];
        EXPECT_NEAR(time, expected[k].first, 1e-12) << "iteration " << it << " sample " << k;
        EXPECT_EQ(bytes, expected[k].second) << "iteration " << it << " sample " << k;
      }
    }
  }
  // The peak is what the memory check and the prediction count.
  EXPECT_EQ(strategies::make_strategy(e)->predict().memory_per_device, resident + 2 * saved);
}

TEST(SimDataParallel, AStragglerSlowsEveryone) {
  const core::Experiment e = testing::experiment_from_yaml(dp_experiment(false, "slowdown: {1: 2}"));
  const core::RunSummary s = core::summarize(testing::simulate_strategy(e).trace, {});
  const Expected x;
  // Rank 1 computes twice as long; rank 0 waits for it inside the first all-reduce.
  const double expected =
      2 * (2 * x.forward_layer + 2 * x.backward_layer) + 2 * x.allreduce + 2 * x.optimizer;
  const double iteration1 = s.iteration_seconds[1];
  EXPECT_NEAR(iteration1 / expected, 1.0, 1e-9);
  EXPECT_GT(s.per_rank[0].exposed_seconds, s.per_rank[1].exposed_seconds);
}

class SimDataParallelPayload : public ::testing::TestWithParam<std::string> {};

TEST_P(SimDataParallelPayload, EveryGradientBucketIsSummed) {
  // The strategy checks every bucket's all-reduced values after every step and throws otherwise.
  std::string yaml = dp_experiment(true);
  yaml.replace(yaml.find("fidelity: steps"), 15, "payload: true");
  yaml.replace(yaml.find("allreduce: ring"), 15, "allreduce: " + GetParam());
  yaml.replace(yaml.find("hosts: 2"), 8, "hosts: 5");
  EXPECT_NO_THROW(testing::simulate_strategy(testing::experiment_from_yaml(yaml)));
}

INSTANTIATE_TEST_SUITE_P(Sim, SimDataParallelPayload,
                         ::testing::Values("ring", "tree", "double-binary-tree", "halving-doubling"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

}  // namespace
}  // namespace dmlsim

namespace dmlsim {
namespace {

TEST(SimErrors, AnErrorInOneRankStopsTheRunAndIsReported) {
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(
      "experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}}}", testing::star_platform(3)));
  try {
    sim::simulate(e, [](core::Rank& rank) {
      if (rank.rank() == 1) throw core::BackendError("rank 1 gave up");
      // The others wait for a message rank 1 never sends.
      std::vector<float> data(8);
      core::Request r = rank.irecv(1, {32, reinterpret_cast<std::byte*>(data.data())}, 0);
      rank.wait(r);
    });
    FAIL() << "expected the error";
  } catch (const core::BackendError& err) {
    EXPECT_STREQ(err.what(), "rank 1 gave up");
  }
}

TEST(SimErrors, ADeadlockIsReportedNamingTheStuckRanks) {
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(
      "experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}}}", testing::star_platform(3)));
  try {
    sim::simulate(e, [](core::Rank& rank) {
      if (rank.rank() == 2) return;  // finishes
      // Ranks 0 and 1 both receive first: neither ever sends. One also has a collective in flight.
      if (rank.rank() == 0) {
        core::Communicator pair = rank.communicator(core::Group::world(2), "pair");
        core::CollectiveHandle h =
            pair.start(strategies::make_schedule(strategies::Collective::all_reduce, "ring", 2, 0, 64, 4, {}),
                       {64, 4, nullptr});
        (void)h;
      }
      std::vector<std::byte> data(32);
      core::Request r = rank.irecv(1 - rank.rank(), {32, data.data()}, 0);
      rank.wait(r);
    });
    FAIL() << "expected the deadlock to be reported";
  } catch (const core::BackendError& err) {
    EXPECT_STREQ(err.what(), "deadlock: 2 rank(s) never finished (first: 0, 1); a message was never matched");
  }
}

}  // namespace
}  // namespace dmlsim

namespace dmlsim {
namespace {

TEST(SimRank, WaitAnyReturnsTheFirstMessageToArrive) {
  // Ranks 1 and 2 send to rank 0 after 3 ms and 1 ms of compute: rank 0 sees rank 2 first.
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(
      "experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}}}", testing::star_platform(3)));
  std::vector<std::size_t> order;
  sim::simulate(e, [&](core::Rank& rank) {
    std::vector<std::byte> data(1024);
    if (rank.rank() == 0) {
      std::vector<core::Request> r;
      r.push_back(rank.irecv(1, {1024, data.data()}, 0));
      r.push_back(rank.irecv(2, {1024, data.data()}, 0));
      order.push_back(rank.wait_any(r));
      order.push_back(rank.wait_any(r));
    } else {
      rank.sleep(rank.rank() == 1 ? 3e-3 : 1e-3);
      core::Request s = rank.isend(0, {1024, data.data()}, 0);
      rank.wait(s);
    }
  });
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 0}));
}

// Compute advances a rank's own clock and the actor sleeps it off lazily (sim_rank.hpp): a message
// sent after compute must still leave when the compute ends, and a run that ends computing must
// last until then.
TEST(SimRank, ComputeDelaysTheNextMessageAndTheEndOfTheRun) {
  const core::Experiment e = testing::experiment_from_yaml(fmt::format(
      "experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}}}", testing::star_platform(2)));
  const core::Kernel gemm = core::gemm("gemm", 1024, 1024, 1024, core::DType::fp32);
  double arrived = -1;
  const sim::SimResult r = sim::simulate(e, [&](core::Rank& rank) {
    std::vector<std::byte> data(1'000'000);
    if (rank.rank() == 0) {
      rank.compute(gemm);
      core::Request s = rank.isend(1, {data.size(), data.data()}, 0);
      rank.wait(s);
      rank.compute(gemm);
      rank.compute(gemm);
    } else {
      core::Request q = rank.irecv(0, {data.size(), data.data()}, 0);
      rank.wait(q);
      arrived = rank.now();
    }
  });
  const double kernel = e.platform.device.kernel_seconds(gemm);
  const double message = 2e-6 + 1e6 / 1.25e9;  // α = 2 × 1 µs, 10 Gbit/s
  EXPECT_NEAR(arrived, kernel + message, 1e-12);
  EXPECT_NEAR(r.simulated_seconds, 3 * kernel + message, 1e-12);
}

// How much of the trace is recorded must not change a single simulated time (with trace: none the
// simulator costs a layer's kernels as one block): the run of two overlapped iterations ends at
// the hand-computed time at every level of detail.
class SimTraceDetail : public ::testing::TestWithParam<std::string> {};

TEST_P(SimTraceDetail, DoesNotChangeTheTimes) {
  std::string yaml = dp_experiment(true);
  yaml.replace(yaml.find("fidelity: steps"), 15, "fidelity: steps, trace: " + GetParam());
  const Expected x;
  const double iteration = 2 * x.forward_layer + x.backward_layer + 2 * x.allreduce + x.optimizer;
  EXPECT_NEAR(
      testing::simulate_strategy(testing::experiment_from_yaml(yaml)).simulated_seconds / (2 * iteration),
      1.0, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Sim, SimTraceDetail, ::testing::Values("none", "phases", "kernels", "messages"));

}  // namespace
}  // namespace dmlsim
