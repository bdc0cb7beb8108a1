// A sweep file's text through the sweep planner (axes, ranges, combinations), and the same bytes
// as a sweep.csv.
#include "apps/sweep_plan.hpp"
#include "apps/sweep_table.hpp"
#include "fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_one(data, size, [](std::string_view text) {
    dmlsim::apps::parse_sweep_plan(text, DMLSIM_SOURCE_DIR "/experiments/fuzz.yaml");
  });
  return fuzz_one(data, size, [](std::string_view text) { dmlsim::apps::parse_sweep_csv(text, "fuzz.csv"); });
}
