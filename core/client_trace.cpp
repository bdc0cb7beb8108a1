#include "core/client_trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string>

#include "core/csv_file.hpp"
#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::core {
namespace {

constexpr std::array<std::string_view, 4> kColumns = {"compute", "down", "up", "latency"};
constexpr std::string_view kHeaderHelp = "some of compute,down,up,latency";

}  // namespace

std::vector<ClientProfile> read_client_trace(const std::filesystem::path& file) {
  return client_profiles(read_csv_file(file, "client trace", kHeaderHelp));
}

std::vector<ClientProfile> client_profiles(const CsvFile& csv) {
  for (const std::string& name : csv.header) {
    if (std::find(kColumns.begin(), kColumns.end(), name) == kColumns.end())
      csv.fail(csv.header_line, fmt::format("unknown column '{}': the header names {}", name, kHeaderHelp));
    if (std::count(csv.header.begin(), csv.header.end(), name) > 1)
      csv.fail(csv.header_line, fmt::format("column '{}' appears twice", name));
  }
  std::vector<ClientProfile> clients;
  for (const CsvFile::Row& row : csv.rows) {
    if (row.cells.size() != csv.header.size()) {
      csv.fail(row.line, fmt::format("{} fields; the header on line {} has {}", row.cells.size(),
                                     csv.header_line, csv.header.size()));
    }
    ClientProfile c;
    c.line = row.line;
    for (std::size_t i = 0; i < csv.header.size(); ++i) {
      const std::string& name = csv.header[i];
      const std::string& cell = row.cells[i];
      if (cell.empty()) continue;
      const auto fail = [&](std::string_view why) {
        csv.fail(row.line, fmt::format("field '{}': '{}' {}", name, cell, why));
      };
      double value = 0;
      try {
        if (name == "compute") {
          const std::optional<double> factor = number_cell<double>(cell);
          if (!factor) fail("is not a number");
          value = *factor;
        } else if (name == "latency") {
          value = parse_time_cell(cell);
        } else {
          value = parse_bandwidth(cell);
        }
      } catch (const ValueError& e) {
        fail(fmt::format("is not valid: {}", e.what()));
      }
      if (name == "latency" ? !(value >= 0) : !(value > 0))
        fail(name == "latency" ? "is not a latency of zero or more" : "is not positive");
      if (name == "compute") c.compute = value;
      if (name == "down") c.down = value;
      if (name == "up") c.up = value;
      if (name == "latency") c.latency = value;
    }
    clients.push_back(c);
  }
  if (clients.empty()) csv.fail(csv.header_line, "no clients: one row per client of the class");
  return clients;
}

}  // namespace dmlsim::core
