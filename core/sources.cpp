#include "core/sources.hpp"

#include <fmt/format.h>

namespace dmlsim::core {
namespace {

// Whether `path` ("nvlink.efficiency") names a field below `node`. Recursive: a ConfigNode is
// never assigned (a YAML::Node assignment would overwrite the node it refers to).
bool has_path(const ConfigNode& node, std::string_view path) {
  const std::size_t dot = path.find('.');
  const std::string_view key = path.substr(0, dot);
  if (key.empty() || !node.is_map() || !node.has(key)) return false;
  return dot == std::string_view::npos || has_path(node.at(key), path.substr(dot + 1));
}

}  // namespace

std::vector<FigureSource> parse_sources(const ConfigNode& owner) {
  std::vector<FigureSource> out;
  const auto sources = owner.find("sources");
  if (!sources) return out;
  if (!sources->is_map())
    sources->fail("expected a mapping of field to \"measured|published|assumed: source\"");
  for (const std::string& field : sources->keys()) {
    const ConfigNode value = sources->at(field);
    if (field == "sources" || !has_path(owner, field)) {
      value.fail(fmt::format("names the field '{}', which this mapping does not have", field));
    }
    const std::string text = value.as_string();
    const std::size_t colon = text.find(':');
    const std::string kind = text.substr(0, colon);
    FigureSource s{field, SourceKind::assumed, ""};
    if (kind == "measured") {
      s.kind = SourceKind::measured;
    } else if (kind == "published") {
      s.kind = SourceKind::published;
    } else if (kind != "assumed") {
      value.fail("must start with measured, published or assumed (then ': ' and the source)");
    }
    if (colon != std::string::npos) {
      s.citation = text.substr(colon + 1);
      s.citation.erase(0, s.citation.find_first_not_of(' '));
    }
    if (s.kind != SourceKind::assumed && s.citation.empty()) {
      value.fail(fmt::format("a {} figure names its source: \"{}: where it comes from\"", kind, kind));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace dmlsim::core
