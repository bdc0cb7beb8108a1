#pragma once
// What a range selection shows: per rank, how the selected time splits into compute, communication
// and idle, and the bytes moved; over all ranks, the idle share and, in a pipeline, the bubble's.
//
// Definitions, for the range [a, b] of one run and each rank:
//   compute_s        time covered by at least one compute event (kernels)
//   communication_s  time covered by at least one collective, send or receive
//   overlap_s        time covered by both (communication hidden behind compute)
//   idle_s           (b − a) − time covered by either: the rank waits and does nothing
//   busy_percent     100 × compute_s / (b − a), as per_rank busy % in summary.json
//   message_bytes    bytes of the sends that start in [a, b)
//   collective_bytes bytes (buffer sizes) of the collectives that start in [a, b)
//   bubble_s         a pipeline rank's bubble in [a, b]: its waits before and between passes
//                    (RunModel::bubbles_of), 0 outside pipelines
// Phase marks (Lane::phase) are annotations and count as neither.
#include <cstdint>
#include <vector>

#include "gui/run_model.hpp"

namespace dmlsim::gui {

struct RankRangeStats {
  int rank = 0;
  double compute_s = 0;
  double communication_s = 0;
  double overlap_s = 0;
  double idle_s = 0;
  double busy_percent = 0;
  std::uint64_t message_bytes = 0;
  std::uint64_t collective_bytes = 0;
  double bubble_s = 0;
};

struct RangeSummary {
  double start = 0, end = 0;  // the run's own time
  std::vector<RankRangeStats> ranks;
  // Means over ranks of the per-rank numbers above, sums of the bytes.
  double compute_s = 0, communication_s = 0, overlap_s = 0, idle_s = 0, busy_percent = 0;
  std::uint64_t message_bytes = 0, collective_bytes = 0;
  // Σ idle / (ranks × (b − a)): the share of rank-time spent waiting (the pipeline bubble).
  double idle_share = 0;
  // Σ bubble / (ranks × (b − a)), when the run is a pipeline (has_bubbles).
  double bubble_share = 0;
  bool has_bubbles = false;
  double duration() const { return end - start; }
};

RangeSummary summarize_range(const RunModel& run, double start, double end);

}  // namespace dmlsim::gui
