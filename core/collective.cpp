#include "core/collective.hpp"

#include <utility>

namespace dmlsim::core {

namespace {
constexpr std::pair<Collective, std::string_view> kNames[] = {{Collective::all_reduce, "all-reduce"},
                                                              {Collective::reduce_scatter, "reduce-scatter"},
                                                              {Collective::all_gather, "all-gather"},
                                                              {Collective::broadcast, "broadcast"},
                                                              {Collective::reduce, "reduce"}};
}

std::string_view to_string(Collective c) {
  for (const auto& [k, name] : kNames) {
    if (k == c) return name;
  }
  return "?";
}

std::optional<Collective> parse_collective(std::string_view name) {
  for (const auto& [k, n] : kNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

}  // namespace dmlsim::core
