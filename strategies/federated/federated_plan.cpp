#include "strategies/federated/federated_plan.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <string>

#include "core/errors.hpp"

namespace dmlsim::strategies {
namespace {

constexpr std::string_view kFields[] = {
    "type",          "mode",         "clients_per_round", "report_goal", "deadline", "buffer",
    "max_staleness", "local_epochs", "samples",           "dropout",     "seed",     "compression"};

// splitmix64 (Steele, Lea and Flood, OOPSLA 2014): a fixed, portable mix of the seed and the draw,
// so that a run selects the same clients on every machine (std:: distributions are not portable).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double unit(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

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
    const auto number = [&](std::string_view text) {
      int n = -1;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc{} || end != text.data() + text.size() || n < 0)
        value.fail(fmt::format("key '{}': keys are client numbers or ranges such as 4-7", key));
      return n;
    };
    const std::size_t dash = key.find('-');
    const int first = number(std::string_view(key).substr(0, dash));
    const int last = dash == std::string::npos ? first : number(std::string_view(key).substr(dash + 1));
    if (last < first) value.fail(fmt::format("key '{}': the range is empty", key));
    if (last >= clients)
      value.fail(fmt::format("client {} does not exist (the experiment has {})", last, clients));
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
  return mode == FederatedPlan::Mode::fedavg ? "fedavg" : "fedbuff";
}

std::span<const std::string_view> federated_fields() {
  return kFields;
}

std::int64_t FederatedPlan::steps(int client, std::int64_t batch) const {
  const std::int64_t n = samples[static_cast<std::size_t>(client)];
  return local_epochs * ((n + batch - 1) / batch);
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
  const std::string mode = node.string_or("mode", "fedavg");
  if (mode == "fedbuff") {
    p.mode = FederatedPlan::Mode::fedbuff;
  } else if (mode != "fedavg") {
    node.at("mode").fail(fmt::format("unknown mode '{}' (known: fedavg, fedbuff)", mode));
  }
  const bool avg = p.mode == FederatedPlan::Mode::fedavg;
  if (!node.has("clients_per_round"))
    node.fail(avg ? "needs 'clients_per_round': how many clients each round selects"
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
  if (avg) {
    only_in("buffer", "fedbuff");
    only_in("max_staleness", "fedbuff");
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
  }
  p.local_epochs = static_cast<int>(node.integer_in_or("local_epochs", 1, 1 << 20, 1));
  p.samples = read_samples(node, p.clients);
  p.dropout = node.number_or("dropout", 0);
  if (!(p.dropout >= 0 && p.dropout < 1)) node.at("dropout").fail("a probability in [0, 1)");
  if (p.dropout > 0 && !p.deadline) {
    node.at("dropout").fail(avg ? "clients that drop out never report: give the round a 'deadline'"
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
  std::uint64_t state = mix(seed ^ mix(draw));
  for (std::size_t i = 0; i < k; ++i) {
    state = mix(state);
    const std::size_t j = i + static_cast<std::size_t>(unit(state) * static_cast<double>(n - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(k);
  return pool;
}

std::optional<double> dropout_point(const FederatedPlan& plan, int client, std::int64_t task) {
  if (plan.dropout <= 0) return std::nullopt;
  const std::uint64_t bits =
      mix(mix(plan.seed ^ 0xD20F0A7ULL) ^ mix((std::uint64_t(client) << 32) ^ std::uint64_t(task)));
  if (unit(bits) >= plan.dropout) return std::nullopt;
  return unit(mix(bits));
}

}  // namespace dmlsim::strategies
