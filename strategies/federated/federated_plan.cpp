#include "strategies/federated/federated_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.hpp"
#include "core/seeded_draws.hpp"
#include "core/units.hpp"

namespace dmlsim::strategies {
namespace {

constexpr std::string_view kFields[] = {
    "type",    "mode",          "clients_per_round",  "report_goal",  "deadline",
    "buffer",  "max_staleness", "staleness_exponent", "local_epochs", "samples",
    "dropout", "seed",          "compression",        "edge_rounds"};

// `samples: 600`, or per client: `samples: {"0-49": 300, "50-99": 1200}` (every client once).
std::vector<std::int64_t> read_samples(const core::ConfigNode& node, int clients) {
  if (!node.has("samples")) node.fail("needs 'samples': how many training samples each client holds");
  const core::ConfigNode field = node.at("samples");
  if (!field.is_map()) {
    const std::int64_t n = node.integer_in("samples", 1, std::int64_t{1} << 40);
    return std::vector<std::int64_t>(static_cast<std::size_t>(clients), n);
  }
  std::vector<std::int64_t> out(static_cast<std::size_t>(clients), 0);
  for (const std::string& key : field.keys()) {
    const core::ConfigNode value = field.at(key);
    const auto [first, last] = core::parse_index_range(value, key, clients, "client", "the experiment");
    const std::int64_t n = field.integer_in(key, 1, std::int64_t{1} << 40);
    for (int c = first; c <= last; ++c) {
      if (out[static_cast<std::size_t>(c)] != 0) value.fail(fmt::format("client {} is given twice", c));
      out[static_cast<std::size_t>(c)] = n;
    }
  }
  for (int c = 0; c < clients; ++c) {
    if (out[static_cast<std::size_t>(c)] == 0) field.fail(fmt::format("client {} has no samples", c));
  }
  return out;
}

FederatedPlan::Compression read_compression(const core::ConfigNode& node) {
  FederatedPlan::Compression c;
  const auto field = node.find("compression");
  if (!field) return c;
  if (!field->is_map()) field->fail("expected {quantize: bits} or {top_k: fraction}");
  field->expect_only({"quantize", "top_k"});
  if (field->has("quantize")) c.quantize_bits = static_cast<int>(field->integer_in("quantize", 1, 32));
  if (field->has("top_k")) {
    c.top_k = field->number("top_k");
    if (!(c.top_k > 0 && c.top_k <= 1)) field->at("top_k").fail("a fraction of the values in (0, 1]");
  }
  return c;
}

}  // namespace

std::string_view to_string(FederatedPlan::Mode mode) {
  switch (mode) {
    case FederatedPlan::Mode::fedavg:
      return "fedavg";
    case FederatedPlan::Mode::fedbuff:
      return "fedbuff";
    case FederatedPlan::Mode::hierarchical:
      return "hierarchical";
  }
  return "?";
}

std::span<const std::string_view> federated_fields() {
  return kFields;
}

std::int64_t FederatedPlan::steps(int client, std::int64_t batch) const {
  const std::int64_t n = samples[static_cast<std::size_t>(client)];
  return local_epochs * ((n + batch - 1) / batch);
}

double FederatedPlan::staleness_weight(int staleness) const {
  return std::pow(1.0 + staleness, -staleness_exponent);
}

std::uint64_t FederatedPlan::upload_bytes(std::int64_t parameters, std::uint32_t element_bytes) const {
  const double values = compression.top_k > 0 ? std::ceil(compression.top_k * static_cast<double>(parameters))
                                              : static_cast<double>(parameters);
  const double value_bits = compression.quantize_bits > 0 ? compression.quantize_bits : 8.0 * element_bytes;
  const double index_bits = compression.top_k > 0 ? 32 : 0;  // which value it is
  return static_cast<std::uint64_t>(std::ceil(values * (value_bits + index_bits) / 8));
}

FederatedPlan read_federated_plan(const core::Experiment& e) {
  const core::ConfigNode& node = *e.strategy;
  node.expect_only(federated_fields(), core::experiment_field_homes());
  FederatedPlan p;
  p.clients = e.training_ranks();
  p.aggregators = e.service_ranks - 1;
  const std::string mode = node.string_or("mode", "fedavg");
  if (mode == "fedbuff") {
    p.mode = FederatedPlan::Mode::fedbuff;
  } else if (mode == "hierarchical") {
    p.mode = FederatedPlan::Mode::hierarchical;
  } else if (mode != "fedavg") {
    node.at("mode").fail(fmt::format("unknown mode '{}' (known: fedavg, fedbuff, hierarchical)", mode));
  }
  const bool avg = p.mode == FederatedPlan::Mode::fedavg;
  const bool hierarchical = p.mode == FederatedPlan::Mode::hierarchical;
  if (hierarchical && p.aggregators == 0) {
    node.at("mode").fail(fmt::format(
        "mode hierarchical needs regional aggregators: platform '{}' has none (an edge platform's "
        "regions: {{eu: {{wan: {{...}}, aggregator: {{link: {{...}}, device: cpu}}}}}})",
        e.platform.name));
  }
  if (!hierarchical && node.has("edge_rounds"))
    node.at("edge_rounds").fail(fmt::format("belongs to mode hierarchical (mode is {})", mode));
  if (!node.has("clients_per_round"))
    node.fail(hierarchical
                  ? "needs 'clients_per_round': how many clients of each region an edge round selects"
              : avg ? "needs 'clients_per_round': how many clients each round selects"
                    : "needs 'clients_per_round': how many clients train at once");
  p.per_round = static_cast<int>(node.integer_in("clients_per_round", 1, 1 << 30));
  if (p.per_round > p.clients) {
    node.at("clients_per_round")
        .fail(fmt::format("{} clients per round, but the population is {} clients (experiment.ranks)",
                          p.per_round, p.clients));
  }
  const auto only_in = [&](std::string_view field, std::string_view wanted) {
    if (node.has(field)) node.at(field).fail(fmt::format("belongs to mode {} (mode is {})", wanted, mode));
  };
  if (hierarchical) p.edge_rounds = static_cast<int>(node.integer_in_or("edge_rounds", 1, 1 << 20, 1));
  if (avg || hierarchical) {  // an aggregator's edge rounds are FedAvg rounds
    only_in("buffer", "fedbuff");
    only_in("max_staleness", "fedbuff");
    only_in("staleness_exponent", "fedbuff");
    p.report_goal = static_cast<int>(node.integer_in_or("report_goal", 1, p.per_round, p.per_round));
    if (node.has("deadline")) {
      p.deadline = node.duration("deadline");
      if (!(*p.deadline > 0)) node.at("deadline").fail("a deadline must be a positive duration (e.g. 30s)");
    }
  } else {
    only_in("report_goal", "fedavg");
    only_in("deadline", "fedavg");
    if (!node.has("buffer"))
      node.fail("mode fedbuff needs 'buffer': how many updates each aggregation takes");
    p.buffer = static_cast<int>(node.integer_in("buffer", 1, 1 << 30));
    p.max_staleness = static_cast<int>(node.integer_in_or("max_staleness", 0, 1 << 30, 1 << 30));
    p.staleness_exponent = node.number_or("staleness_exponent", 0);
    if (!(p.staleness_exponent >= 0 && p.staleness_exponent <= 10))
      node.at("staleness_exponent").fail("an exponent from 0 (equal weights) to 10; FedBuff uses 0.5");
  }
  p.local_epochs = static_cast<int>(node.integer_in_or("local_epochs", 1, 1 << 20, 1));
  p.samples = read_samples(node, p.clients);
  p.dropout = node.number_or("dropout", 0);
  if (!(p.dropout >= 0 && p.dropout < 1)) node.at("dropout").fail("a probability in [0, 1)");
  if (p.dropout > 0 && !p.deadline) {
    node.at("dropout").fail(avg || hierarchical
                                ? "clients that drop out never report: give the round a 'deadline'"
                                : "dropouts need a deadline, which only mode fedavg has so far");
  }
  p.seed = static_cast<std::uint64_t>(node.integer_in_or("seed", 0, std::int64_t{1} << 62, 1));
  p.compression = read_compression(node);
  return p;
}

std::vector<int> sample_clients(std::uint64_t seed, std::uint64_t draw, std::span<const int> candidates,
                                int count) {
  std::vector<int> pool(candidates.begin(), candidates.end());
  const std::size_t n = pool.size(), k = std::min<std::size_t>(static_cast<std::size_t>(count), n);
  std::uint64_t state = core::splitmix64(seed ^ core::splitmix64(draw));
  for (std::size_t i = 0; i < k; ++i) {
    state = core::splitmix64(state);
    const std::size_t j =
        i + static_cast<std::size_t>(core::unit_interval(state) * static_cast<double>(n - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(k);
  return pool;
}

std::optional<double> dropout_point(const FederatedPlan& plan, int client, std::int64_t task) {
  if (plan.dropout <= 0) return std::nullopt;
  const std::uint64_t bits =
      core::splitmix64(core::splitmix64(plan.seed ^ 0xD20F0A7ULL) ^
                       core::splitmix64((std::uint64_t(client) << 32) ^ std::uint64_t(task)));
  if (core::unit_interval(bits) >= plan.dropout) return std::nullopt;
  return core::unit_interval(core::splitmix64(bits));
}

void add_weighted_average(std::span<float> model, std::vector<WeightedUpdate> updates, double denominator) {
  std::sort(updates.begin(), updates.end(),
            [](const WeightedUpdate& a, const WeightedUpdate& b) { return a.key < b.key; });
  double weights = denominator;
  if (weights == 0) {
    for (const WeightedUpdate& u : updates) weights += u.weight;
  }
  if (!(weights > 0)) return;
  for (std::size_t k = 0; k < model.size(); ++k) {
    double sum = 0;
    for (const WeightedUpdate& u : updates) sum += u.weight * u.values[k];
    model[k] += static_cast<float>(sum / weights);
  }
}

void no_client_online_again(const core::Experiment& experiment, double now, int round) {
  throw core::ConfigError(fmt::format(
      "{}: no client is online after {} (round {} of {}): the availability traces end before the run does; "
      "run fewer rounds or extend the traces",
      experiment.platform.source, core::format_duration(now), round + 1, experiment.iterations));
}

}  // namespace dmlsim::strategies
