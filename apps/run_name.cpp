#include "apps/run_name.hpp"

#include <fmt/format.h>

#include <cctype>

namespace dmlsim::apps {
namespace {

// Letters, digits, '.' and '_' (core::valid_name accepts them), others as '-', no '-' twice in a row or at
// either end; at most `limit` characters.
std::string name_part(std::string_view text, std::size_t limit) {
  std::string out;
  for (const char c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_';
    if (keep) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
    if (out.size() >= limit) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace

std::string run_name(std::string_view experiment_name, const Overrides& overrides) {
  std::string name(experiment_name);
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
    if (it->first == "name") return it->second;  // the last one, as the loader applies them
  }
  for (const auto& [field, value] : overrides) {
    const std::size_t dot = field.rfind('.');
    const std::string key = name_part(dot == std::string::npos ? field : field.substr(dot + 1), 32);
    const std::string shown = name_part(value, 48);
    name += fmt::format("_{}{}{}", key, shown.empty() ? "" : "-", shown);
  }
  return name;
}

std::string unused_name(const std::filesystem::path& parent, const std::string& name) {
  std::error_code ec;
  std::string candidate = name;
  for (int k = 2; std::filesystem::exists(parent / candidate, ec); ++k)
    candidate = fmt::format("{}-{}", name, k);
  return candidate;
}

}  // namespace dmlsim::apps
