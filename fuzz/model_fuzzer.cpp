// A model file's text through the model loader.
#include "core/config_node.hpp"
#include "core/model.hpp"
#include "fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size, [](std::string_view text) {
    const auto root = dmlsim::core::ConfigNode::load_string(text, DMLSIM_SOURCE_DIR "/models/fuzz.yaml");
    root.expect_only({"model"});
    dmlsim::core::parse_model(root.at("model"));
  });
}
