#include "apps/sweep_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <set>

#include "core/errors.hpp"
#include "core/experiment.hpp"

namespace dmlsim::apps {
namespace {

// More points than this is a typo (a step of 1 over a bandwidth range), not a sweep.
constexpr std::uint64_t kMaxPoints = 1'000'000;

// "100Gbps" → (100, "Gbps"); "0.5" → (0.5, "").
struct Quantity {
  double value = 0;
  std::string unit;
  bool integer = false;  // written without a fraction or exponent
};

Quantity read_quantity(const core::ConfigNode& node) {
  if (!node.is_scalar()) node.fail("expected a number, optionally with a unit (e.g. 8, 10Gbps, 64MiB)");
  const std::string text = node.as_string();
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(begin, &end);
  if (end == begin || errno == ERANGE || !std::isfinite(value))
    node.fail(fmt::format("'{}' does not start with a number", text));
  Quantity q;
  q.value = value;
  const std::string digits(begin, static_cast<std::size_t>(end - begin));
  q.integer = digits.find_first_of(".eE") == std::string::npos;
  q.unit = std::string(end);
  q.unit.erase(0, q.unit.find_first_not_of(" \t"));
  return q;
}

// A value as a range writes it: an integer when the ends are integers and it is one (to 1e-9; up to 2^53),
// else the shortest decimal that reads back the same; then the unit.
std::string format_value(double value, bool integers, const std::string& unit) {
  const double nearest = std::round(value);
  // Up to 2^53 every integer is a double; beyond, the decimal form (1e+20) says what the value is.
  if (integers && std::abs(nearest) <= 0x1p53 &&
      std::abs(value - nearest) <= 1e-9 * std::max(1.0, std::abs(value)))
    return fmt::format("{}{}", static_cast<long long>(nearest), unit);
  return fmt::format("{}{}", value, unit);
}

}  // namespace

std::vector<std::string> expand_range(const core::ConfigNode& range) {
  range.expect_only({"from", "to", "step", "factor", "count", "scale"});
  const Quantity from = read_quantity(range.at("from")), to = read_quantity(range.at("to"));
  if (from.unit != to.unit) {
    range.at("to").fail(fmt::format("'to' is in '{}' but 'from' is in '{}': write both ends in one unit",
                                    to.unit, from.unit));
  }
  const int given = static_cast<int>(range.has("step")) + static_cast<int>(range.has("factor")) +
                    static_cast<int>(range.has("count"));
  if (given != 1) range.fail("a range takes exactly one of step, factor (geometric) or count");
  if (range.has("scale") && !range.has("count")) range.at("scale").fail("scale goes with count");
  const std::string& unit = from.unit;
  std::vector<std::string> values;
  const auto too_many = [&](const core::ConfigNode& node) {
    node.fail(fmt::format("the range has more than {} values", kMaxPoints));
  };
  // Values within a billionth of a step past the end still count: 0.1 + 0.1 + 0.1 ends at 0.3.
  if (range.has("step")) {
    const core::ConfigNode node = range.at("step");
    const Quantity step = read_quantity(node);
    if (!step.unit.empty() && step.unit != unit)
      node.fail(fmt::format("the step is in '{}', the range in '{}'", step.unit, unit));
    if (step.value == 0 || (to.value - from.value) * step.value < 0)
      node.fail(fmt::format("a step of {} never goes from {} to {}", step.value, from.value, to.value));
    const bool integers = from.integer && to.integer && step.integer;
    const double slack = 1e-9 * std::abs(step.value);
    for (std::uint64_t i = 0;; ++i) {
      const double v = from.value + static_cast<double>(i) * step.value;
      if (step.value > 0 ? v > to.value + slack : v < to.value - slack) break;
      if (values.size() >= kMaxPoints) too_many(node);
      values.push_back(format_value(v, integers, unit));
    }
    return values;
  }
  if (range.has("factor")) {
    const core::ConfigNode node = range.at("factor");
    const double factor = node.as_double();
    if (from.value <= 0 || to.value <= 0) range.fail("a geometric range needs ends above 0");
    if (!(factor > 0) || factor == 1 || (to.value - from.value) * (factor - 1) < 0)
      node.fail(fmt::format("a factor of {} never goes from {} to {}", factor, from.value, to.value));
    const bool integers = from.integer && to.integer;
    const double slack = 1e-9;
    for (double v = from.value;; v *= factor) {
      if (factor > 1 ? v > to.value * (1 + slack) : v < to.value * (1 - slack)) break;
      if (values.size() >= kMaxPoints) too_many(node);
      values.push_back(format_value(v, integers, unit));
    }
    return values;
  }
  const core::ConfigNode node = range.at("count");
  const std::int64_t count = range.integer_in("count", 1, static_cast<std::int64_t>(kMaxPoints));
  const std::string scale = range.string_or("scale", "linear");
  if (scale != "linear" && scale != "log") range.at("scale").fail("expected linear or log");
  if (count == 1) {
    if (from.value != to.value)
      node.fail("one value cannot go from one end to another: give count 2 or more");
    return {format_value(from.value, from.integer, unit)};
  }
  const bool log = scale == "log";
  if (log && (from.value <= 0 || to.value <= 0)) range.fail("a log range needs ends above 0");
  const bool integers = from.integer && to.integer;
  for (std::int64_t i = 0; i < count; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(count - 1);
    // The last value is the end itself, not the end as the arithmetic rounds it.
    const double v = i == count - 1 ? to.value
                     : log          ? from.value * std::pow(to.value / from.value, t)
                                    : from.value + (to.value - from.value) * t;
    values.push_back(format_value(v, integers, unit));
  }
  return values;
}

std::vector<std::uint64_t> sample_indices(std::uint64_t population, std::uint64_t samples,
                                          std::uint64_t seed) {
  // Floyd: for j from n−k to n−1, draw t in [0, j]; take t, or j if t is taken already. Each
  // k-subset is equally likely (up to the modulo's bias, below 2^-40 for these sizes).
  std::mt19937_64 random(seed);
  std::set<std::uint64_t> chosen;
  for (std::uint64_t j = population - samples; j < population; ++j) {
    const std::uint64_t t = random() % (j + 1);
    chosen.insert(chosen.count(t) != 0 ? j : t);
  }
  return {chosen.begin(), chosen.end()};
}

namespace {

SweepPlan plan_from(const core::ConfigNode& root, const std::filesystem::path& file) {
  root.expect_only({"sweep"});
  const core::ConfigNode node = root.at("sweep");
  node.expect_only({"name", "experiment", "combine", "samples", "seed", "set", "axes"});
  SweepPlan plan;
  plan.name = core::name_or(node, file.stem().string());
  plan.experiment = node.resolve_path(node.string("experiment"));

  const std::string combine = node.string_or("combine", "product");
  if (combine == "product") {
    plan.combine = SweepCombine::product;
  } else if (combine == "zip") {
    plan.combine = SweepCombine::zip;
  } else if (combine == "random") {
    plan.combine = SweepCombine::random;
  } else {
    node.at("combine").fail("expected product, zip or random");
  }
  if (plan.combine == SweepCombine::random) {
    plan.samples = node.integer_in("samples", 1, static_cast<std::int64_t>(kMaxPoints));
    plan.seed = static_cast<std::uint64_t>(
        node.integer_in_or("seed", 0, std::numeric_limits<std::int64_t>::max(), 1));
  } else {
    for (const char* key : {"samples", "seed"}) {
      if (const auto n = node.find(key)) n->fail("goes with combine: random");
    }
  }

  if (const auto set = node.find("set")) {
    if (!set->is_map()) set->fail("expected a mapping of experiment fields to values");
    for (const std::string& field : set->keys()) plan.set.emplace_back(field, set->at(field).as_flow_yaml());
  }

  const core::ConfigNode axes = node.at("axes");
  if (!axes.is_map() || axes.keys().empty()) axes.fail("expected a mapping of experiment fields to values");
  for (const std::string& field : axes.keys()) {
    const core::ConfigNode axis = axes.at(field);
    SweepAxis a{field, {}, fmt::format("{}:{}", axis.file(), axis.line())};
    if (axis.is_sequence()) {
      for (const core::ConfigNode& value : axis.items()) a.values.push_back(value.as_flow_yaml());
      if (a.values.empty()) axis.fail("no values: give at least one");
    } else if (axis.is_map()) {
      a.values = expand_range(axis);
    } else {
      axis.fail("expected a list of values, or a range {from, to, step | factor | count}");
    }
    plan.axes.push_back(std::move(a));
  }

  // The points, in order: the product varies the last axis fastest, like nested loops.
  std::uint64_t population = 1;
  for (const SweepAxis& a : plan.axes) {
    if (plan.combine == SweepCombine::zip) {
      if (a.values.size() != plan.axes.front().values.size()) {
        axes.at(a.field).fail(fmt::format("zipped axes need as many values each: {} has {}, {} has {}",
                                          plan.axes.front().field, plan.axes.front().values.size(), a.field,
                                          a.values.size()));
      }
      population = a.values.size();
      continue;
    }
    if (population > std::numeric_limits<std::uint64_t>::max() / a.values.size())
      axes.fail("more than 2^64 points: use fewer values");
    population *= a.values.size();
  }
  if (plan.combine == SweepCombine::product && population > kMaxPoints) {
    axes.fail(
        fmt::format("{} points: more than {}; sample some with combine: random", population, kMaxPoints));
  }
  std::vector<std::uint64_t> indices;
  if (plan.combine == SweepCombine::random) {
    const auto samples = static_cast<std::uint64_t>(plan.samples);
    if (samples > population) {
      node.at("samples").fail(
          fmt::format("{} samples from {} points: at most {}", samples, population, population));
    }
    indices = sample_indices(population, samples, plan.seed);
  } else {
    for (std::uint64_t i = 0; i < population; ++i) indices.push_back(i);
  }
  for (const std::uint64_t index : indices) {
    SweepPoint point;
    point.index = static_cast<int>(plan.points.size());
    std::uint64_t rest = index;
    point.choice.resize(plan.axes.size());
    for (std::size_t k = plan.axes.size(); k-- > 0;) {
      const SweepAxis& a = plan.axes[k];
      const std::uint64_t i = plan.combine == SweepCombine::zip ? index : rest % a.values.size();
      rest /= plan.combine == SweepCombine::zip ? 1 : a.values.size();
      point.choice[k] = static_cast<std::uint32_t>(i);
    }
    plan.points.push_back(std::move(point));
  }
  return plan;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SweepPlan::values(const SweepPoint& point) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t k = 0; k < axes.size(); ++k)
    out.emplace_back(axes[k].field, axes[k].values[point.choice[k]]);
  return out;
}

SweepPlan read_sweep_plan(const std::filesystem::path& file) {
  return plan_from(core::ConfigNode::load_file(file), file);
}

SweepPlan parse_sweep_plan(std::string_view text, const std::filesystem::path& file) {
  return plan_from(core::ConfigNode::load_string(text, file.string()), file);
}

}  // namespace dmlsim::apps
