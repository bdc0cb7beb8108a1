#pragma once
// A read-only view of one YAML node that remembers which file it came from and the dotted path of
// the field, so that every error can say "file:line: field 'a.b.c': what is wrong".
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmlsim::core {

// Where fields live that a user may write in the wrong section: field name → the dotted path of
// the section it belongs under ("allreduce" → "experiment.strategy").
using FieldHomes = std::map<std::string, std::string, std::less<>>;

// While one lives, every file ConfigNode::load_file reads on this thread is recorded with its
// text: what a sweep hashes to tell that a point's inputs (the experiment and every platform,
// model and device file it names) are those of an earlier run. Recorders nest.
class LoadedFiles {
 public:
  LoadedFiles();
  ~LoadedFiles();
  LoadedFiles(const LoadedFiles&) = delete;
  LoadedFiles& operator=(const LoadedFiles&) = delete;
  // (path as given, text), in the order they were read.
  const std::vector<std::pair<std::string, std::string>>& files() const { return files_; }

 private:
  friend class ConfigNode;
  std::vector<std::pair<std::string, std::string>> files_;
  LoadedFiles* outer_;
};

class ConfigNode {
 public:
  // Parses a YAML file. Throws ConfigError naming the file when it is missing or malformed.
  static ConfigNode load_file(const std::filesystem::path& path);
  // Parses YAML text; `origin` names it in error messages (a path, or e.g. "<builtin h100>").
  static ConfigNode load_string(std::string_view text, const std::string& origin);
  // Replaces (or adds) the value at a dotted path, e.g. "experiment.strategy.allreduce" = "tree";
  // the value is parsed as YAML ("[1, 2]" is a list). For command-line overrides.
  void set(std::string_view dotted_path, std::string_view yaml_value);

  const std::string& file() const { return *file_; }
  const std::string& path() const { return path_; }
  int line() const;  // 1-based line of this node in its file

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool has(std::string_view key) const;

  ConfigNode at(std::string_view key) const;  // required child
  std::optional<ConfigNode> find(std::string_view key) const;
  std::vector<ConfigNode> items() const;  // elements of a sequence
  std::vector<std::string> keys() const;  // keys of a map, in file order

  // This node as YAML in flow style ("{type: ring, size: 1MiB}"), as --set takes a value.
  std::string as_flow_yaml() const;

  // Scalars of this node.
  std::string as_string() const;
  std::int64_t as_int() const;
  double as_double() const;
  bool as_bool() const;
  std::uint64_t as_bytes() const;
  double as_bandwidth() const;
  double as_duration() const;
  double as_flop_rate() const;

  // Required children, converted.
  std::string string(std::string_view key) const { return at(key).as_string(); }
  std::int64_t integer(std::string_view key) const { return at(key).as_int(); }
  double number(std::string_view key) const { return at(key).as_double(); }
  bool boolean(std::string_view key) const { return at(key).as_bool(); }
  std::uint64_t bytes(std::string_view key) const { return at(key).as_bytes(); }
  double bandwidth(std::string_view key) const { return at(key).as_bandwidth(); }
  double duration(std::string_view key) const { return at(key).as_duration(); }

  // Optional children with a default.
  std::string string_or(std::string_view key, std::string_view fallback) const;
  std::int64_t integer_or(std::string_view key, std::int64_t fallback) const;
  double number_or(std::string_view key, double fallback) const;
  bool boolean_or(std::string_view key, bool fallback) const;
  std::uint64_t bytes_or(std::string_view key, std::uint64_t fallback) const;
  double duration_or(std::string_view key, double fallback) const;

  // An integer in [min, max]; the error names the range.
  std::int64_t integer_in(std::string_view key, std::int64_t min, std::int64_t max) const;
  std::int64_t integer_in_or(std::string_view key, std::int64_t min, std::int64_t max,
                             std::int64_t fallback) const;

  // Fails on any key not in `allowed` (typos must not be silently ignored). A key that is a field
  // of another section (`elsewhere`: key → that section's path) is said to belong there.
  void expect_only(std::span<const std::string_view> allowed, const FieldHomes& elsewhere = {}) const;
  void expect_only(std::initializer_list<std::string_view> allowed, const FieldHomes& elsewhere = {}) const {
    expect_only(std::span<const std::string_view>(allowed.begin(), allowed.size()), elsewhere);
  }
  // Resolves a path written in this file relative to the file's directory.
  std::filesystem::path resolve_path(const std::string& relative) const;

  // Throws ConfigError "file:line: field 'path': message" for this node.
  [[noreturn]] void fail(std::string_view message) const;

 private:
  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path, int parent_line,
             std::shared_ptr<std::vector<std::string>> overrides);
  bool overridden() const;
  std::string key_name(const YAML::Node& key) const;  // a mapping key's text; fails unless a scalar
  std::string child_path(std::string_view key) const;
  template <typename T>
  T convert(std::string_view what) const;

  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::shared_ptr<std::vector<std::string>> overrides_;  // dotted paths set from the command line
  std::string path_;
  int parent_line_;
};

// A key of a per-member mapping (`host_links`, a federated run's `samples`): one index ("3") or a
// range ("4-7"), each below `count`; fails on `value` otherwise, naming the key: "keys are host
// numbers or ranges such as 4-7", "host 9 does not exist (the platform has 8)".
std::pair<int, int> parse_index_range(const ConfigNode& value, const std::string& key, int count,
                                      std::string_view member, std::string_view owner);

}  // namespace dmlsim::core
