#include "apps/child_process.hpp"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "core/errors.hpp"

extern char** environ;

namespace dmlsim::apps {

ChildProcess ChildProcess::spawn_self(const std::vector<std::string>& args) {
  std::vector<std::string> argv_storage{"/proc/self/exe"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  ChildProcess child;
  const int rc = posix_spawn(&child.pid_, "/proc/self/exe", nullptr, nullptr, argv.data(), environ);
  if (rc != 0) throw core::BackendError(fmt::format("cannot start a dmlsim child process: {}", std::strerror(rc)));
  return child;
}

int ChildProcess::wait() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw core::BackendError(fmt::format("waitpid failed: {}", std::strerror(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace dmlsim::apps
