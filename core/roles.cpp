#include "core/roles.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

#include "core/errors.hpp"

namespace dmlsim::core {
namespace {

constexpr std::array<RoleKind, 6> kKinds = {RoleKind::worker, RoleKind::server, RoleKind::stage,
                                            RoleKind::client, RoleKind::spare,  RoleKind::aggregator};

}  // namespace

std::string_view to_string(RoleKind kind) {
  switch (kind) {
    case RoleKind::worker:
      return "worker";
    case RoleKind::server:
      return "server";
    case RoleKind::stage:
      return "stage";
    case RoleKind::client:
      return "client";
    case RoleKind::spare:
      return "spare";
    case RoleKind::aggregator:
      return "aggregator";
  }
  return "?";
}

std::string Role::label() const {
  return index < 0 ? std::string(to_string(kind)) : fmt::format("{} {}", to_string(kind), index);
}

Role Role::parse(std::string_view label) {
  const std::size_t space = label.find(' ');
  const std::string_view name = label.substr(0, space);
  for (const RoleKind kind : kKinds) {
    if (to_string(kind) != name) continue;
    Role role{kind, -1};
    if (space == std::string_view::npos) return role;
    const std::string_view digits = label.substr(space + 1);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), role.index);
    if (error == std::errc() && end == digits.data() + digits.size() && role.index >= 0) return role;
    break;
  }
  throw ValueError(
      fmt::format("'{}' is not a role (worker, server N, stage N, client N, spare, aggregator N)", label));
}

Roles Roles::workers(int ranks, std::int64_t samples_per_iteration) {
  return {std::vector<Role>(static_cast<std::size_t>(ranks)), samples_per_iteration};
}

Role Roles::of(int rank) const {
  if (rank >= 0 && static_cast<std::size_t>(rank) < ranks.size())
    return ranks[static_cast<std::size_t>(rank)];
  return Role{};
}

int Roles::training_ranks(int total_ranks) const {
  int count = 0;
  for (int r = 0; r < total_ranks; ++r) count += of(r).trains() ? 1 : 0;
  return count;
}

std::string Roles::describe(int total_ranks) const {
  std::string out;
  for (const RoleKind kind : kKinds) {
    int count = 0;
    for (int r = 0; r < total_ranks; ++r) count += of(r).kind == kind ? 1 : 0;
    if (count == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}{}", count, to_string(kind), count == 1 ? "" : "s");
  }
  return out;
}

}  // namespace dmlsim::core
