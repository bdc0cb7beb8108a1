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

}  // namespace
}  // namespace dmlsim
