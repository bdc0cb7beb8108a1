#pragma once
// One run: which platform, which model, how many ranks where, which strategy with which options,
// and how to simulate it. Parsed from experiments/*.yaml.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_node.hpp"
#include "core/mesh.hpp"
#include "core/model.hpp"
#include "core/platform.hpp"

namespace dmlsim::core {

// How a collective is simulated: every point-to-point message of its schedule, or the aggregated
// flows it puts on each path (O(N) instead of O(N²) for a ring); `auto` picks steps for groups of
// up to kAutoStepsMaxGroup members.
enum class CollectiveFidelity { steps, flows, automatic };
inline constexpr int kAutoStepsMaxGroup = 64;

// Network model: `exact` makes an uncontended transfer cost latency + bytes/bandwidth; `tcp` is
// SimGrid's calibrated TCP model (LV08).
enum class NetworkModel { exact, tcp };

// How much goes into the trace: iteration marks only, phases and collectives, every compute
// kernel too, or every point-to-point message as well.
enum class TraceDetail { none, phases, kernels, messages };

struct Experiment {
  std::string name;
  std::string source;
  Platform platform;
  std::optional<Model> model;
  // Every rank the run starts: the training ranks (`ranks:` in the file, the mesh's ranks), then
  // the `service_ranks` the strategy runs beside them (a parameter server's dedicated servers).
  // `ranks:` means the same in `run` and `compare`: the ranks that train.
  int ranks = 0;
  int service_ranks = 0;
  Mesh mesh;  // `parallelism`: the ranks along dp, tp, pp...; dp = ranks without it
  std::optional<ConfigNode> parallelism;  // the block itself, for errors; none when absent
  std::vector<int> placement;             // host of each rank, service ranks last
  int iterations = 1;
  std::optional<ConfigNode> strategy;  // parsed by strategies/
  std::string strategy_type;
  CollectiveFidelity fidelity = CollectiveFidelity::automatic;
  NetworkModel network = NetworkModel::exact;
  bool payload = false;
  TraceDetail trace = TraceDetail::kernels;
  std::map<int, double> slowdown;  // rank → compute time multiplier (stragglers)

  int training_ranks() const { return ranks - service_ranks; }

  double slowdown_of(int rank) const {
    const auto it = slowdown.find(rank);
    return it == slowdown.end() ? 1.0 : it->second;
  }
  const Model& require_model() const;
};

// `strategy_fields`: the strategies' fields (strategies::strategy_field_homes), so that one
// written directly under `experiment` is said to belong under `strategy`.
// `file_overrides`: --set values for fields of the platform or model *file* the experiment names
// ("platform" → {("link.bandwidth", "10Gbps")}), applied to that file as it is read.
using FileOverrides = std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>>;
Experiment parse_experiment(const ConfigNode& node, const FieldHomes& strategy_fields = {},
                            const FileOverrides& file_overrides = {});
// The experiment's own fields, its platform's and its simulation's, each with its section: what a
// strategy tells a user who wrote one of them under `strategy`.
FieldHomes experiment_field_homes();

// A name that can be one directory of an output path: letters, digits, '-', '_', '.' and ':' (compare's
// presets, e.g. ps-sync:8), not "." or "..". Experiment names (dmlsim-out/<name>) and compare's case and
// strategy names must be one.
bool valid_name(std::string_view name);
// Fails on `where` unless `name` is valid_name(): "'a/b' is not a valid name: ...".
void check_name(const ConfigNode& where, std::string_view name);
// The `name` field of `node`, checked, or `fallback` when it has none.
std::string name_or(const ConfigNode& node, std::string fallback);

// `overrides` are (dotted path below `experiment`, YAML value) pairs applied before parsing. One
// below `platform` or `model` where the experiment names a file (platform: ../platforms/x.yaml)
// changes that file's field as it is read: platform.link.bandwidth=10Gbps works either way.
Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::pair<std::string, std::string>>& overrides = {},
                           const FieldHomes& strategy_fields = {});

std::string_view to_string(CollectiveFidelity f);
std::string_view to_string(TraceDetail t);

}  // namespace dmlsim::core
