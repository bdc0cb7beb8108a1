#include "core/experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "core/errors.hpp"

namespace dmlsim::core {
namespace {

// A field that is either a path to a YAML file holding `key:` or the mapping itself.
// `overrides` go into the file: (field below `key`, YAML value).
template <typename Parse>
auto parse_inline_or_file(const ConfigNode& field, std::string_view key, Parse parse,
                          const FileOverrides& file_overrides) {
  if (field.is_map()) return parse(field);
  const std::filesystem::path path = field.resolve_path(field.as_string());
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) field.fail(fmt::format("file '{}' does not exist", path.string()));
  ConfigNode root = ConfigNode::load_file(path);
  if (const auto it = file_overrides.find(key); it != file_overrides.end()) {
    for (const auto& [sub, value] : it->second) root.set(fmt::format("{}.{}", key, sub), value);
  }
  root.expect_only({key});
  return parse(root.at(key));
}

template <typename Enum, std::size_t N>
Enum parse_choice(const ConfigNode& node, std::string_view key,
                  const std::pair<std::string_view, Enum> (&choices)[N], Enum fallback) {
  const auto child = node.find(key);
  if (!child) return fallback;
  const std::string value = child->as_string();
  std::string known;
  for (const auto& [name, e] : choices) {
    if (name == value) return e;
    known += fmt::format("{}{}", known.empty() ? "" : ", ", name);
  }
  child->fail(fmt::format("unknown value '{}' (known: {})", value, known));
}

constexpr std::pair<std::string_view, CollectiveFidelity> kFidelities[] = {
    {"steps", CollectiveFidelity::steps},
    {"flows", CollectiveFidelity::flows},
    {"auto", CollectiveFidelity::automatic}};
constexpr std::pair<std::string_view, NetworkModel> kNetworks[] = {{"exact", NetworkModel::exact},
                                                                   {"tcp", NetworkModel::tcp}};
constexpr std::pair<std::string_view, TraceDetail> kTraceDetails[] = {{"none", TraceDetail::none},
                                                                      {"phases", TraceDetail::phases},
                                                                      {"kernels", TraceDetail::kernels},
                                                                      {"messages", TraceDetail::messages}};

constexpr std::string_view kExperimentFields[] = {"name",      "platform",   "model",    "ranks",
                                                  "placement", "iterations", "strategy", "simulation",
                                                  "slowdown",  "parallelism"};
constexpr std::string_view kSimulationFields[] = {"fidelity", "network", "payload", "trace"};

// The ranks a strategy runs after the training ranks: a parameter server's dedicated servers (one
// rank each; colocated servers live in their workers' ranks), a federated run's server. They are added to
// `ranks:`, which counts the training ranks in `run` and `compare` alike. Core reads this one field of the
// strategy because the platform must hold every rank before any strategy is built.
int service_ranks_of(const ConfigNode& strategy, const Platform& platform) {
  const std::string type = strategy.string_or("type", "");
  if (type == "federated") {
    // The server, and in hierarchical FL the regions' aggregators; `ranks:` counts the clients.
    const bool hierarchical = strategy.string_or("mode", "fedavg") == "hierarchical";
    return 1 + (hierarchical ? static_cast<int>(platform.aggregator_hosts().size()) : 0);
  }
  if (type != "parameter-server") return 0;
  if (strategy.string_or("server_placement", "dedicated") == "colocated") return 0;
  return static_cast<int>(strategy.integer_in_or("servers", 1, 1 << 20, 1));
}

}  // namespace

std::string_view to_string(CollectiveFidelity f) {
  for (const auto& [name, e] : kFidelities) {
    if (e == f) return name;
  }
  return "?";
}

std::string_view to_string(TraceDetail t) {
  for (const auto& [name, e] : kTraceDetails) {
    if (e == t) return name;
  }
  return "?";
}

void check_name(const ConfigNode& where, std::string_view name) {
  if (!valid_name(name)) {
    where.fail(fmt::format(
        "'{}' is not a valid name: letters, digits, '-', '_', '.' and ':' only (it names a directory)",
        name));
  }
}

std::string name_or(const ConfigNode& node, std::string fallback) {
  const auto field = node.find("name");
  if (!field) return fallback;
  std::string name = field->as_string();
  check_name(*field, name);
  return name;
}

