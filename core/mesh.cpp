#include "core/mesh.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/config_node.hpp"
#include "core/errors.hpp"

namespace dmlsim::core {

namespace {
bool known(std::string_view name) {
  return std::find(std::begin(Mesh::kNames), std::end(Mesh::kNames), name) != std::end(Mesh::kNames);
}
}  // namespace

Mesh Mesh::data_parallel(int ranks) {
  return Mesh({{"dp", ranks}});
}

Mesh::Mesh(std::vector<Dimension> fastest_first) : dims_(std::move(fastest_first)) {
  if (dims_.empty()) throw ValueError("a mesh needs at least one dimension");
  std::int64_t ranks = 1;
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    const Dimension& d = dims_[i];
    if (!known(d.name)) {
      throw ValueError(
          fmt::format("unknown parallel dimension '{}' (known: {})", d.name, fmt::join(kNames, ", ")));
    }
    if (index_of(d.name) != static_cast<int>(i))
      throw ValueError(fmt::format("parallel dimension '{}' appears twice", d.name));
    if (d.size < 1) throw ValueError(fmt::format("parallel dimension '{}' has size {}", d.name, d.size));
    strides_.push_back(static_cast<int>(ranks));
    ranks *= d.size;
    if (ranks > (1 << 30)) throw ValueError("a mesh of more than 2^30 ranks");
  }
  ranks_ = static_cast<int>(ranks);
}

int Mesh::index_of(std::string_view dim) const {
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (dims_[i].name == dim) return static_cast<int>(i);
  }
  return -1;
}

int Mesh::size(std::string_view dim) const {
  const int i = index_of(dim);
  return i < 0 ? 1 : dims_[static_cast<std::size_t>(i)].size;
}

int Mesh::coordinate(int rank, std::string_view dim) const {
  if (rank < 0 || rank >= ranks_)
    throw ValueError(fmt::format("rank {} is not in a mesh of {}", rank, ranks_));
  const int i = index_of(dim);
  if (i < 0) return 0;
  const auto k = static_cast<std::size_t>(i);
  return rank / strides_[k] % dims_[k].size;
}

Group Mesh::group(std::string_view dim, int rank) const {
  const int i = index_of(dim);
  if (i < 0) return Group::strided(rank, 1);
  const auto k = static_cast<std::size_t>(i);
  return Group::strided(rank - coordinate(rank, dim) * strides_[k], dims_[k].size, strides_[k]);
}

int Mesh::rank_at(std::span<const int> coordinates) const {
  if (coordinates.size() != dims_.size())
    throw ValueError(
        fmt::format("{} coordinates for a mesh of {} dimensions", coordinates.size(), dims_.size()));
  int rank = 0;
  for (std::size_t k = 0; k < dims_.size(); ++k) {
    if (coordinates[k] < 0 || coordinates[k] >= dims_[k].size) {
      throw ValueError(fmt::format("coordinate {} is outside dimension '{}' of size {}", coordinates[k],
                                   dims_[k].name, dims_[k].size));
    }
    rank += coordinates[k] * strides_[k];
  }
  return rank;
}

std::string Mesh::order() const {
  std::vector<std::string_view> names;
  for (const Dimension& d : dims_) names.push_back(d.name);
  return fmt::format("{}", fmt::join(names, "-"));
}

namespace {
// The order people read mesh sizes and coordinates in (the numbering order is the mesh's own).
constexpr std::string_view kReadingOrder[] = {"dp", "tp", "pp", "ep", "cp"};
}  // namespace

std::string Mesh::coordinates_label(int rank) const {
  std::vector<std::string> parts;
  for (std::string_view name : kReadingOrder) {
    if (size(name) > 1) parts.push_back(fmt::format("{} {}", name, coordinate(rank, name)));
  }
  return fmt::format("{}", fmt::join(parts, " · "));
}

std::string Mesh::describe() const {
  // Sizes in the conventional dp, tp, pp, ... reading order; the numbering order after.
  std::vector<std::string> parts;
  for (std::string_view name : kReadingOrder) {
    if (const int i = index_of(name); i >= 0)
      parts.push_back(fmt::format("{} {}", name, dims_[static_cast<std::size_t>(i)].size));
  }
  return fmt::format("{} (order {})", fmt::join(parts, " × "), order());
}

Mesh parse_mesh(const ConfigNode& node) {
  node.expect_only({"order", "tp", "cp", "ep", "dp", "pp"});  // Mesh::kNames and the order
  std::vector<Mesh::Dimension> given;
  for (std::string_view name : Mesh::kNames) {
    if (node.find(name))
      given.push_back({std::string(name), static_cast<int>(node.integer_in(name, 1, 1 << 20))});
  }
  if (given.empty()) node.fail(fmt::format("names no dimension (known: {})", fmt::join(Mesh::kNames, ", ")));
  const auto order = node.find("order");
  if (!order) return Mesh(given);
  // "tp-dp-pp": every dimension given, each once, nothing else.
  std::vector<Mesh::Dimension> ordered;
  const std::string text = order->as_string();
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t dash = std::min(text.find('-', pos), text.size());
    const std::string name = text.substr(pos, dash - pos);
    const auto it = std::find_if(given.begin(), given.end(), [&](const auto& d) { return d.name == name; });
    if (it == given.end()) {
      order->fail(known(name) ? fmt::format("'{}' is not a dimension of this mesh (give its size)", name)
                              : fmt::format("unknown parallel dimension '{}' (known: {})", name,
                                            fmt::join(Mesh::kNames, ", ")));
    }
    if (std::any_of(ordered.begin(), ordered.end(), [&](const auto& d) { return d.name == name; }))
      order->fail(fmt::format("'{}' appears twice", name));
    ordered.push_back(*it);
    pos = dash + 1;
  }
  if (ordered.size() != given.size()) {
    order->fail(fmt::format("orders {} of the {} dimensions given; list them all, fastest first",
                            ordered.size(), given.size()));
  }
  return Mesh(std::move(ordered));
}

nlohmann::json to_json(const Mesh& mesh) {
  nlohmann::json j = nlohmann::json::object();
  for (const Mesh::Dimension& d : mesh.dimensions()) j[d.name] = d.size;
  j["order"] = mesh.order();
  return j;
}

Mesh mesh_from_json(const nlohmann::json& parallelism) {
  if (!parallelism.is_object() || !parallelism.contains("order") || !parallelism["order"].is_string())
    throw ValueError("parallelism: needs an object with an \"order\" string");
  const std::string order = parallelism["order"].get<std::string>();
  std::vector<Mesh::Dimension> dims;
  for (std::size_t pos = 0; pos <= order.size();) {
    const std::size_t dash = std::min(order.find('-', pos), order.size());
    const std::string name = order.substr(pos, dash - pos);
    if (!parallelism.contains(name) || !parallelism[name].is_number_integer())
      throw ValueError(fmt::format("parallelism: dimension '{}' of the order has no integer size", name));
    dims.push_back({name, parallelism[name].get<int>()});
    pos = dash + 1;
  }
  if (parallelism.size() != dims.size() + 1)
    throw ValueError(fmt::format("parallelism: the order '{}' does not list every dimension", order));
  return Mesh(std::move(dims));
}

}  // namespace dmlsim::core
