#include "apps/trace_csv.hpp"

#include <fmt/format.h>

#include <fstream>

#include "core/errors.hpp"

namespace dmlsim::apps {

namespace {

// Splits one CSV line; fields may be quoted ("a,b" with "" for a quote), as trace_writer writes them.
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace

std::vector<CsvEvent> read_trace_csv(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw core::BackendError(fmt::format("{}: cannot be read", file.string()));
  std::vector<CsvEvent> events;
  std::string line;
  std::getline(in, line);  // rank,lane,name,category,start_s,end_s,duration_s,bytes,flops,peer,iteration,...
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    const std::vector<std::string> f = split_csv(line);
    if (f.size() < 11)
      throw core::BackendError(fmt::format("{}:{}: expected 15 columns", file.string(), number));
    try {
      events.push_back({std::stoi(f[0]), f[1], f[2], f[3], std::stod(f[4]), std::stod(f[5]), std::stod(f[6]),
                        std::stod(f[7]), std::stoi(f[10])});
    } catch (const std::exception&) {
      throw core::BackendError(fmt::format("{}:{}: malformed row", file.string(), number));
    }
  }
  return events;
}

}  // namespace dmlsim::apps
