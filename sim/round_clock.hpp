#pragma once
// When each member of a round-aligned collective ends its rounds, as `steps` fidelity makes it:
// the exact per-member times that `flows` fidelity gives back to its ranks after running a span
// of rounds as aggregated flows.
//
// In `steps` a round is: post every send and receive, wait for all. A message starts once both
// its sender and its receiver have posted it (SimGrid's rendezvous), so it starts at the later of
// their ends of the previous round and takes its own time; a member ends a round when the last of
// its messages ends, and a member without messages in a round ends it when it ended the one
// before. On a ring this makes a member downstream of a slow (NIC) hop end a few fast (NVLink)
// rounds after the slow hop's members, not together with them.
#include <cstdint>
#include <span>
#include <vector>

namespace dmlsim::sim {

struct RoundMessage {
  std::uint32_t src = 0;  // member indices in the group
  std::uint32_t dst = 0;
  double seconds = 0;  // its time alone: latency plus bytes at the rate its flow got
};

// `start[i]`: when member i posts its first round; `rounds[t]`: the messages of round t.
// Returns when each member ends the last round. O(members + messages) per round.
std::vector<double> round_by_round_ends(std::vector<double> start,
                                        std::span<const std::vector<RoundMessage>> rounds);

}  // namespace dmlsim::sim
