#pragma once
// Ctrl-C, SIGTERM and SIGHUP as an orderly exit: a real run interrupted half-way must still take
// its testbed down and stop its ranks. handle_interrupts() blocks the three signals in every thread
// (call it first in main, before any thread exists, so that all inherit the mask) but the watcher
// thread it starts, which receives them; on one it runs the cleanups registered at that moment, newest
// first, and exits with 128 + the signal. Children started by ChildProcess get the default signal
// handling back.
#include <cstdint>
#include <functional>
#include <string>

namespace dmlsim::core {

void handle_interrupts();

// Registers `cleanup` (with a short description for the message) for as long as it lives.
class InterruptCleanup {
 public:
  InterruptCleanup(std::string what, std::function<void()> cleanup);
  ~InterruptCleanup();
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;

 private:
  std::uint64_t id_;
};

}  // namespace dmlsim::core