bool valid_name(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(),
                     [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                              c == '.' || c == ':';
                     }) &&
         name != "." && name != "..";
}

const Model& Experiment::require_model() const {
  if (!model)
    throw ConfigError(fmt::format("{}: field 'experiment.model': missing (the {} strategy needs a model)",
                                  source, strategy_type));
  return *model;
}

FieldHomes experiment_field_homes() {
  FieldHomes homes;
  for (const std::string_view f : kExperimentFields) homes.emplace(f, "experiment");
  for (const std::string_view f : platform_fields()) homes.emplace(f, "experiment.platform");
  for (const std::string_view f : kSimulationFields) homes.emplace(f, "experiment.simulation");
  return homes;
}

Experiment parse_experiment(const ConfigNode& node, const FieldHomes& strategy_fields,
                            const FileOverrides& file_overrides) {
  FieldHomes homes = strategy_fields;
  for (const std::string_view f : platform_fields()) homes.emplace(f, "experiment.platform");
  for (const std::string_view f : kSimulationFields) homes.emplace(f, "experiment.simulation");
  node.expect_only(kExperimentFields, homes);
  Experiment e;
  e.source = node.file();
  e.name = name_or(node, std::filesystem::path(node.file()).stem().string());
  if (e.name.empty() || e.name == "." || e.name == "..") e.name = "experiment";
  e.platform = parse_inline_or_file(node.at("platform"), "platform", parse_platform, file_overrides);
  if (const auto model = node.find("model"))
    e.model = parse_inline_or_file(*model, "model", parse_model, file_overrides);

  const int hosts = e.platform.host_count();
  const ConfigNode strategy = node.at("strategy");
  e.service_ranks = service_ranks_of(strategy, e.platform);
  // "and 8 dedicated servers (strategy.servers)": what takes the hosts beside the training ranks.
  const bool federated = strategy.string_or("type", "") == "federated";
  const std::string beside =
      e.service_ranks == 0 ? ""
      : federated
          ? (e.service_ranks == 1 ? " and the federated server" : " and the federated server and aggregators")
          : fmt::format(" and {} dedicated server{} (strategy.servers)", e.service_ranks,
                        e.service_ranks == 1 ? "" : "s");
  // An edge platform's server (and aggregators) are hosts of their own, after its clients: the
  // clients are the hosts left for training ranks, and the service ranks go to the last hosts.
  const int aggregators = static_cast<int>(e.platform.aggregator_hosts().size());
  const bool edge = federated && (!e.platform.host_classes.empty() || aggregators > 0);
  const int room = edge ? hosts - 1 - aggregators : hosts - e.service_ranks;  // hosts left for training ranks
  if (room < 1) {
    (strategy.has("servers") ? strategy.at("servers") : strategy)
        .fail(fmt::format(
            "{} leave{} no host of platform '{}' ({} hosts) to train",
            federated ? "the federated server" : fmt::format("{} dedicated servers", e.service_ranks),
            federated ? "s" : "", e.platform.name, hosts));
  }
  const auto parallelism = node.find("parallelism");
  if (parallelism) {
    e.mesh = parse_mesh(*parallelism);
    e.parallelism = *parallelism;
  }
  int training = room;
  if (const auto ranks = node.find("ranks")) {
    const std::int64_t n = ranks->as_int();
    if (n < 1) ranks->fail(fmt::format("{} ranks: at least one rank must train", n));
    if (edge && n > room) {
      ranks->fail(fmt::format("{} clients, but edge platform '{}' has {} ({})", n, e.platform.name, room,
                              e.platform.host_classes.empty() ? "its hosts less the server and aggregators"
                                                              : "the counts of its classes"));
    }
    if (n > room && e.service_ranks == 0) {
      ranks->fail(fmt::format("{} ranks do not fit platform '{}' with {} hosts (one rank per host)", n,
                              e.platform.name, hosts));
    }
    if (n > room) {
      ranks->fail(fmt::format("{} ranks{} need {} hosts; platform '{}' has {} (one rank per host)", n, beside,
                              n + e.service_ranks, e.platform.name, hosts));
    }
    training = static_cast<int>(n);
  } else if (parallelism) {
    if (e.mesh.ranks() > room) {
      parallelism->fail(fmt::format("{} needs {} ranks{}; platform '{}' has {} hosts (one rank per host)",
                                    e.mesh.describe(), e.mesh.ranks(), beside, e.platform.name, hosts));
    }
    training = e.mesh.ranks();
  }
  e.ranks = training + e.service_ranks;
  if (!parallelism) {
    e.mesh = Mesh::data_parallel(training);
  } else if (e.mesh.ranks() != training) {
    parallelism->fail(
        fmt::format("{} has {} ranks, the experiment {}", e.mesh.describe(), e.mesh.ranks(), training));
  }
  if (const auto placement = node.find("placement")) {
    std::set<int> used;
    for (const ConfigNode& h : placement->items()) {
      const std::int64_t host = h.as_int();
      if (host < 0 || host >= hosts)
        h.fail(fmt::format("host {} does not exist (platform has {})", host, hosts));
      if (!used.insert(static_cast<int>(host)).second) h.fail(fmt::format("host {} is used twice", host));
      e.placement.push_back(static_cast<int>(host));
    }
    if (static_cast<int>(e.placement.size()) != e.ranks) {
      placement->fail(fmt::format("lists {} hosts for {} ranks{}{}", e.placement.size(), training, beside,
                                  e.service_ranks > 0 ? ", servers last" : ""));
    }
  } else {
    for (int r = 0; r < training; ++r) e.placement.push_back(r);
    const int first_service_host = edge ? hosts - e.service_ranks : training;
    for (int s = 0; s < e.service_ranks; ++s) e.placement.push_back(first_service_host + s);
  }
  e.iterations = static_cast<int>(node.integer_in_or("iterations", 1, 1 << 20, 1));

  e.strategy_type = strategy.string("type");
  e.strategy = strategy;

  if (const auto sim = node.find("simulation")) {
    sim->expect_only(kSimulationFields, experiment_field_homes());
    e.fidelity = parse_choice(*sim, "fidelity", kFidelities, CollectiveFidelity::automatic);
    e.network = parse_choice(*sim, "network", kNetworks, NetworkModel::exact);
    e.payload = sim->boolean_or("payload", false);
    e.trace = parse_choice(*sim, "trace", kTraceDetails, TraceDetail::kernels);
    if (e.payload && e.fidelity == CollectiveFidelity::flows) {
      sim->at("payload").fail(
          "payload mode moves real bytes message by message: use fidelity 'steps' or 'auto'");
    }
  }
  if (const auto slow = node.find("slowdown")) {
    for (const std::string& key : slow->keys()) {
      const ConfigNode factor = slow->at(key);
      // The whole key must be a rank number: "3x" is not rank 3.
      int rank = -1;
      const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), rank);
      if (ec != std::errc{} || end != key.data() + key.size())
        factor.fail(fmt::format("'{}' is not a rank number (keys are rank numbers)", key));
      if (rank < 0 || rank >= e.ranks)
        factor.fail(fmt::format("rank {} does not exist ({} ranks)", rank, e.ranks));
      const double f = factor.as_double();
      if (!(f > 0) || !std::isfinite(f))
        factor.fail("a slowdown factor must be a finite positive number (2 = twice as slow)");
      e.slowdown[rank] = f;
    }
  }
  return e;
}

Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::pair<std::string, std::string>>& overrides,
                           const FieldHomes& strategy_fields) {
  ConfigNode root = ConfigNode::load_file(file);
  FileOverrides into_files;
  for (const auto& [path, value] : overrides) {
    // In order: `platform=b.yaml` then `platform.link.bandwidth=...` changes b.yaml's link.
    const std::size_t dot = path.find('.');
    const std::string key = path.substr(0, dot);
    if (dot != std::string::npos && (key == "platform" || key == "model") && root.has("experiment")) {
      const auto field = root.at("experiment").find(key);
      if (field && field->is_scalar()) {
        into_files[key].emplace_back(path.substr(dot + 1), value);
        continue;
      }
    }
    // A file named after fields were set into the one before it starts from the new file's own.
    if ((key == "platform" || key == "model") && dot == std::string::npos) into_files.erase(key);
    root.set("experiment." + path, value);
  }
  root.expect_only({"experiment"});
  return parse_experiment(root.at("experiment"), strategy_fields, into_files);
}

}  // namespace dmlsim::core
