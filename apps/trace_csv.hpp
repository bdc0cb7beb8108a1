#pragma once
// Reading the trace.csv a run wrote (both backends write the same columns), for calibration and
// validation, which only need names, lanes, ranks, iterations and durations.
#include <filesystem>
#include <string>
#include <vector>

namespace dmlsim::apps {

struct CsvEvent {
  int rank = 0;
  std::string lane;
  std::string name;
  std::string category;
  double start = 0;
  double end = 0;
  double duration = 0;
  double bytes = 0;
  int iteration = -1;
};

// Throws BackendError naming the file and line when it cannot be read.
std::vector<CsvEvent> read_trace_csv(const std::filesystem::path& file);

}  // namespace dmlsim::apps
