#pragma once
// One libFuzzer target: the bytes as a file's text, handed to one of dmlsim's readers. Bad input
// must end in the errors dmlsim reports as bad input (core::ConfigError, core::ValueError, the
// trace readers' TraceReadError, a ConfigError); anything else escaping — another exception, a crash, a
// sanitizer report, a hang, memory without bound — is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/errors.hpp"

// Runs `read(text)`, swallowing the errors that mean "bad input, reported".
template <typename Read>
int fuzz_one(const std::uint8_t* data, std::size_t size, Read read) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    read(text);
  } catch (const dmlsim::core::ConfigError&) {
  } catch (const dmlsim::core::ValueError&) {
  }
  return 0;
}
