#pragma once
// The records of a CSV text (RFC 4180), one at a time: cells split at commas; a quoted cell may
// hold commas, doubled quotes ("") and line breaks; \r before \n is dropped. What the trace.csv
// and sweep.csv readers share.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dmlsim::core {

class CsvRecords {
 public:
  explicit CsvRecords(std::string_view text) : text_(text) {}
  bool at_end() const { return pos_ >= text_.size(); }
  // The 1-based line where the next record starts.
  int line() const { return line_; }
  // Reads the next record into `cells` (one empty cell for a blank line); false when the text
  // ends inside a quoted cell.
  bool next(std::vector<std::string>& cells);

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace dmlsim::core
