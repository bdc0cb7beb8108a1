// The simulator against the algorithms' data and their closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "sim_helpers.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/collectives/cost.hpp"
#include "strategies/collectives/ring.hpp"
#include "strategies/collectives/verify.hpp"

namespace dmlsim {
namespace {

using strategies::Collective;
using testing::experiment_from_yaml;
using testing::star_platform;

struct Algo {
  Collective collective;
  std::string algorithm;
};

void PrintTo(const Algo& a, std::ostream* os) {
  *os << strategies::to_string(a.collective) << " " << a.algorithm;
}

std::vector<Algo> every_algorithm() {
  std::vector<Algo> out;
  for (Collective c : strategies::kAllCollectives) {
    for (std::string_view a : strategies::algorithms(c)) out.push_back({c, std::string(a)});
  }
  return out;
}

std::string algo_name(const Algo& a) {
  std::string s = fmt::format("{}_{}", strategies::to_string(a.collective), a.algorithm);
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

// Hierarchical and rail rings need whole nodes: on a star, pretend nodes of 2 hosts (or 1 for odd
// n); rail rings of 4 where n allows, so that 4 channels cross 2 or 4 "nodes".
int local_size_for(const Algo& a, int n) {
  if (a.algorithm == "rail-rings") return n % 4 == 0 ? 4 : n % 2 == 0 ? 2 : 1;
  return a.algorithm == "hierarchical" ? (n % 2 == 0 ? 2 : 1) : 1;
}

bool applies(const Algo& a, int n) {
  strategies::CollectiveOptions o;
  o.local_size = local_size_for(a, n);
  try {
    strategies::validate_algorithm(a.collective, a.algorithm, n, o);
    return true;
  } catch (const core::ValueError&) {
    return false;
  }
}

std::string collective_experiment(const Algo& a, int n, std::uint64_t bytes,
                                  const std::string& extra_sim = "") {
  return fmt::format(R"(
experiment:
  platform: {}
  strategy: {{type: collective, collective: {}, algorithm: {}, size: {}B, local_size: {}}}
  simulation: {{trace: phases{}}}
)",
                     star_platform(n), strategies::to_string(a.collective), a.algorithm, bytes,
                     local_size_for(a, n), extra_sim);
}

// ---------------------------------------------------------------------------------------------
// Payload mode: real bytes move and every member checks its result (the strategy throws if not).

class PayloadCorrectness : public ::testing::TestWithParam<std::tuple<Algo, int>> {};

TEST_P(PayloadCorrectness, EveryMemberHoldsTheRightResult) {
  const auto& [algo, n] = GetParam();
  // 1000 + n floats: not a multiple of n, of the pipeline chunk, nor of a power of two.
  const std::uint64_t count = 1000 + static_cast<std::uint64_t>(n);
  std::string yaml = collective_experiment(algo, n, count * 4, ", payload: true, fidelity: steps");
  // Small tree chunks so pipelined trees really pipeline.
  yaml.replace(yaml.find("local_size"), 0, "tree_chunk: 256B, ");
  const core::Experiment e = experiment_from_yaml(yaml);
  EXPECT_NO_THROW(testing::simulate_strategy(e));
}

// Every algorithm with every group size it accepts (halving-doubling reduce-scatter and
// all-gather need powers of two).
std::vector<std::tuple<Algo, int>> payload_cases() {
  std::vector<std::tuple<Algo, int>> cases;
  for (const Algo& a : every_algorithm()) {
    for (int n : {1, 2, 3, 4, 5, 7, 8, 16}) {
      if (applies(a, n)) cases.emplace_back(a, n);
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Sim, PayloadCorrectness, ::testing::ValuesIn(payload_cases()),
                         [](const auto& param_info) {
                           return fmt::format("{}_n{}", algo_name(std::get<0>(param_info.param)),
                                              std::get<1>(param_info.param));
                         });

// A ring that copies where it should add: the payload check must catch it.
class BrokenRing final : public core::Schedule {
 public:
  BrokenRing(int n, int i, std::uint64_t count)
      : Schedule("all-reduce", "broken", n, i, count), ring_(n, i, count) {}
  std::size_t rounds() const override { return ring_.rounds(); }
  void round(std::size_t t, std::vector<core::Op>& out) const override {
    ring_.round(t, out);
    for (core::Op& op : out) {
      if (op.kind == core::OpKind::recv_reduce && t == 0) op.kind = core::OpKind::recv_copy;
    }
  }

 private:
  strategies::RingAllReduce ring_;
};

TEST(PayloadCorrectness, ABrokenAlgorithmIsCaught) {
  const core::Experiment e =
      experiment_from_yaml(fmt::format("experiment: {{platform: {}, strategy: {{type: collective, size: "
                                       "4KiB}}, simulation: {{payload: true}}}}",
                                       star_platform(4)));
  std::vector<std::string> problems(4);
  sim::simulate(e, [&](core::Rank& rank) {
    const int n = rank.size(), me = rank.rank();
    std::vector<float> data(1024);
    strategies::fill_test_input(me, data);
    BrokenRing broken(n, me, data.size());
    rank.run(broken, core::Group::world(n), {data.size(), 4, data.data()}, 0);
    problems[static_cast<std::size_t>(me)] =
        strategies::check_test_output(Collective::all_reduce, n, me, data);
  });
  for (const std::string& p : problems) EXPECT_NE(p, "");
}

// ---------------------------------------------------------------------------------------------
// Time: on a star (link bandwidth B, latency L: α = 2L, one bottleneck B) every collective takes
// its closed form. Tolerance 0.5 %.

class ClosedFormOnStar : public ::testing::TestWithParam<std::tuple<Algo, int, std::uint64_t>> {};

TEST_P(ClosedFormOnStar, SimulatedTimeMatches) {
  const auto& [algo, n, bytes] = GetParam();
  const core::Experiment e = experiment_from_yaml(collective_experiment(algo, n, bytes, ", fidelity: steps"));
  const sim::SimResult r = testing::simulate_strategy(e);
  // α = 2 × 1 µs, B = 10 Gbit/s; intra = inter on a star.
  const strategies::AlphaBeta ab{2e-6, 10e9 / 8};
  strategies::CollectiveOptions o;
  o.local_size = local_size_for(algo, n);
  const double expected = strategies::collective_cost(algo.collective, algo.algorithm, n, bytes / 4, 4,
                                                      strategies::PathClasses::uniform(ab), o)
                              .total();
  EXPECT_NEAR(r.simulated_seconds / expected, 1.0, 0.005)
      << "simulated " << r.simulated_seconds << " s, closed form " << expected << " s";
}

// Every algorithm with every group size it accepts (no case skips at run time).
std::vector<std::tuple<Algo, int, std::uint64_t>> closed_form_cases() {
  std::vector<std::tuple<Algo, int, std::uint64_t>> cases;
  for (const Algo& a : every_algorithm()) {
    for (int n : {2, 4, 8, 16, 64}) {
      if (!applies(a, n)) continue;
      for (std::uint64_t bytes : {std::uint64_t{1} << 10, std::uint64_t{1} << 20, std::uint64_t{256} << 20})
        cases.emplace_back(a, n, bytes);
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Sim, ClosedFormOnStar, ::testing::ValuesIn(closed_form_cases()),
                         [](const auto& param_info) {
                           const std::uint64_t bytes = std::get<2>(param_info.param);
                           return fmt::format("{}_n{}_{}", algo_name(std::get<0>(param_info.param)),
                                              std::get<1>(param_info.param),
                                              bytes >= (1u << 20) ? fmt::format("{}MiB", bytes >> 20)
                                                                  : fmt::format("{}KiB", bytes >> 10));
                         });

// Rail rings on two DGX H100-class nodes: every NIC carries a ring each way (a single ring crosses
// one NIC per node boundary), the simulation is the closed form, and on one node the rings take
// the plain ring's time. (One simulation per test: SimGrid runs one per process.)
core::Experiment dgx_all_reduce(const char* algorithm, int ranks) {
  return experiment_from_yaml(fmt::format(R"(
experiment:
  platform: {}/platforms/dgx-h100-64.yaml
  ranks: {}
  strategy: {{type: collective, collective: all-reduce, algorithm: {}, size: 256MiB}}
  simulation: {{fidelity: steps}}
)",
                                          DMLSIM_SOURCE_DIR, ranks, algorithm));
}

int node0_nics_sending(const sim::SimResult& r) {
  int used = 0;
  for (const core::LinkUsage& l : r.links) {
    if (l.name.starts_with("node0.") && l.name.ends_with(".nic_UP") && l.bytes > 0) ++used;
  }
  return used;
}

TEST(RailRings, AcrossNodesEveryNicCarriesARingAsTheClosedFormSays) {
  const core::Experiment e = dgx_all_reduce("rail-rings", 16);
  const sim::SimResult r = testing::simulate_strategy(e);
  EXPECT_EQ(node0_nics_sending(r), 8);
  EXPECT_NEAR(r.simulated_seconds / strategies::make_strategy(e)->predict().iteration_seconds, 1.0, 1e-3);
}

TEST(RailRings, ASingleRingCrossesOneNicPerNode) {
  EXPECT_EQ(node0_nics_sending(testing::simulate_strategy(dgx_all_reduce("ring", 16))), 1);
}

TEST(RailRings, OnOneNodeTheyAreThePlainRing) {
  const double rails = testing::simulate_strategy(dgx_all_reduce("rail-rings", 8)).simulated_seconds;
  const double ring = strategies::make_strategy(dgx_all_reduce("ring", 8))->predict().iteration_seconds;
  EXPECT_NEAR(rails / ring, 1.0, 1e-6);
}

}  // namespace
}  // namespace dmlsim
