#pragma once
// Runs dmlsim itself as a child process. SimGrid allows one engine per process, so every
// simulation of a demo or sweep gets its own process.
#include <string>
#include <vector>

namespace dmlsim::apps {

class ChildProcess {
 public:
  // Starts this executable with `args` (not including argv[0]).
  static ChildProcess spawn_self(const std::vector<std::string>& args);
  // Waits and returns the exit code (128 + signal when killed).
  int wait();

 private:
  int pid_ = -1;
};

}  // namespace dmlsim::apps
