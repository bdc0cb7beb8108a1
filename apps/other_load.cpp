#include "apps/other_load.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace dmlsim::apps {
namespace {

// CPU seconds the machine has spent busy since boot: user, nice, system, irq, softirq and steal
// of /proc/stat's first line (idle and iowait left out).
double machine_busy_seconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu")
    return 0;
  return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double seconds_of(const rusage& u) {
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double own_seconds() {
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return seconds_of(self) + seconds_of(children);
}

}  // namespace

OtherLoad::OtherLoad()
    : busy_start_(machine_busy_seconds()),
      own_start_(own_seconds()),
      start_(std::chrono::steady_clock::now()) {}

double OtherLoad::cores() const {
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (wall <= 0 || busy_start_ == 0) return 0;
  const double others = (machine_busy_seconds() - busy_start_) - (own_seconds() - own_start_);
  return others > 0 ? others / wall : 0;
}

double other_cores_now(double seconds) {
  const OtherLoad load;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return load.cores();
}

double wait_for_quiet_machine(double cores, double longest) {
  double waited = 0, sample = 0;
  do {
    sample = other_cores_now(2);
    waited += 2;
  } while (sample >= cores && waited < longest);
  return sample;
}

}  // namespace dmlsim::apps
