#pragma once
// sweep.csv: one row per point — its number, its value on each axis, whether it ran, the error
// if not, its output directory (relative to the CSV), then every figure of its summary.json.
// Figure columns are the union over the rows, in name order, so that a sweep run in shards and
// merged gives the same file as the sweep run whole.
#include <filesystem>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dmlsim::apps {

struct SweepRow {
  int point = 0;
  std::vector<std::string> values;  // one per axis
  std::string status;               // ok | failed
  std::string error;                // failed: what the run (or its input) said
  std::string output;               // the point's directory, relative to sweep.csv
  std::map<std::string, std::string> figures;
};

struct SweepTable {
  std::vector<std::string> axes;  // the axes' fields, in order
  std::vector<SweepRow> rows;
};

// Every figure of a summary.json, by column name: each number, string or boolean, objects
// flattened with dots (parallelism.dp); of its lists, the busiest link (busiest_link.*, the first
// of `links`), the collective when the run has one kind (collective.*: algbw_GBps, busbw_GBps...)
// and each of several jobs on one network by its name (job.NAME.slowdown...). Per-rank and per-iteration
// lists stay in summary.json. Numbers read back exactly.
std::map<std::string, std::string> summary_figures(const nlohmann::json& summary);

// The CSV, rows by point number. Fields holding a comma, a quote or a line break are quoted.
void write_sweep_csv(const SweepTable& table, std::ostream& out);

// Reads a sweep.csv; throws core::ConfigError naming the file and line when it is not one.
SweepTable read_sweep_csv(const std::filesystem::path& file);
// The same from the text of `file` (named in errors).
SweepTable parse_sweep_csv(std::string_view text, const std::string& file);

// The shards of one sweep as one table; throws core::ConfigError when their axes differ or a
// point is in two of them.
SweepTable merge_sweep_tables(const std::vector<std::filesystem::path>& files);

}  // namespace dmlsim::apps
