#include "core/interrupts.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

namespace dmlsim::core {
namespace {

struct Registry {
  std::mutex mutex;
  std::uint64_t next = 0;
  std::map<std::uint64_t, std::pair<std::string, std::function<void()>>> cleanups;  // by age
};

Registry& registry() {
  static Registry r;
  return r;
}

sigset_t interrupt_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

[[noreturn]] void on_interrupt(int signal) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);  // held until exit: nothing registers or unregisters meanwhile
  std::cerr << fmt::format("\ndmlsim: interrupted ({})", strsignal(signal));
  for (auto it = r.cleanups.rbegin(); it != r.cleanups.rend(); ++it) {
    std::cerr << fmt::format("; {}", it->second.first) << std::flush;
    try {
      it->second.second();
    } catch (const std::exception& e) {
      std::cerr << fmt::format(" (failed: {})", e.what());
    }
  }
  std::cerr << std::endl;
  std::_Exit(128 + signal);
}

// The watcher's wake-up: the signal handler writes the signal's number here (write is
// async-signal-safe), the watcher reads it.
int wake_pipe[2] = {-1, -1};

extern "C" void forward_to_watcher(int signal) {
  const int saved = errno;
  const auto number = static_cast<unsigned char>(signal);
  [[maybe_unused]] const ssize_t written = write(wake_pipe[1], &number, 1);
  errno = saved;
}

}  // namespace

void handle_interrupts() {
  // Every thread blocks the signals (they inherit the mask of the thread that starts them) but the
  // watcher, so the kernel hands them to the watcher, whose handler wakes it. A handler rather than
  // sigwait: a thread that does not block them — AddressSanitizer's thread creation starts threads
  // with none blocked — then forwards them too, where sigwait would leave that thread to die of
  // the default action and take the process with it, cleanups undone.
  const sigset_t set = interrupt_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (pipe2(wake_pipe, O_CLOEXEC) != 0) {  // no watcher: a signal ends the process, cleanups undone
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    return;
  }
  struct sigaction action {};
  action.sa_handler = forward_to_watcher;
  sigfillset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal, &action, nullptr);
  std::thread([set] {
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    unsigned char signal = 0;
    while (read(wake_pipe[0], &signal, 1) != 1) {  // interrupted by its own handler: read again
    }
    on_interrupt(signal);
  }).detach();
}

InterruptCleanup::InterruptCleanup(std::string what, std::function<void()> cleanup) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  id_ = r.next++;
  r.cleanups.emplace(id_, std::make_pair(std::move(what), std::move(cleanup)));
}

InterruptCleanup::~InterruptCleanup() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.cleanups.erase(id_);
}

}  // namespace dmlsim::core
