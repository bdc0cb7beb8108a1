#pragma once
// Labels that tell runs apart: two runs of one experiment carry the same trace label, so where
// labels repeat, what differs between the runs' directories is added ("e (simulated) — ring",
// "e (simulated) — tree"), and a number where nothing does.
#include <filesystem>
#include <string>
#include <vector>

namespace dmlsim::gui {

struct RunLabel {
  std::string label;                // the trace's label
  std::filesystem::path directory;  // where its files are (may be empty)
};

std::vector<std::string> distinct_labels(const std::vector<RunLabel>& runs);

}  // namespace dmlsim::gui
