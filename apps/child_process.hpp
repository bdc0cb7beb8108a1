#pragma once
// Runs dmlsim itself as a child process. SimGrid allows one engine per process, so every
// simulation of a demo or sweep gets its own process.
#include <string>
#include <vector>

namespace dmlsim::apps {

struct ChildUsage {
  double max_rss_bytes = 0;  // peak resident memory of the child
};

class ChildProcess {
 public:
  // Starts this executable with `args` (not including argv[0]).
  static ChildProcess spawn_self(const std::vector<std::string>& args);
  // Starts `program` with `args`; its standard output and error go to `log` when not empty.
  static ChildProcess spawn(const std::string& program, const std::vector<std::string>& args,
                            const std::string& log = "");
  // Waits and returns the exit code (128 + signal when killed); fills `usage` when given.
  int wait(ChildUsage* usage = nullptr);

 private:
  int pid_ = -1;
};

}  // namespace dmlsim::apps
