#include "core/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/errors.hpp"

extern char** environ;

namespace dmlsim::core {

namespace {

int decode_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

ChildProcess ChildProcess::spawn_self(const std::vector<std::string>& args, const SpawnOptions& options) {
  return spawn("/proc/self/exe", args, options);
}

ChildProcess ChildProcess::spawn(const std::string& program, const std::vector<std::string>& args,
                                 const SpawnOptions& options) {
  std::vector<std::string> argv_storage{program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), options.environment.begin(), options.environment.end());
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!options.log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, options.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The parent may block SIGINT/SIGTERM/SIGHUP for its watcher thread (core/interrupts.hpp): the
  // child starts with nothing blocked and default handling, so that it can be stopped.
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  if (options.own_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  posix_spawnattr_setflags(&attributes, flags);
  ChildProcess child;
  child.group_ = options.own_process_group;
  const int rc = posix_spawnp(&child.pid_, program.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) throw BackendError(fmt::format("cannot start {}: {}", program, std::strerror(rc)));
  return child;
}

int ChildProcess::wait(ChildUsage* usage) {
  int status = 0;
  struct rusage ru {};
  while (wait4(pid_, &status, 0, &ru) < 0) {
    if (errno != EINTR)
      throw BackendError(fmt::format("waiting for process {} failed: {}", pid_, std::strerror(errno)));
  }
  if (usage != nullptr) usage->max_rss_bytes = static_cast<double>(ru.ru_maxrss) * 1024;  // Linux: KiB
  return decode_status(status);
}

std::optional<int> ChildProcess::wait_for(std::chrono::duration<double> timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const int r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) return decode_status(status);
    if (r < 0 && errno != EINTR)
      throw BackendError(fmt::format("waiting for process {} failed: {}", pid_, std::strerror(errno)));
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ChildProcess::kill(int signal) {
  ::kill(group_ ? -pid_ : pid_, signal);
}

CommandResult run_command(const std::vector<std::string>& argv) {
  char path[] = "/tmp/dmlsim-command-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw BackendError(fmt::format("cannot create a temporary file: {}", std::strerror(errno)));
  close(fd);
  SpawnOptions options;
  options.log = path;
  ChildProcess child = ChildProcess::spawn(argv.front(), {argv.begin() + 1, argv.end()}, options);
  CommandResult result;
  result.exit_code = child.wait();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  unlink(path);
  return result;
}

}  // namespace dmlsim::core
