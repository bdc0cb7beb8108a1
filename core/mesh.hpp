#pragma once
// The device mesh: how an experiment's ranks are laid out along its parallel dimensions (data,
// tensor, pipeline; expert and context have room). Ranks are numbered with the first dimension
// of the order varying fastest — `tp-dp-pp` puts a tensor-parallel group on consecutive ranks
// (one node, with the default placement), as Megatron-LM does. Every rank's coordinates and every
// dimension's group come from here; the experiment's `placement` then puts ranks on hosts.
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/group.hpp"

namespace dmlsim::core {

class ConfigNode;

class Mesh {
 public:
  struct Dimension {
    std::string name;  // dp, tp, pp, ep, cp
    int size = 1;
  };
  // The names a mesh may use, and the default order (fastest first) of those given.
  static constexpr std::string_view kNames[] = {"tp", "cp", "ep", "dp", "pp"};

  // Data-parallel over every rank: what an experiment without `parallelism` means.
  static Mesh data_parallel(int ranks);
  // Dimensions fastest first; sizes ≥ 1, names from kNames, each at most once.
  explicit Mesh(std::vector<Dimension> fastest_first);
  Mesh() : Mesh(data_parallel(1)) {}

  int ranks() const { return ranks_; }
  const std::vector<Dimension>& dimensions() const { return dims_; }
  // Size of a dimension; 1 for a dimension the mesh does not have.
  int size(std::string_view dim) const;
  // The rank's coordinate along `dim` (0 for a dimension the mesh does not have).
  int coordinate(int rank, std::string_view dim) const;
  // The ranks that differ from `rank` only along `dim`, in coordinate order.
  Group group(std::string_view dim, int rank) const;
  // The rank at the given coordinates (one per dimension, in dimensions() order).
  int rank_at(std::span<const int> coordinates) const;
  // "tp-dp-pp"
  std::string order() const;
  // "dp 2 × tp 4 × pp 2 (order tp-dp-pp)"
  std::string describe() const;
  // Where the rank sits, along each dimension larger than 1 in dp, tp, pp order: "dp 1 · tp 3".
  std::string coordinates_label(int rank) const;

 private:
  int index_of(std::string_view dim) const;  // -1 if absent
  std::vector<Dimension> dims_;
  std::vector<int> strides_;
  int ranks_ = 1;
};

// Reads `parallelism: {dp: 2, tp: 4, pp: 2, order: tp-dp-pp}` (order optional: kNames order).
Mesh parse_mesh(const ConfigNode& node);

// summary.json's "parallelism": {"dp": 2, "tp": 4, "pp": 2, "order": "tp-dp-pp"}, and back;
// mesh_from_json throws ValueError on anything else.
nlohmann::json to_json(const Mesh& mesh);
Mesh mesh_from_json(const nlohmann::json& parallelism);

}  // namespace dmlsim::core
