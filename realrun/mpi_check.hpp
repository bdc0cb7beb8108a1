#pragma once
// Every MPI call goes through DMLSIM_CHECK_MPI: an error code becomes a BackendError naming the
// call and MPI's own message, so codes never travel.
#include <mpi.h>

#include <string>

namespace dmlsim::real {

[[noreturn]] void throw_mpi_error(int code, const char* call, const char* file, int line);

}  // namespace dmlsim::real

#define DMLSIM_CHECK_MPI(call)                                                   \
  do {                                                                           \
    const int dmlsim_mpi_rc = (call);                                            \
    if (dmlsim_mpi_rc != MPI_SUCCESS)                                            \
      ::dmlsim::real::throw_mpi_error(dmlsim_mpi_rc, #call, __FILE__, __LINE__); \
  } while (false)
