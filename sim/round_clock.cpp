#include "sim/round_clock.hpp"

#include <algorithm>

namespace dmlsim::sim {

std::vector<double> round_by_round_ends(std::vector<double> start,
                                        std::span<const std::vector<RoundMessage>> rounds) {
  std::vector<double> ended = std::move(start);
  std::vector<double> next;
  for (const std::vector<RoundMessage>& round : rounds) {
    next = ended;
    for (const RoundMessage& m : round) {
      const double end = std::max(ended[m.src], ended[m.dst]) + m.seconds;
      next[m.src] = std::max(next[m.src], end);
      next[m.dst] = std::max(next[m.dst], end);
    }
    ended.swap(next);
  }
  return ended;
}

}  // namespace dmlsim::sim
