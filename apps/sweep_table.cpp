#include "apps/sweep_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/csv_records.hpp"
#include "core/errors.hpp"
#include "core/summary.hpp"

namespace dmlsim::apps {
namespace {

std::string scalar_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_unsigned()) return fmt::format("{}", value.get<std::uint64_t>());
  if (value.is_number_integer()) return fmt::format("{}", value.get<std::int64_t>());
  if (value.is_number_float()) return fmt::format("{}", value.get<double>());  // shortest exact form
  return "";  // null: a figure the run does not have (memory on a collective)
}

void flatten(const nlohmann::json& value, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items())
      flatten(child, prefix.empty() ? key : prefix + "." + key, out);
  } else if (!value.is_array()) {
    out[prefix] = scalar_text(value);
  }
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// Every record of a CSV text (core/csv_records.hpp).
std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& file) {
  std::vector<std::vector<std::string>> records;
  core::CsvRecords reader(text);
  std::vector<std::string> cells;
  while (!reader.at_end()) {
    const int line = reader.line();
    if (!reader.next(cells))
      throw core::ConfigError(fmt::format("{}:{}: a quoted field is not closed", file, line));
    records.push_back(cells);
  }
  return records;
}

}  // namespace

std::map<std::string, std::string> summary_figures(const nlohmann::json& summary) {
  std::map<std::string, std::string> figures;
  flatten(summary, "", figures);
  if (const auto links = summary.find("links");
      links != summary.end() && links->is_array() && !links->empty())
    flatten(links->front(), "busiest_link", figures);
  // Several jobs on one network: each job's figures by its name (job.a.slowdown).
  if (const auto jobs = summary.find(core::kJobsKey); jobs != summary.end() && jobs->is_array()) {
    for (const nlohmann::json& job : *jobs) {
      if (job.is_object() && job.contains("name") && job["name"].is_string())
        flatten(job, "job." + job["name"].get<std::string>(), figures);
    }
  }
  if (const auto collectives = summary.find("collectives");
      collectives != summary.end() && collectives->is_array() && collectives->size() == 1)
    flatten(collectives->front(), "collective", figures);
  return figures;
}

void write_sweep_csv(const SweepTable& table, std::ostream& out) {
  std::set<std::string> columns;
  for (const SweepRow& row : table.rows) {
    for (const auto& [name, value] : row.figures) columns.insert(name);
  }
  std::vector<std::string> header{"point"};
  header.insert(header.end(), table.axes.begin(), table.axes.end());
  header.insert(header.end(), {"status", "error", "output"});
  header.insert(header.end(), columns.begin(), columns.end());
  std::vector<const SweepRow*> rows;
  for (const SweepRow& row : table.rows) rows.push_back(&row);
  std::sort(rows.begin(), rows.end(),
            [](const SweepRow* a, const SweepRow* b) { return a->point < b->point; });

  const auto write_record = [&](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) out << (i > 0 ? "," : "") << csv_field(fields[i]);
    out << "\n";
  };
  write_record(header);
  for (const SweepRow* row : rows) {
    std::vector<std::string> fields{std::to_string(row->point)};
    fields.insert(fields.end(), row->values.begin(), row->values.end());
    fields.insert(fields.end(), {row->status, row->error, row->output});
    for (const std::string& column : columns) {
      const auto it = row->figures.find(column);
      fields.push_back(it == row->figures.end() ? "" : it->second);
    }
    write_record(fields);
  }
}

SweepTable read_sweep_csv(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw core::ConfigError(fmt::format("{}: cannot be read", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return parse_sweep_csv(text.str(), file.string());
}

SweepTable parse_sweep_csv(std::string_view text, const std::string& file) {
  const std::vector<std::vector<std::string>> records = parse_csv(text, file);
  const auto bad = [&](std::size_t record, const std::string& why) {
    throw core::ConfigError(
        fmt::format("{}: record {}: {} (not a sweep.csv of dmlsim sweep?)", file, record + 1, why));
  };
  if (records.empty()) bad(0, "empty file");
  const std::vector<std::string>& header = records[0];
  std::size_t status = 1;
  while (status + 2 < header.size() &&
         !(header[status] == "status" && header[status + 1] == "error" && header[status + 2] == "output"))
    ++status;
  if (header[0] != "point" || status + 2 >= header.size())
    bad(0, "expected the header point,AXES...,status,error,output,...");
  SweepTable table;
  table.axes.assign(header.begin() + 1, header.begin() + static_cast<std::ptrdiff_t>(status));
  for (std::size_t r = 1; r < records.size(); ++r) {
    const std::vector<std::string>& f = records[r];
    if (f.size() != header.size())
      bad(r, fmt::format("{} fields where the header has {}", f.size(), header.size()));
    SweepRow row;
    try {
      std::size_t used = 0;
      row.point = std::stoi(f[0], &used);
      if (used != f[0].size() || row.point < 0) throw std::invalid_argument("");
    } catch (const std::exception&) {
      bad(r, fmt::format("point '{}' is not a number", f[0]));
    }
    row.values.assign(f.begin() + 1, f.begin() + static_cast<std::ptrdiff_t>(status));
    row.status = f[status];
    row.error = f[status + 1];
    row.output = f[status + 2];
    // Empty fields too: a column every row leaves empty (a figure the runs do not have) stays.
    for (std::size_t c = status + 3; c < f.size(); ++c) row.figures[header[c]] = f[c];
    table.rows.push_back(std::move(row));
  }
  return table;
}

SweepTable merge_sweep_tables(const std::vector<std::filesystem::path>& files) {
  SweepTable merged;
  std::map<int, std::string> seen;  // point → the file it came from
  for (std::size_t i = 0; i < files.size(); ++i) {
    SweepTable table = read_sweep_csv(files[i]);
    if (i == 0) {
      merged.axes = table.axes;
    } else if (table.axes != merged.axes) {
      throw core::ConfigError(fmt::format(
          "{}: its axes ({}) are not those of {} ({}): shards of another sweep?", files[i].string(),
          fmt::join(table.axes, ", "), files[0].string(), fmt::join(merged.axes, ", ")));
    }
    for (SweepRow& row : table.rows) {
      const auto [it, added] = seen.emplace(row.point, files[i].string());
      if (!added) {
        throw core::ConfigError(fmt::format("{}: point {} is in {} too: shards overlap", files[i].string(),
                                            row.point, it->second));
      }
      merged.rows.push_back(std::move(row));
    }
  }
  return merged;
}

}  // namespace dmlsim::apps
