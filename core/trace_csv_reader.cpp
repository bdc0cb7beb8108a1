#include "core/trace_csv_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/csv_records.hpp"
#include "core/trace_fields.hpp"

namespace dmlsim::core {
namespace {

// What a column holds: a field of the table, an attribute, or nothing dmlsim reads.
struct Column {
  enum class Kind : std::uint8_t { ignored, field, attribute } kind = Kind::ignored;
  std::size_t index = 0;
};

class CsvParser {
 public:
  CsvParser(std::string_view text, std::string_view source) : text_(text), records_(text), source_(source) {}

  Trace parse() {
    if (text_.find_first_not_of(" \t\r\n") == std::string_view::npos)
      throw TraceReadError(fmt::format("{}: empty file (expected a trace.csv header)", source_));
    header();
    std::vector<std::string> cells;
    while (!records_.at_end()) {
      row_line_ = records_.line();
      row(cells);
      if (cells.size() == 1 && cells[0].empty()) continue;  // a blank line
      if (cells.size() != columns_.size())
        fail(fmt::format("expected {} columns as in the header, found {}", columns_.size(), cells.size()));
      event(cells);
    }
    std::size_t ranks = 0;
    for (const TraceEvent& e : trace_.events()) ranks = std::max(ranks, static_cast<std::size_t>(e.rank) + 1);
    trace_.ranks.assign(ranks, RankPlacement{-1, 0, ""});
    return std::move(trace_);
  }

 private:
  void header() {
    row_line_ = records_.line();
    std::vector<std::string> names;
    row(names);
    std::vector<bool> seen(kTraceFieldCount, false);
    for (const std::string& name : names) {
      Column c;
      if (const std::size_t f = trace_field_index(name); f < kTraceFieldCount) {
        c = {Column::Kind::field, f};
        seen[f] = true;
      } else if (const std::size_t a = attribute_index(name); a < kAttributeCount) {
        c = {Column::Kind::attribute, a};
      }
      columns_.push_back(c);
    }
    for (std::size_t f = 0; f < kTraceFieldCount; ++f) {
      if (kTraceFields[f].required && kTraceFields[f].set != nullptr && !seen[f])
        fail(fmt::format("no column '{}' in the header (every trace.csv dmlsim writes has it)",
                         kTraceFields[f].column));
    }
  }

  // One record, which may span lines where a quoted cell holds a newline.
  void row(std::vector<std::string>& cells) {
    if (!records_.next(cells)) fail("a quoted cell is not closed before the end of the file");
  }

  void event(const std::vector<std::string>& cells) {
    TraceEvent e;
    for (std::size_t k = 0; k < cells.size(); ++k) {
      const Column& c = columns_[k];
      if (c.kind == Column::Kind::attribute) {
        const std::int64_t v =
            integer(cells[k], kAttributes[c.index].name, -1, std::numeric_limits<int>::max());
        e.attributes.set_at(c.index, static_cast<int>(v));
        continue;
      }
      if (c.kind != Column::Kind::field) continue;
      const TraceField& f = kTraceFields[c.index];
      if (f.set == nullptr) continue;  // derived (duration_s)
      FieldValue v;
      if (f.unit == FieldUnit::text) {
        v.integer = trace_.intern(cells[k]);
      } else if (f.unit == FieldUnit::lane) {
        try {
          v.integer = static_cast<std::int64_t>(parse_lane(cells[k]));
        } catch (const ValueError& error) {
          fail(fmt::format("column '{}': {}", f.column, error.what()));
        }
      } else if (is_real(f.unit)) {
        v.real = real(cells[k], f.column);
      } else {
        v.integer = integer(cells[k], f.column, unset_value(f).integer, f.max);
      }
      f.set(e, v);
    }
    trace_.add(e);
  }

  std::int64_t integer(const std::string& cell, std::string_view column, std::int64_t lo, std::int64_t hi) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
    if (ec != std::errc() || end != cell.data() + cell.size())
      fail(fmt::format("column '{}' must be an integer, found '{}'", column, cell));
    if (v < lo || v > hi)
      fail(fmt::format("column '{}' out of range: {} (expected {} to {})", column, v, lo, hi));
    return v;
  }

  double real(const std::string& cell, std::string_view column) {
    double v = 0;
    const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
    if (ec != std::errc() || end != cell.data() + cell.size())
      fail(fmt::format("column '{}' must be a number, found '{}'", column, cell));
    return v;
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw TraceReadError(fmt::format("{}:{}: {}", source_, row_line_, problem));
  }

  std::string_view text_;
  CsvRecords records_;
  std::string_view source_;
  int row_line_ = 1;  // where the record being read starts
  std::vector<Column> columns_;
  Trace trace_;
};

}  // namespace

Trace parse_csv_trace(std::string_view text, std::string_view source) {
  return CsvParser(text, source).parse();
}

Trace read_csv_trace(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TraceReadError(fmt::format("{}: cannot be read", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_csv_trace(text.str(), file.string());
}

}  // namespace dmlsim::core
