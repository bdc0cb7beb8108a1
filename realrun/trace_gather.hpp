#pragma once
// Brings every process's events to rank 0 as one Trace, with the same names and fields the
// simulator writes, so both backends produce the same files.
#include <mpi.h>

#include <span>

#include "core/trace.hpp"

namespace dmlsim::real {

// Collective over `comm`. `local` are this process's traces (main and stream views); `placement`
// is this rank's host. Rank 0 returns the merged, sorted trace; the others an empty one.
core::Trace gather_traces(MPI_Comm comm, std::span<const core::Trace* const> local,
                          const core::RankPlacement& placement);

}  // namespace dmlsim::real
