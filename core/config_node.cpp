#include "core/config_node.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::core {
namespace {

// Edit distance, used only to suggest a correction for a misspelt key.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF): names end up in
// JSON, which cannot hold anything else.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// Reads a scalar with a unit; a parse error becomes a ConfigError at this node.
template <typename Parser>
auto parse_unit(const ConfigNode& node, Parser parser) {
  const std::string text = node.as_string();
  try {
    return parser(text);
  } catch (const ValueError& e) {
    node.fail(e.what());
  }
}

}  // namespace

ConfigNode::ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path,
                       int parent_line, std::shared_ptr<std::vector<std::string>> overrides)
    : node_(std::move(node)),
      file_(std::move(file)),
      overrides_(std::move(overrides)),
      path_(std::move(path)),
      parent_line_(parent_line) {}

namespace {
thread_local LoadedFiles* recording = nullptr;
}  // namespace

LoadedFiles::LoadedFiles() : outer_(recording) {
  recording = this;
}

LoadedFiles::~LoadedFiles() {
  recording = outer_;
}

ConfigNode ConfigNode::load_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw ConfigError(fmt::format("{}: no such file", path.string()));
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(fmt::format("{}: is a directory, expected a YAML file", path.string()));
  }
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot be read", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  for (LoadedFiles* r = recording; r != nullptr; r = r->outer_)
    r->files_.emplace_back(path.string(), text.str());
  return load_string(text.str(), path.string());
}

ConfigNode ConfigNode::load_string(std::string_view text, const std::string& origin) {
  auto file = std::make_shared<const std::string>(origin);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) {
      throw ConfigError(fmt::format("{}:1: expected a YAML mapping at the top level", origin));
    }
    return ConfigNode(root, file, "", 1, std::make_shared<std::vector<std::string>>());
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}: YAML syntax error: {}", origin, e.mark.line + 1, e.msg));
  }
}

void ConfigNode::set(std::string_view dotted_path, std::string_view yaml_value) {
  YAML::Node value;
  try {
    value = YAML::Load(std::string(yaml_value));
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("--set {}={}: not valid YAML: {}", dotted_path, yaml_value, e.msg));
  }
  // yaml-cpp nodes are handles: walk down by reassigning a copy of each handle.
  std::vector<YAML::Node> chain{node_};
  std::string_view rest = dotted_path;
  std::vector<std::string> keys;
  while (!rest.empty()) {
    const std::size_t dot = rest.find('.');
    keys.emplace_back(rest.substr(0, dot));
    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  }
  if (keys.empty()) throw ConfigError(fmt::format("--set: empty field path"));
  if (std::find(keys.begin(), keys.end(), "") != keys.end() || dotted_path.ends_with('.')) {
    throw ConfigError(
        fmt::format("--set {}={}: empty field name in '{}' (write e.g. strategy.allreduce=tree)", dotted_path,
                    yaml_value, dotted_path));
  }
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = chain.back()[keys[i]];
    if (next && !next.IsMap()) {
      throw ConfigError(fmt::format("--set {}: '{}' is not a mapping in {}", dotted_path, keys[i], *file_));
    }
    chain.push_back(next);
  }
  chain.back()[keys.back()] = value;
  overrides_->emplace_back(dotted_path);
}

std::string ConfigNode::as_flow_yaml() const {
  YAML::Emitter out;
  out << YAML::Flow << node_;
  return out.c_str();
}

int ConfigNode::line() const {
  const YAML::Mark mark = node_.Mark();
  return mark.is_null() ? parent_line_ : mark.line + 1;
}

bool ConfigNode::overridden() const {
  // A mapping that an override created on its way down is not in the file either.
  const bool in_file = node_.IsDefined() && !node_.Mark().is_null();
  for (const std::string& o : *overrides_) {
    if (path_ == o || path_.starts_with(o + ".") || path_.starts_with(o + "[")) return true;
    if (!in_file && o.starts_with(path_ + ".")) return true;
  }
  return false;
}

void ConfigNode::fail(std::string_view message) const {
  if (overridden()) throw ConfigError(fmt::format("{}: field '{}' (from --set): {}", *file_, path_, message));
  if (path_.empty()) throw ConfigError(fmt::format("{}:{}: {}", *file_, line(), message));
  throw ConfigError(fmt::format("{}:{}: field '{}': {}", *file_, line(), path_, message));
}

std::string ConfigNode::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

bool ConfigNode::has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)];
}

ConfigNode ConfigNode::at(std::string_view key) const {
  if (!node_.IsMap()) fail("expected a mapping");
  YAML::Node child = node_[std::string(key)];
  if (!child || child.IsNull()) {
    const ConfigNode missing(YAML::Node(), file_, child_path(key), line(), overrides_);
    if (missing.overridden()) missing.fail("missing (required)");
    throw ConfigError(fmt::format("{}:{}: field '{}': missing (required)", *file_, line(), child_path(key)));
  }
  return ConfigNode(child, file_, child_path(key), line(), overrides_);
}

std::optional<ConfigNode> ConfigNode::find(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  YAML::Node child = node_[std::string(key)];
  if (child.IsNull()) return std::nullopt;
  return ConfigNode(child, file_, child_path(key), line(), overrides_);
}

std::vector<ConfigNode> ConfigNode::items() const {
  if (!node_.IsSequence()) fail("expected a list");
  std::vector<ConfigNode> out;
  out.reserve(node_.size());
  for (std::size_t i = 0; i < node_.size(); ++i) {
    out.push_back(ConfigNode(node_[i], file_, fmt::format("{}[{}]", path_, i), line(), overrides_));
  }
  return out;
}

