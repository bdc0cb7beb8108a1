#include "core/interrupts.hpp"

#include <fmt/format.h>
#include <signal.h>

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

}  // namespace

void handle_interrupts() {
  const sigset_t set = interrupt_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int signal = 0;
    while (sigwait(&set, &signal) != 0) {
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
