#include "gui/run_labels.hpp"

#include <algorithm>
#include <map>

namespace dmlsim::gui {
namespace {

// The last `depth` parts of a directory: "tree", then "compare/tree", ...
std::string tail(const std::filesystem::path& directory, int depth) {
  std::vector<std::string> parts;
  for (const auto& p : directory) {
    if (!p.empty() && p != "/") parts.push_back(p.string());
  }
  std::string out;
  for (std::size_t k = parts.size() > static_cast<std::size_t>(depth) ? parts.size() - depth : 0;
       k < parts.size(); ++k) {
    out += (out.empty() ? "" : "/") + parts[k];
  }
  return out;
}

}  // namespace

std::vector<std::string> distinct_labels(const std::vector<RunLabel>& runs) {
  std::vector<std::string> out;
  std::map<std::string, int> same_label;
  for (const RunLabel& r : runs) {
    out.push_back(r.label);
    ++same_label[r.label];
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (same_label.at(runs[i].label) < 2) continue;
    // The fewest trailing directory parts that tell this run from every other run of its label.
    std::string suffix;
    for (int depth = 1; depth <= 8 && suffix.empty(); ++depth) {
      const std::string mine = tail(runs[i].directory, depth);
      const bool unique = !mine.empty() && std::none_of(runs.begin(), runs.end(), [&](const RunLabel& other) {
        return &other != &runs[i] && other.label == runs[i].label && tail(other.directory, depth) == mine;
      });
      if (unique) suffix = mine;
    }
    out[i] += " — " + (suffix.empty() ? "#" + std::to_string(i + 1) : suffix);
  }
  return out;
}

}  // namespace dmlsim::gui
