// A platform file's text through the platform loader.
#include "core/config_node.hpp"
#include "core/platform.hpp"
#include "fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_one(data, size, [](std::string_view text) {
    const auto root = dmlsim::core::ConfigNode::load_string(text, DMLSIM_SOURCE_DIR "/platforms/fuzz.yaml");
    root.expect_only({"platform"});
    dmlsim::core::parse_platform(root.at("platform"));
  });
}
