#include "core/csv_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/csv_records.hpp"
#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::core {
namespace {

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

void CsvFile::fail(int line, std::string_view message) const {
  throw ConfigError(fmt::format("{}:{}: {}", name, line, message));
}

std::optional<std::size_t> CsvFile::column(std::string_view wanted) const {
  const auto it = std::find(header.begin(), header.end(), wanted);
  if (it == header.end()) return std::nullopt;
  return static_cast<std::size_t>(it - header.begin());
}

CsvFile read_csv_file(const std::filesystem::path& file, std::string_view what,
                      std::string_view expected_header) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read the {}", file.string(), what));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_csv_file(text.str(), file.string(), expected_header);
}

CsvFile parse_csv_file(std::string_view text, std::string name, std::string_view expected_header) {
  CsvFile csv;
  csv.name = std::move(name);
  CsvRecords records(text);
  std::vector<std::string> cells;
  bool header = true;
  while (!records.at_end()) {
    const int line = records.line();
    if (!records.next(cells)) csv.fail(line, "a quoted field is not closed");
    if (cells.size() == 1 && trimmed(cells[0]).empty()) continue;  // a blank line
    for (std::string& c : cells) c = trimmed(c);
    if (header) {
      csv.header = cells;
      csv.header_line = line;
      header = false;
    } else {
      csv.rows.push_back({line, cells});
    }
  }
  if (header) throw ConfigError(fmt::format("{}: empty; the header must be {}", csv.name, expected_header));
  return csv;
}

double parse_time_cell(const std::string& cell) {
  if (const std::optional<double> seconds = number_cell<double>(cell)) return *seconds;
  return parse_duration(cell);
}

}  // namespace dmlsim::core
