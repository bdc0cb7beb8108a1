#pragma once
// Known inputs and the expected outputs of every collective, so that payload-mode runs (simulated
// or real) can check that an algorithm really sums, gathers or broadcasts.
#include <cstdint>
#include <span>
#include <string>

#include "strategies/collectives/collectives.hpp"

namespace dmlsim::strategies {

// Member i's input at element k: small integers, so float sums are exact in any order.
float test_input(int member, std::uint64_t k);
void fill_test_input(int member, std::span<float> data);
// Empty when member `member` of `n` holds what `collective` must leave it with, else the first
// wrong element, expected and found values.
std::string check_test_output(Collective collective, int n, int member, std::span<const float> data);

}  // namespace dmlsim::strategies
