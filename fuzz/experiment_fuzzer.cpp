// An experiment file's text through the experiment loader and the strategy it names (its options
// are checked as it is made). Relative paths resolve in experiments/, as for the shipped files.
#include "core/config_node.hpp"
#include "core/experiment.hpp"
#include "fuzz/fuzz_target.hpp"
#include "strategies/strategy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size, [](std::string_view text) {
    const auto root = dmlsim::core::ConfigNode::load_string(text, DMLSIM_SOURCE_DIR "/experiments/fuzz.yaml");
    root.expect_only({"experiment"});
    const dmlsim::core::Experiment e =
        dmlsim::core::parse_experiment(root.at("experiment"), dmlsim::strategies::strategy_field_homes());
    dmlsim::strategies::make_strategy(e);
  });
}
