#pragma once
// Error types shared by every part of dmlsim. main() turns a ConfigError into one message and exit code 2.
#include <stdexcept>
#include <string>

namespace dmlsim::core {

// Bad input: a platform, model, experiment or command-line value. The message already names
// file:line and the field, so it can be printed as is.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value that fails to parse, before the caller knows which file and field it came from
// (units.hpp throws it; the YAML reader rethrows it as a ConfigError with the location).
class ValueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A backend failed while running (SimGrid, MPI, CUDA, a process that hung).
class BackendError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace dmlsim::core
