// Event attributes in the simulator: a phase's attributes reach every event inside it (kernels,
// messages, nested phases, which add their own) and collectives started on a stream inside it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/communicator.hpp"
#include "sim_helpers.hpp"
#include "strategies/collectives/collectives.hpp"

namespace dmlsim {
namespace {

TEST(SimAttributes, PhasesMarkEveryEventInside) {
  const core::Experiment e =
      testing::experiment_from_yaml(fmt::format("experiment: {{platform: {}, strategy: {{type: collective, "
                                                "size: 4KiB}}, simulation: {{trace: messages}}}}",
                                                testing::star_platform(2)));
  const sim::SimResult result = sim::simulate(e, [](core::Rank& rank) {
    core::Communicator pair = rank.communicator(core::Group::world(2), "pair");
    core::Phase step(rank, "step", 0, core::EventAttributes().set(core::Attribute::stage, rank.rank()));
    for (int m = 0; m < 2; ++m) {
      core::Phase forward(rank, "forward", -1, core::EventAttributes().set(core::Attribute::micro_batch, m));
      rank.compute(core::gemm("k", 64, 64, 64, core::DType::fp32));
      core::CollectiveHandle h =
          pair.start(pair.schedule(core::Collective::all_reduce, strategies::NamedAlgorithm("ring"), 64, 4),
                     {64, 4, nullptr});
      rank.wait(h);
    }
  });
  int kernels = 0, collectives = 0, messages = 0, forwards = 0;
  for (const core::TraceEvent& ev : result.trace.events()) {
    const std::string_view name = result.trace.text(ev.name);
    SCOPED_TRACE(::testing::Message() << name << " on rank " << ev.rank);
    EXPECT_EQ(ev.attributes.get(core::Attribute::stage), ev.rank) << "from the enclosing 'step'";
    if (name == "step") {
      EXPECT_EQ(ev.attributes.get(core::Attribute::micro_batch), -1);
      continue;
    }
    EXPECT_GE(ev.attributes.get(core::Attribute::micro_batch), 0);
    EXPECT_EQ(ev.attributes.get(core::Attribute::chunk), -1);
    kernels += ev.lane == core::Lane::compute;
    collectives += ev.lane == core::Lane::collective;
    messages += ev.lane == core::Lane::send || ev.lane == core::Lane::recv;
    forwards += name == "forward";
  }
  EXPECT_EQ(kernels, 4);
  EXPECT_EQ(forwards, 4);
  EXPECT_EQ(collectives, 4) << "on the stream, with the attributes of the phase that started them";
  EXPECT_EQ(messages, 16) << "2 ranks x 2 all-reduces x (2 sends + 2 receives)";
}

// Marks and counter samples sit at the rank's own time, with the enclosing phase's iteration and
// attributes; marks are kept from `phases` detail up, counters from `kernels` up, neither at `none`.
class SimMarks : public ::testing::TestWithParam<const char*> {};  // one simulation per process

TEST_P(SimMarks, AtTheRanksOwnTime) {
  const char* detail = GetParam();
  {
    const core::Experiment e = testing::experiment_from_yaml(
        fmt::format("experiment: {{platform: {}, strategy: {{type: collective, size: 4KiB}}, "
                    "simulation: {{trace: {}}}}}",
                    testing::star_platform(2), detail));
    const sim::SimResult result = sim::simulate(e, [](core::Rank& rank) {
      core::Phase step(rank, "step", 3, core::EventAttributes().set(core::Attribute::epoch, 7));
      rank.sleep(1e-3 * (rank.rank() + 1));
      rank.mark("checkpoint");
      rank.count("in flight", 2.5 * rank.rank());
    });
    int marks = 0, counters = 0;
    for (const core::TraceEvent& ev : result.trace.events()) {
      if (ev.lane != core::Lane::mark && ev.lane != core::Lane::counter) continue;
      (ev.lane == core::Lane::mark ? marks : counters) += 1;
      EXPECT_EQ(ev.start, 1e-3 * (ev.rank + 1));
      EXPECT_EQ(ev.end, ev.start);
      EXPECT_EQ(ev.iteration, 3);
      EXPECT_EQ(ev.attributes.get(core::Attribute::epoch), 7);
      EXPECT_EQ(result.trace.text(ev.name), ev.lane == core::Lane::mark ? "checkpoint" : "in flight");
      if (ev.lane == core::Lane::counter) {
        EXPECT_EQ(ev.value, 2.5 * ev.rank);
      }
    }
    const std::string_view d = detail;
    EXPECT_EQ(marks, d == "none" ? 0 : 2);
    EXPECT_EQ(counters, d == "kernels" ? 2 : 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Detail, SimMarks, ::testing::Values("none", "phases", "kernels"));

}  // namespace
}  // namespace dmlsim
