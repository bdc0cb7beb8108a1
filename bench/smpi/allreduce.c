/* One MPI_Allreduce of SIZE bytes of floats, timed from a barrier; prints the slowest rank's
 * time. Run under SMPI (smpirun) by bench/smpi/compare to give a third-party reference for
 * dmlsim's collectives on the same SimGrid platform. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const long count = argc > 1 ? atol(argv[1]) / (long)sizeof(float) : 1;
  float* input = calloc((size_t)count, sizeof(float));
  float* output = calloc((size_t)count, sizeof(float));
  MPI_Barrier(MPI_COMM_WORLD);
  const double start = MPI_Wtime();
  MPI_Allreduce(input, output, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  const double mine = MPI_Wtime() - start;
  double slowest = 0;
  MPI_Reduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("%.9f\n", slowest);
  free(input);
  free(output);
  MPI_Finalize();
  return 0;
}
