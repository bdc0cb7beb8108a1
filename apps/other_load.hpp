#pragma once
// How much of the machine other processes use: the kernel's busy CPU time (/proc/stat) less this
// process's and its reaped children's (getrusage), over the wall time, in cores. A validation
// measured while a build or another job kept the cores busy is not a finding; this tells the two
// apart. It is sampled while our own runs are idle (before and after them): during them, the
// testbed's delay lines, running children and the kernel's network work for our ranks would count
// as others' (0.8–0.9 cores read on a quiet machine).
#include <chrono>

namespace dmlsim::apps {

class OtherLoad {
 public:
  OtherLoad();  // starts the interval
  // Cores busy with other processes' work on average since the start (0 where /proc/stat is
  // missing).
  double cores() const;

 private:
  double busy_start_ = 0;  // seconds of CPU busy, machine-wide
  double own_start_ = 0;   // seconds of CPU of this process and its children
  std::chrono::steady_clock::time_point start_;
};

// Other processes' cores over a sample of `seconds` (this process sleeping meanwhile).
double other_cores_now(double seconds);

// Waits, up to `longest` seconds, until a 2-second sample shows fewer than `cores` other cores
// busy; returns the last sample.
double wait_for_quiet_machine(double cores, double longest);

}  // namespace dmlsim::apps
