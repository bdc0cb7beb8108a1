#include "strategies/collectives/rail_rings.hpp"

#include <fmt/format.h>

#include "strategies/collectives/algorithm.hpp"
#include "strategies/collectives/ring.hpp"

namespace dmlsim::strategies {

int rail_ring_member(int position, int g, int channel) {
  return position / g * g + (position % g + channel) % g;
}

int rail_ring_position(int member, int g, int channel) {
  return member / g * g + ((member % g - channel) % g + g) % g;
}

namespace {

// One channel: a ring all-reduce over the channel's order on the slice at `offset`, its peers
// and ranges put back into the group's indices and the whole buffer.
class ChannelRing final : public core::Schedule {
 public:
  ChannelRing(int n, int g, int channel, int index, std::uint64_t count, std::uint64_t offset)
      : Schedule("all-reduce", "rail-rings", n, index, count),
        g_(g),
        channel_(channel),
        offset_(offset),
        ring_(n, rail_ring_position(index, g, channel), count) {}

  std::size_t rounds() const override { return ring_.rounds(); }
  void round(std::size_t t, std::vector<core::Op>& out) const override {
    const std::size_t first = out.size();
    ring_.round(t, out);
    for (std::size_t k = first; k < out.size(); ++k) {
      out[k].peer = rail_ring_member(out[k].peer, g_, channel_);
      out[k].range.offset += offset_;
    }
  }
  std::vector<core::RoundSpan> mergeable_spans() const override { return ring_.mergeable_spans(); }
  std::vector<core::PeerTraffic> traffic(core::RoundSpan span) const override {
    std::vector<core::PeerTraffic> out = ring_.traffic(span);
    for (core::PeerTraffic& p : out) p.peer = rail_ring_member(p.peer, g_, channel_);
    return out;
  }

 private:
  int g_;
  int channel_;
  std::uint64_t offset_;
  RingAllReduce ring_;
};

}  // namespace

core::SchedulePtr make_rail_rings_all_reduce(int n, int index, std::uint64_t count,
                                             const CollectiveOptions& options) {
  const int g = options.local_size;
  std::vector<core::SequenceSchedule::Part> channels;
  for (int c = 0; c < g; ++c) {
    const core::ElementRange slice =
        core::chunk_range(count, static_cast<std::uint64_t>(g), static_cast<std::uint64_t>(c));
    channels.push_back({std::make_shared<ChannelRing>(n, g, c, index, slice.count, slice.offset),
                        core::Embedding{0, 1, 0}, ""});
  }
  return std::make_shared<core::ParallelSchedule>("all-reduce", "rail-rings", n, index, count,
                                                  std::move(channels));
}

const AlgorithmDescriptor kRailRingsAlgorithm{
    "rail-rings",
    collective_bit(Collective::all_reduce),
    "one ring per local GPU (NCCL's channels), each entering a node at its GPU and leaving by the "
    "previous one: every NIC rail carries a ring each way",
    [](Collective, int n, const CollectiveOptions& options) -> std::optional<AlgorithmProblem> {
      return whole_nodes_problem("rail-rings", n, options);
    },
    [](Collective, int n, int index, std::uint64_t count, std::uint32_t, const CollectiveOptions& options)
        -> core::SchedulePtr { return make_rail_rings_all_reduce(n, index, count, options); },
    [](Collective, int n, std::uint64_t count, std::uint32_t element_bytes, const PathClasses& paths,
       const CollectiveOptions& options) {
      const std::uint64_t slice =
          core::chunk_range(count, static_cast<std::uint64_t>(options.local_size), 0).count;
      // g messages of the largest chunk through one port of g × a message's bandwidth.
      const double chunk = max_chunk_bytes(slice, static_cast<std::uint64_t>(n), element_bytes);
      return ring_steps(2 * (n - 1), options.local_size * chunk, paths.rail_rings);
    },
    [](const PathClasses& paths) { return paths.rail_rings; }};

}  // namespace dmlsim::strategies
