#include "core/units.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

#include "core/errors.hpp"

namespace dmlsim::core {
namespace {

struct Suffix {
  std::string_view name;
  double factor;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "25 Gbps" into 25 and "Gbps" and scales by the matching suffix.
template <std::size_t N>
double parse_with_suffixes(std::string_view text, const std::array<Suffix, N>& suffixes,
                           std::string_view what, std::string_view example) {
  const std::string_view s = trim(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end == s.data()) {
    throw ValueError(
        fmt::format("'{}' is not a {} (expected a number and a unit, e.g. '{}')", text, what, example));
  }
  const std::string_view unit =
      trim(std::string_view(end, static_cast<std::size_t>(s.data() + s.size() - end)));
  if (unit.empty()) {
    throw ValueError(fmt::format("'{}' has no unit (write e.g. '{}')", text, example));
  }
  for (const Suffix& suffix : suffixes) {
    if (unit == suffix.name) {
      if (!std::isfinite(value) || value < 0) {
        throw ValueError(fmt::format("'{}' must be a finite, non-negative {}", text, what));
      }
      return value * suffix.factor;
    }
  }
  std::string known;
  for (const Suffix& suffix : suffixes) known += fmt::format("{}{}", known.empty() ? "" : ", ", suffix.name);
  throw ValueError(fmt::format("'{}' has an unknown {} unit '{}' (known: {})", text, what, unit, known));
}

constexpr double kKi = 1024.0;
constexpr std::array kByteSuffixes{
    Suffix{"B", 1},
    Suffix{"KB", 1e3},
    Suffix{"MB", 1e6},
    Suffix{"GB", 1e9},
    Suffix{"TB", 1e12},
    Suffix{"KiB", kKi},
    Suffix{"MiB", kKi* kKi},
    Suffix{"GiB", kKi* kKi* kKi},
    Suffix{"TiB", kKi* kKi* kKi* kKi},
};
constexpr std::array kBandwidthSuffixes{
    Suffix{"bps", 1.0 / 8},
    Suffix{"Kbps", 1e3 / 8},
    Suffix{"Mbps", 1e6 / 8},
    Suffix{"Gbps", 1e9 / 8},
    Suffix{"Tbps", 1e12 / 8},
    Suffix{"bit/s", 1.0 / 8},
    Suffix{"Kbit/s", 1e3 / 8},
    Suffix{"Mbit/s", 1e6 / 8},
    Suffix{"Gbit/s", 1e9 / 8},
    Suffix{"Tbit/s", 1e12 / 8},
    Suffix{"Bps", 1},
    Suffix{"KBps", 1e3},
    Suffix{"MBps", 1e6},
    Suffix{"GBps", 1e9},
    Suffix{"TBps", 1e12},
    Suffix{"B/s", 1},
    Suffix{"KB/s", 1e3},
    Suffix{"MB/s", 1e6},
    Suffix{"GB/s", 1e9},
    Suffix{"TB/s", 1e12},
    Suffix{"KiBps", kKi},
    Suffix{"MiBps", kKi* kKi},
    Suffix{"GiBps", kKi* kKi* kKi},
    Suffix{"KiB/s", kKi},
    Suffix{"MiB/s", kKi* kKi},
    Suffix{"GiB/s", kKi* kKi* kKi},
};
constexpr std::array kDurationSuffixes{
    Suffix{"s", 1},     Suffix{"ms", 1e-3}, Suffix{"us", 1e-6}, Suffix{"\u00b5s", 1e-6},
    Suffix{"ns", 1e-9}, Suffix{"min", 60},  Suffix{"h", 3600},  // availability windows, checkpoint intervals
};
constexpr std::array kFlopRateSuffixes{
    Suffix{"FLOPS", 1},      Suffix{"KFLOPS", 1e3},   Suffix{"MFLOPS", 1e6}, Suffix{"GFLOPS", 1e9},
    Suffix{"TFLOPS", 1e12},  Suffix{"PFLOPS", 1e15},  Suffix{"FLOP/s", 1},   Suffix{"GFLOP/s", 1e9},
    Suffix{"TFLOP/s", 1e12}, Suffix{"PFLOP/s", 1e15},
};

}  // namespace

std::uint64_t parse_bytes(std::string_view text) {
  const double bytes = parse_with_suffixes(text, kByteSuffixes, "size", "256MiB");
  if (bytes > 1.8e19 || bytes != std::floor(bytes)) {
    throw ValueError(fmt::format("'{}' is not a whole number of bytes", text));
  }
  return static_cast<std::uint64_t>(bytes);
}

double parse_bandwidth(std::string_view text) {
  const double bw = parse_with_suffixes(text, kBandwidthSuffixes, "bandwidth", "25Gbps");
  if (bw <= 0) throw ValueError(fmt::format("bandwidth '{}' must be positive", text));
  return bw;
}

double parse_duration(std::string_view text) {
  return parse_with_suffixes(text, kDurationSuffixes, "duration", "1.5us");
}

double parse_flop_rate(std::string_view text) {
  const double rate = parse_with_suffixes(text, kFlopRateSuffixes, "compute rate", "989TFLOPS");
  if (rate <= 0) throw ValueError(fmt::format("compute rate '{}' must be positive", text));
  return rate;
}

std::string format_bytes(double bytes) {
  constexpr std::array units{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  std::size_t i = 0;
  while (std::abs(bytes) >= 1024.0 && i + 1 < units.size()) {
    bytes /= 1024.0;
    ++i;
  }
  return i == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.4g} {}", bytes, units[i]);
}

std::string format_bandwidth(double bytes_per_s) {
  const double gbps = bytes_per_s * 8 / 1e9;
  if (gbps >= 1000) return fmt::format("{:.4g} Tbps", gbps / 1e3);
  if (gbps >= 1) return fmt::format("{:.4g} Gbps", gbps);
  return fmt::format("{:.4g} Mbps", gbps * 1e3);
}

std::string format_duration(double seconds) {
  const double a = std::abs(seconds);
  if (a == 0) return "0 s";
  if (a < 1e-6) return fmt::format("{:.3g} ns", seconds * 1e9);
  if (a < 1e-3) return fmt::format("{:.3g} us", seconds * 1e6);
  if (a < 1) return fmt::format("{:.4g} ms", seconds * 1e3);
  if (a < 1e4) return fmt::format("{:.4g} s", seconds);
  return fmt::format("{:.4g} h", seconds / 3600);  // not "2.488e+04 s"
}

}  // namespace dmlsim::core
