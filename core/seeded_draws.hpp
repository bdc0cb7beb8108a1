#pragma once
// Portable pseudo-random draws from a seed and a key: the same numbers on every machine and
// compiler (the std:: distributions are not), so that a seeded population or selection is
// reproducible anywhere.
#include <cstdint>

namespace dmlsim::core {

// splitmix64 (Steele, Lea and Flood, OOPSLA 2014): a fixed bijective mix of 64 bits.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The top 53 bits as a double in [0, 1), or in (0, 1) (what a logarithm may take).
constexpr double unit_interval(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}
constexpr double open_unit_interval(std::uint64_t bits) {
  return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;
}

}  // namespace dmlsim::core
