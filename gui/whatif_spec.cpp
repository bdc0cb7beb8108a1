#include "gui/whatif_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>

namespace dmlsim::gui {
namespace {
constexpr std::string_view kProgressPrefix = "simulated ";
}

const std::vector<std::string>& known_strategies() {
  static const std::vector<std::string> kinds = {"data-parallel", "collective", "parameter-server"};
  return kinds;
}

std::vector<std::pair<std::string, std::string>> default_options(std::string_view strategy) {
  if (strategy == "data-parallel")
    return {{"allreduce", "ring"}, {"bucket_size", "25MiB"}, {"overlap", "true"}, {"optimizer", "adam"}};
  if (strategy == "collective")
    return {{"collective", "all-reduce"}, {"algorithm", "ring"}, {"size", "256MiB"}};
  if (strategy == "parameter-server") return {{"mode", "sync"}, {"servers", "1"}};
  return {};
}

std::string experiment_yaml(const WhatIfSpec& spec) {
  YAML::Emitter out;
  out << YAML::Comment("Written by dmlsim-gui's what-if dialog") << YAML::Newline;
  out << YAML::BeginMap << YAML::Key << "experiment" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << spec.name;
  out << YAML::Key << "platform" << YAML::Value << spec.platform;
  if (!spec.model.empty()) out << YAML::Key << "model" << YAML::Value << spec.model;
  if (spec.ranks > 0) out << YAML::Key << "ranks" << YAML::Value << spec.ranks;
  out << YAML::Key << "iterations" << YAML::Value << spec.iterations;
  out << YAML::Key << "strategy" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "type" << YAML::Value << spec.strategy;
  for (const auto& [key, value] : spec.options) out << YAML::Key << key << YAML::Value << value;
  out << YAML::EndMap;
  out << YAML::Key << "simulation" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "fidelity" << YAML::Value << spec.fidelity;
  out << YAML::Key << "trace" << YAML::Value << spec.trace;
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> run_arguments(const std::string& experiment_file, const std::string& out_dir) {
  return {"run", experiment_file, "--out", out_dir, "--progress"};
}

std::optional<double> last_progress(std::string_view text) {
  std::optional<double> last;
  for (std::size_t at = text.find(kProgressPrefix); at != std::string_view::npos;
       at = text.find(kProgressPrefix, at + 1)) {
    const char* first = text.data() + at + kProgressPrefix.size();
    double v = 0;
    const auto [end, ec] = std::from_chars(first, text.data() + text.size(), v);
    if (ec == std::errc() &&
        std::string_view(end, static_cast<std::size_t>(text.data() + text.size() - end)).starts_with(" s"))
      last = v;
  }
  return last;
}

std::string without_progress(std::string_view text) {
  // Progress overwrites itself with '\r': keep only what follows the last '\r' of each line, and
  // drop what is left blank.
  std::string out;
  std::size_t line_start = 0;
  while (line_start <= text.size()) {
    std::size_t line_end = text.find('\n', line_start);
    const bool last = line_end == std::string_view::npos;
    if (last) line_end = text.size();
    std::string_view line = text.substr(line_start, line_end - line_start);
    const std::size_t cr = line.rfind('\r');
    if (cr != std::string_view::npos) line = line.substr(cr + 1);
    if (line.find_first_not_of(' ') != std::string_view::npos) {
      out.append(line);
      if (!last) out += '\n';
    }
    if (last) break;
    line_start = line_end + 1;
  }
  return out;
}

}  // namespace dmlsim::gui
