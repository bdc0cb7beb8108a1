#pragma once
// Data handed to a message or a collective. With a pointer it carries real bytes (real runs, and
// simulations in payload mode that check algorithms for correct results); without, only its size
// (large simulations).
#include <cstddef>
#include <cstdint>

namespace dmlsim::core {

struct Buffer {
  std::uint64_t bytes = 0;
  std::byte* data = nullptr;
};

// The operand of a collective: `count` elements of `element_bytes` each. Reductions over real
// data are float sums (element_bytes must then be 4).
struct ElementBuffer {
  std::uint64_t count = 0;
  std::uint32_t element_bytes = 4;
  float* data = nullptr;

  std::uint64_t bytes() const { return count * element_bytes; }
  bool has_data() const { return data != nullptr; }
};

}  // namespace dmlsim::core
