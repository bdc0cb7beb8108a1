#pragma once
// Starting, timing out and killing child processes (simulations of a sweep, mpirun and its
// ranks, tc and ip). Each child can lead its own process group, so a hung job and everything it
// started is killed with one signal. (DESIGN.md suggested Boost.Process; posix_spawn with
// POSIX_SPAWN_SETPGROUP does the same in a page of code.)
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace dmlsim::core {

struct ChildUsage {
  double max_rss_bytes = 0;  // peak resident memory of the child
};

struct SpawnOptions {
  std::string log;  // file for the child's stdout and stderr (empty: inherit ours)
  bool own_process_group = false;
  std::vector<std::string> environment;  // extra "NAME=value" entries
};

class ChildProcess {
 public:
  // Starts this executable with `args` (not including argv[0]).
  static ChildProcess spawn_self(const std::vector<std::string>& args, const SpawnOptions& options = {});
  // Starts `program` (a path, or a name looked up in $PATH) with `args`.
  static ChildProcess spawn(const std::string& program, const std::vector<std::string>& args,
                            const SpawnOptions& options = {});
  // Waits and returns the exit code (128 + signal when killed); fills `usage` when given.
  int wait(ChildUsage* usage = nullptr);
  // Waits at most `timeout`; nullopt if the child is still running.
  std::optional<int> wait_for(std::chrono::duration<double> timeout);
  // Sends `signal` to the child (to its whole group if it leads one).
  void kill(int signal);
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  bool group_ = false;
};

struct CommandResult {
  int exit_code = 0;
  std::string output;  // stdout and stderr together
};
// Runs a command to completion and captures what it printed.
CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace dmlsim::core
