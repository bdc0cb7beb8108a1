#pragma once
// A small CSV file the user writes (availability windows, per-client profiles): its header and
// its rows, every cell trimmed, blank lines skipped. Every error names the file and the line.
#include <charconv>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmlsim::core {

struct CsvFile {
  struct Row {
    int line = 0;
    std::vector<std::string> cells;
  };
  std::string name;  // the path, for messages
  int header_line = 0;
  std::vector<std::string> header;
  std::vector<Row> rows;

  // Throws ConfigError "FILE:LINE: message".
  [[noreturn]] void fail(int line, std::string_view message) const;
  std::optional<std::size_t> column(std::string_view name) const;
};

// The CSV `text` of the file `name`. Text without a header is an error naming `expected_header`.
CsvFile parse_csv_file(std::string_view text, std::string name, std::string_view expected_header);
// Reads `file`; `what` names it when it cannot be read ("availability trace").
CsvFile read_csv_file(const std::filesystem::path& file, std::string_view what,
                      std::string_view expected_header);

// The cell as a number of type T when it is one, whole (no unit, no trailing text).
template <typename T>
std::optional<T> number_cell(std::string_view cell) {
  T value{};
  const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (error != std::errc{} || end != cell.data() + cell.size()) return std::nullopt;
  return value;
}

// A time in a cell: plain seconds (as logs give them) or a duration with its unit ("90min", "2h").
// Throws ValueError.
double parse_time_cell(const std::string& cell);

}  // namespace dmlsim::core
