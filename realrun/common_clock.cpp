#include "realrun/common_clock.hpp"

#include <chrono>
#include <limits>

#include "realrun/mpi_check.hpp"

namespace dmlsim::real {

namespace {
constexpr int kSyncTag = 32000;
constexpr int kSamples = 20;
}  // namespace

double CommonClock::steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

CommonClock::CommonClock(MPI_Comm comm) {
  int rank = 0, size = 1;
  DMLSIM_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  DMLSIM_CHECK_MPI(MPI_Comm_size(comm, &size));
  // Rank 0 plays the server for each other rank in turn: the rank sends its time t1, rank 0
  // answers with its time t0, the rank reads t2; offset ≈ t0 − (t1 + t2)/2 on the fastest sample.
  for (int peer = 1; peer < size; ++peer) {
    if (rank == 0) {
      for (int i = 0; i < kSamples; ++i) {
        double t1 = 0;
        DMLSIM_CHECK_MPI(MPI_Recv(&t1, 1, MPI_DOUBLE, peer, kSyncTag, comm, MPI_STATUS_IGNORE));
        const double t0 = steady_seconds();
        DMLSIM_CHECK_MPI(MPI_Send(&t0, 1, MPI_DOUBLE, peer, kSyncTag, comm));
      }
    } else if (rank == peer) {
      double best_rtt = std::numeric_limits<double>::infinity();
      for (int i = 0; i < kSamples; ++i) {
        const double t1 = steady_seconds();
        double t0 = 0;
        DMLSIM_CHECK_MPI(MPI_Send(&t1, 1, MPI_DOUBLE, 0, kSyncTag, comm));
        DMLSIM_CHECK_MPI(MPI_Recv(&t0, 1, MPI_DOUBLE, 0, kSyncTag, comm, MPI_STATUS_IGNORE));
        const double t2 = steady_seconds();
        if (t2 - t1 < best_rtt) {
          best_rtt = t2 - t1;
          offset_ = t0 - 0.5 * (t1 + t2);
        }
      }
    }
  }
  DMLSIM_CHECK_MPI(MPI_Barrier(comm));
  if (rank == 0) epoch_ = steady_seconds();
  DMLSIM_CHECK_MPI(MPI_Bcast(&epoch_, 1, MPI_DOUBLE, 0, comm));
}

double CommonClock::now() const {
  return steady_seconds() + offset_ - epoch_;
}

}  // namespace dmlsim::real
