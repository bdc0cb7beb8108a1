#include "core/availability_trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>

#include "core/csv_file.hpp"
#include "core/errors.hpp"

namespace dmlsim::core {

std::vector<AvailabilityWindow> read_availability(const std::filesystem::path& file, std::string_view key) {
  return availability_windows(read_csv_file(file, "availability trace", fmt::format("{},from,to", key)), key);
}

std::vector<AvailabilityWindow> availability_windows(const CsvFile& csv, std::string_view key) {
  const std::string header = fmt::format("{},from,to", key);
  if (csv.header != std::vector<std::string>{std::string(key), "from", "to"})
    csv.fail(csv.header_line, fmt::format("the header must be {}", header));
  std::vector<AvailabilityWindow> windows;
  for (const CsvFile::Row& row : csv.rows) {
    const auto fail = [&](const std::string& message) { csv.fail(row.line, message); };
    const std::vector<std::string>& cells = row.cells;
    if (cells.size() != 3) fail(fmt::format("{} fields; a window is {}", cells.size(), header));
    AvailabilityWindow w;
    w.line = row.line;
    const std::string& who = cells[0];
    const std::optional<int> number = number_cell<int>(who);
    if (!number || *number < 0) fail(fmt::format("field '{}': '{}' is not a {} number", key, who, key));
    w.key = *number;
    const auto time = [&](const std::string& cell, const char* field) {
      double t = 0;
      try {
        t = parse_time_cell(cell);
      } catch (const ValueError& e) {
        fail(fmt::format("field '{}': {}", field, e.what()));
      }
      if (!(t >= 0)) fail(fmt::format("field '{}': {} is before the start", field, cell));
      return t;
    };
    w.from = time(cells[1], "from");
    if (!cells[2].empty()) w.to = time(cells[2], "to");
    if (!(w.to > w.from))
      fail(fmt::format("field 'to': the window ends at {} but starts at {}", cells[2], cells[1]));
    windows.push_back(w);
  }
  // Windows of a member in time order must not overlap.
  std::map<int, std::vector<const AvailabilityWindow*>> by_key;
  for (const AvailabilityWindow& w : windows) by_key[w.key].push_back(&w);
  for (auto& [who, list] : by_key) {
    std::sort(list.begin(), list.end(), [](const auto* a, const auto* b) { return a->from < b->from; });
    for (std::size_t k = 1; k < list.size(); ++k) {
      if (list[k]->from < list[k - 1]->to) {
        csv.fail(list[k]->line,
                 fmt::format("{} {}'s window overlaps the one on line {}", key, who, list[k - 1]->line));
      }
    }
  }
  return windows;
}

}  // namespace dmlsim::core
