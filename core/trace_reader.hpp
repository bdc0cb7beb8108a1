#pragma once
// Reads back the Chrome trace JSON that trace_writer.hpp writes: every X event carries its fields in
// "args" (those of trace_fields.hpp's table that are set, and the attributes), process_name
// metadata names each rank's node and host, otherData the run's label. The GUI and `dmlsim validate`
// read runs through this one reader, so there is one trace format.
//
// What does not come back: RankPlacement::host (the platform's host index is not in the file; it is
// -1), a counter sample's fields other than rank, name, time and value (ph C events carry only the
// plotted value), flow events (arrows are re-derived from send/recv pairs, which carry tag and seq), and the
// last bits of the times: the file holds microseconds, so start and end come back within a few ulps.
#include <filesystem>
#include <string_view>

#include "core/errors.hpp"
#include "core/trace.hpp"

namespace dmlsim::core {

// A trace that cannot be read. The message names the file and the problem, with line and column
// for malformed JSON and the event index (traceEvents[k]) for a missing or mistyped field.
class TraceReadError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

// Reads `file` (a trace.json). Events come back in file order.
Trace read_chrome_trace(const std::filesystem::path& file);

// Parses `text`, a whole trace.json; `source` names it in error messages.
Trace parse_chrome_trace(std::string_view text, std::string_view source);

}  // namespace dmlsim::core