std::string ConfigNode::key_name(const YAML::Node& key) const {
  if (key.IsScalar()) return key.Scalar();
  // YAML allows any node as a key (`? [a, b]: 1`, `{a: 1}: 2`); a field's name is a plain word.
  const ConfigNode where(key, file_, path_, line(), overrides_);
  where.fail(key.IsNull() ? "a field without a name"
                          : "a field's name must be a word, not a list or a mapping");
}

std::vector<std::string> ConfigNode::keys() const {
  if (!node_.IsMap()) fail("expected a mapping");
  std::vector<std::string> out;
  for (const auto& kv : node_) out.push_back(key_name(kv.first));
  return out;
}

template <typename T>
T ConfigNode::convert(std::string_view what) const {
  if (!node_.IsScalar()) fail(fmt::format("expected {}", what));
  try {
    return node_.as<T>();
  } catch (const YAML::Exception&) {
    fail(fmt::format("'{}' is not {}", node_.Scalar(), what));
  }
}

std::string ConfigNode::as_string() const {
  std::string value = convert<std::string>("a string");
  if (!valid_utf8(value)) fail("is not valid UTF-8 text");
  return value;
}
std::int64_t ConfigNode::as_int() const {
  return convert<std::int64_t>("an integer");
}
double ConfigNode::as_double() const {
  const double value = convert<double>("a number");
  // yaml-cpp reads .nan and .inf; no field of dmlsim means either.
  if (!std::isfinite(value)) fail(fmt::format("'{}' is not a finite number", node_.Scalar()));
  return value;
}
bool ConfigNode::as_bool() const {
  return convert<bool>("true or false");
}

std::uint64_t ConfigNode::as_bytes() const {
  return parse_unit(*this, parse_bytes);
}
double ConfigNode::as_bandwidth() const {
  return parse_unit(*this, parse_bandwidth);
}
double ConfigNode::as_duration() const {
  return parse_unit(*this, parse_duration);
}
double ConfigNode::as_flop_rate() const {
  return parse_unit(*this, parse_flop_rate);
}

std::string ConfigNode::string_or(std::string_view key, std::string_view fallback) const {
  const auto child = find(key);
  return child ? child->as_string() : std::string(fallback);
}
std::int64_t ConfigNode::integer_or(std::string_view key, std::int64_t fallback) const {
  const auto child = find(key);
  return child ? child->as_int() : fallback;
}
double ConfigNode::number_or(std::string_view key, double fallback) const {
  const auto child = find(key);
  return child ? child->as_double() : fallback;
}
bool ConfigNode::boolean_or(std::string_view key, bool fallback) const {
  const auto child = find(key);
  return child ? child->as_bool() : fallback;
}
std::uint64_t ConfigNode::bytes_or(std::string_view key, std::uint64_t fallback) const {
  const auto child = find(key);
  return child ? child->as_bytes() : fallback;
}
double ConfigNode::duration_or(std::string_view key, double fallback) const {
  const auto child = find(key);
  return child ? child->as_duration() : fallback;
}

std::int64_t ConfigNode::integer_in(std::string_view key, std::int64_t min, std::int64_t max) const {
  const ConfigNode child = at(key);
  const std::int64_t value = child.as_int();
  if (value < min || value > max) child.fail(fmt::format("{} is out of range [{}, {}]", value, min, max));
  return value;
}

std::int64_t ConfigNode::integer_in_or(std::string_view key, std::int64_t min, std::int64_t max,
                                       std::int64_t fallback) const {
  return has(key) ? integer_in(key, min, max) : fallback;
}

void ConfigNode::expect_only(std::span<const std::string_view> allowed, const FieldHomes& elsewhere) const {
  if (!node_.IsMap()) fail("expected a mapping");
  for (const auto& kv : node_) {
    const std::string key = key_name(kv.first);
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    if (const auto home = elsewhere.find(key); home != elsewhere.end()) {
      const ConfigNode child(kv.first, file_, child_path(key), line(), overrides_);
      child.fail(fmt::format("belongs under {} ({}.{}), not here", home->second, home->second, key));
    }
    std::string_view best;
    std::size_t best_distance = 3;  // suggest only close matches
    for (std::string_view candidate : allowed) {
      const std::size_t d = edit_distance(key, candidate);
      if (d < best_distance) best_distance = d, best = candidate;
    }
    std::string known;
    for (std::string_view candidate : allowed)
      known += fmt::format("{}{}", known.empty() ? "" : ", ", candidate);
    const ConfigNode child(kv.first, file_, child_path(key), line(), overrides_);
    child.fail(best.empty() ? fmt::format("unknown field (known: {})", known)
                            : fmt::format("unknown field (did you mean '{}'?)", best));
  }
}

std::filesystem::path ConfigNode::resolve_path(const std::string& relative) const {
  const std::filesystem::path p(relative);
  if (p.is_absolute()) return p;
  return std::filesystem::path(*file_).parent_path() / p;
}

std::pair<int, int> parse_index_range(const ConfigNode& value, const std::string& key, int count,
                                      std::string_view member, std::string_view owner) {
  const auto number = [&](std::string_view text) {
    int n = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < 0)
      value.fail(fmt::format("key '{}': keys are {} numbers or ranges such as 4-7", key, member));
    return n;
  };
  const std::size_t dash = key.find('-');
  const int first = number(std::string_view(key).substr(0, dash));
  const int last = dash == std::string::npos ? first : number(std::string_view(key).substr(dash + 1));
  if (last < first) value.fail(fmt::format("key '{}': the range is empty", key));
  if (last >= count) value.fail(fmt::format("{} {} does not exist ({} has {})", member, last, owner, count));
  return {first, last};
}

}  // namespace dmlsim::core
