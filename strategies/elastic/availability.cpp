#include "strategies/elastic/availability.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/csv_records.hpp"
#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::strategies {
namespace {

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

[[noreturn]] void fail_at(const std::string& file, int line, const std::string& message) {
  throw core::ConfigError(fmt::format("{}:{}: {}", file, line, message));
}

}  // namespace

std::vector<AvailabilityWindow> read_availability(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw core::ConfigError(fmt::format("{}: cannot read the availability trace", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  const std::string name = file.string();
  core::CsvRecords records(content);
  std::vector<std::string> cells;
  std::vector<AvailabilityWindow> windows;
  bool header = true;
  while (!records.at_end()) {
    const int line = records.line();
    if (!records.next(cells))
      throw core::ConfigError(fmt::format("{}:{}: a quoted field is not closed", name, line));
    if (cells.size() == 1 && trimmed(cells[0]).empty()) continue;  // a blank line
    for (std::string& c : cells) c = trimmed(c);
    const auto fail = [&](const std::string& message) { fail_at(name, line, message); };
    if (header) {
      if (cells != std::vector<std::string>{"node", "from", "to"}) fail("the header must be node,from,to");
      header = false;
      continue;
    }
    if (cells.size() != 3) fail(fmt::format("{} fields; a window is node,from,to", cells.size()));
    AvailabilityWindow w;
    w.line = line;
    const std::string& node = cells[0];
    const auto [end, error] = std::from_chars(node.data(), node.data() + node.size(), w.node);
    if (error != std::errc{} || end != node.data() + node.size() || w.node < 0)
      fail(fmt::format("field 'node': '{}' is not a node number", node));
    const auto time = [&](const std::string& cell, const char* field) {
      try {
        double t = 0;  // a plain number is seconds, as spot logs give them
        const auto [end_of_number, bad] = std::from_chars(cell.data(), cell.data() + cell.size(), t);
        if (bad != std::errc{} || end_of_number != cell.data() + cell.size()) t = core::parse_duration(cell);
        if (!(t >= 0)) fail(fmt::format("field '{}': {} is before the start", field, cell));
        return t;
      } catch (const core::ValueError& e) {
        fail_at(name, line, fmt::format("field '{}': {}", field, e.what()));
      }
    };
    w.from = time(cells[1], "from");
    if (!cells[2].empty()) w.to = time(cells[2], "to");
    if (!(w.to > w.from))
      fail(fmt::format("field 'to': the window ends at {} but starts at {}", cells[2], cells[1]));
    windows.push_back(w);
  }
  if (header) throw core::ConfigError(fmt::format("{}: empty; the header must be node,from,to", name));
  // Windows of a node in time order must not overlap.
  std::map<int, std::vector<const AvailabilityWindow*>> by_node;
  for (const AvailabilityWindow& w : windows) by_node[w.node].push_back(&w);
  for (auto& [node, list] : by_node) {
    std::sort(list.begin(), list.end(), [](const auto* a, const auto* b) { return a->from < b->from; });
    for (std::size_t k = 1; k < list.size(); ++k) {
      if (list[k]->from < list[k - 1]->to) {
        throw core::ConfigError(fmt::format("{}:{}: node {}'s window overlaps the one on line {}", name,
                                            list[k]->line, node, list[k - 1]->line));
      }
    }
  }
  return windows;
}

}  // namespace dmlsim::strategies
