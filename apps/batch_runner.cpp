#include "apps/batch_runner.hpp"

#include <fmt/format.h>

#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "core/child_process.hpp"
#include "core/errors.hpp"
#include "core/interrupts.hpp"
#include "core/units.hpp"

namespace dmlsim::apps {

int effective_jobs(int jobs) {
  return jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

namespace {

// The children running now, for the interrupt handler (another thread): on an interrupt each is
// sent SIGTERM and awaited without being reaped (waitid's WNOWAIT), so that the batch's own wait
// still finds it. From then on the batch starts nothing and records nothing: the thread that
// started the runs stops at its next step while dmlsim exits.
class RunningChildren {
 public:
  RunningChildren()
      : cleanup_("stopping the runs in progress", [this] {
          std::lock_guard lock(mutex_);
          stopping_ = true;
          for (const int pid : pids_) ::kill(pid, SIGTERM);
          for (const int pid : pids_) {
            siginfo_t info{};
            while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
            }
          }
        }) {}
  core::ChildProcess start(const std::vector<std::string>& argv, const core::SpawnOptions& options) {
    std::unique_lock lock(mutex_);
    if (stopping_) park(lock);
    core::ChildProcess child = core::ChildProcess::spawn_self(argv, options);
    pids_.insert(child.pid());
    return child;
  }
  void ended(int pid) {
    std::unique_lock lock(mutex_);
    if (stopping_) park(lock);
    pids_.erase(pid);
  }

 private:
  [[noreturn]] static void park(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  std::mutex mutex_;
  std::set<int> pids_;
  bool stopping_ = false;
  core::InterruptCleanup cleanup_;  // last: unregistered first, while the set still exists
};

}  // namespace

std::vector<std::string> run_batch(const std::vector<PlannedRun>& runs, int jobs, std::ostream* progress,
                                   const RunFinished& finished) {
  jobs = effective_jobs(jobs);
  RunningChildren children;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point began = Clock::now();
  std::deque<std::pair<std::size_t, core::ChildProcess>> running;
  std::vector<bool> failed(runs.size(), false);
  std::size_t done = 0, failures = 0;
  // Children end in any order; they are reaped in start order, which keeps the output stable.
  auto reap = [&] {
    auto [index, child] = std::move(running.front());
    running.pop_front();
    const int exit_code = child.wait();
    children.ended(child.pid());
    if (exit_code != 0) {
      failed[index] = true;
      ++failures;
    }
    ++done;
    if (finished) finished(index, exit_code);
    if (progress == nullptr) return;
    std::string line = fmt::format("  finished {} ({}/{}", runs[index].label, done, runs.size());
    if (failures > 0) line += fmt::format(", {} failed", failures);
    // Time left: the mean time per finished run so far, times the runs still to finish, over the jobs.
    if (done < runs.size()) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - began).count();
      const double left = elapsed / static_cast<double>(done) * static_cast<double>(runs.size() - done);
      line += fmt::format(", about {} left", core::format_duration(left));
    }
    *progress << line << ")\n" << std::flush;
  };
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (static_cast<int>(running.size()) >= jobs) reap();
    std::vector<std::string> argv{"run", runs[i].experiment.string(), "--quiet", "--out",
                                  runs[i].out.string()};
    for (const auto& [field, value] : runs[i].overrides) {
      argv.emplace_back("--set");
      argv.push_back(field + "=" + value);
    }
    argv.insert(argv.end(), runs[i].extra_args.begin(), runs[i].extra_args.end());
    core::SpawnOptions options;
    options.log = runs[i].log.string();
    running.emplace_back(i, children.start(argv, options));
  }
  while (!running.empty()) reap();
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (failed[i]) labels.push_back(runs[i].label);
  }
  return labels;
}

nlohmann::json read_summary(const std::filesystem::path& run_dir) {
  const std::filesystem::path file = run_dir / "summary.json";
  std::ifstream in(file);
  if (!in) throw core::BackendError(fmt::format("{}: cannot be read", file.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw core::BackendError(fmt::format("{}: {}", file.string(), e.what()));
  }
}

}  // namespace dmlsim::apps
