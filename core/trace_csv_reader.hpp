#pragma once
// Reads back the trace.csv that trace_writer.hpp writes: one row per event, columns found by the
// header's names (kTraceFields, then the attributes), so a file with extra columns, or from before
// a field was added, still reads. Calibration and validation read runs through this one reader.
#include <filesystem>
#include <string_view>

#include "core/trace.hpp"
#include "core/trace_reader.hpp"

namespace dmlsim::core {

// Reads `file` (a trace.csv). Events come back in file order; ranks' placements are unknown
// (trace.csv does not hold them), so Trace::ranks has one empty placement per rank seen.
// Throws TraceReadError naming the file, the line and the column.
Trace read_csv_trace(const std::filesystem::path& file);

// Parses `text`, a whole trace.csv; `source` names it in error messages.
Trace parse_csv_trace(std::string_view text, std::string_view source);

}  // namespace dmlsim::core
