#pragma once
// Timestamps on a common clock: every rank reads its steady clock, corrected by its offset to
// rank 0's (estimated by ping-pong, the minimum-round-trip sample, as NTP does), minus a common
// epoch taken after a barrier. Inside one machine (the namespace testbed) the offsets are zero up
// to the estimate's error; on a real cluster they are what makes traces line up.
#include <mpi.h>

namespace dmlsim::real {

class CommonClock {
 public:
  // Collective over `comm`.
  explicit CommonClock(MPI_Comm comm);
  double now() const;  // seconds since the common epoch
  double offset() const { return offset_; }

 private:
  static double steady_seconds();
  double offset_ = 0;  // rank 0's clock − this rank's clock
  double epoch_ = 0;   // on rank 0's clock
};

}  // namespace dmlsim::real
