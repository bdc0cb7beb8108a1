#include "apps/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "core/errors.hpp"

extern char** environ;

namespace dmlsim::apps {

ChildProcess ChildProcess::spawn_self(const std::vector<std::string>& args) {
  return spawn("/proc/self/exe", args);
}

ChildProcess ChildProcess::spawn(const std::string& program, const std::vector<std::string>& args,
                                 const std::string& log) {
  std::vector<std::string> argv_storage{program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  ChildProcess child;
  const int rc = posix_spawn(&child.pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw core::BackendError(fmt::format("cannot start {}: {}", program, std::strerror(rc)));
  return child;
}

int ChildProcess::wait(ChildUsage* usage) {
  int status = 0;
  struct rusage ru {};
  while (wait4(pid_, &status, 0, &ru) < 0) {
    if (errno != EINTR) throw core::BackendError(fmt::format("waitpid failed: {}", std::strerror(errno)));
  }
  if (usage != nullptr) usage->max_rss_bytes = static_cast<double>(ru.ru_maxrss) * 1024;  // Linux: KiB
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace dmlsim::apps
