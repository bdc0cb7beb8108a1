// A CSV file of a population through the readers of availability traces (an elastic job's nodes, an
// edge class's clients) and of per-client profiles.
#include "core/availability_trace.hpp"
#include "core/client_trace.hpp"
#include "fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_one(data, size, [](std::string_view text) {
    dmlsim::core::availability_windows(dmlsim::core::parse_csv_file(text, "fuzz.csv", "client,from,to"),
                                       "client");
  });
  return fuzz_one(data, size, [](std::string_view text) {
    dmlsim::core::client_profiles(dmlsim::core::parse_csv_file(text, "fuzz.csv", "down,up"));
  });
}
