// A trace.csv's text through the CSV trace reader.
#include "core/trace_csv_reader.hpp"
#include "fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size, [](std::string_view text) { dmlsim::core::parse_csv_trace(text, "fuzz.csv"); });
}
