#include "strategies/collectives/verify.hpp"

#include <fmt/format.h>

#include "core/schedule.hpp"

namespace dmlsim::strategies {

float test_input(int member, std::uint64_t k) {
  return static_cast<float>(member * 1000 + static_cast<int>(k % 997) + 1);
}

void fill_test_input(int member, std::span<float> data) {
  for (std::uint64_t k = 0; k < data.size(); ++k) data[k] = test_input(member, k);
}

std::string check_test_output(Collective collective, int n, int member, std::span<const float> data) {
  const std::uint64_t count = data.size();
  const auto un = static_cast<std::uint64_t>(n);
  const core::ElementRange own = core::chunk_range(count, un, static_cast<std::uint64_t>(member));
  for (std::uint64_t k = 0; k < count; ++k) {
    float sum = 0;
    for (int i = 0; i < n; ++i) sum += test_input(i, k);
    float expected = data[k];
    switch (collective) {
      case Collective::all_reduce:
        expected = sum;
        break;
      case Collective::reduce_scatter:
        if (k >= own.offset && k < own.offset + own.count) expected = sum;
        break;
      case Collective::all_gather: {
        std::uint64_t owner = 0;
        while (k >= core::chunk_range(count, un, owner).offset + core::chunk_range(count, un, owner).count)
          ++owner;
        expected = test_input(static_cast<int>(owner), k);
        break;
      }
      case Collective::broadcast:
        expected = test_input(0, k);
        break;
      case Collective::reduce:
        if (member == 0) expected = sum;
        break;
    }
    if (data[k] != expected) {
      return fmt::format("member {} of {}: {} element {} is {}, expected {}", member, n,
                         to_string(collective), k, data[k], expected);
    }
  }
  return {};
}

}  // namespace dmlsim::strategies
