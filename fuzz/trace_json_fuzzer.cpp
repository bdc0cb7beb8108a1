// A trace.json's text through the Chrome-trace reader (the JSON scanner the GUI and validate use).
#include "core/trace_reader.hpp"
#include "fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size,
                  [](std::string_view text) { dmlsim::core::parse_chrome_trace(text, "fuzz.json"); });
}
