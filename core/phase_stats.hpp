#pragma once
// Time per phase of a run, and the difference between two runs phase by phase: the numbers
// `dmlsim validate` prints (predicted vs measured) and the GUI's compare view shows.
//
// Definition. A phase is
//   - every name of an event on Lane::phase other than "iteration" ("forward", "backward",
//     "gradient-sync", "optimizer", ...), with its message size where the event has one: a
//     ping-pong's "pingpong" events of 1 KiB and of 64 MiB are two phases, "pingpong 1 KiB" and
//     "pingpong 64 MiB" (phase_label), and
//   - every category of an event on Lane::collective ("all-reduce", "reduce-scatter", ...).
// For a phase p and a rank r, T(p, r) is the sum of the durations of r's events of p (over the
// whole trace; concurrent events both count). The phase's time is
//   seconds(p) = mean over the ranks that have p of T(p, r) / I,
// where I is the number of iterations: the distinct iteration indices of the "iteration" phase
// events, else the distinct iteration indices >= 0 of any event, else 1.
// So seconds(p) is "mean seconds per iteration that a rank spends in p".
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace.hpp"

namespace dmlsim::core {

struct PhaseTime {
  std::string phase;
  bool collective = false;  // keyed by a collective's category, not a phase name
  double seconds = 0;       // mean seconds per iteration, see above
  int ranks = 0;            // ranks that have the phase
};

// The name a phase goes by in these tables: its event name, then the message size if it has one.
std::string phase_label(std::string_view name, std::uint64_t bytes);

// Every phase of the trace, in the order of its first event (earliest start; ties by name).
std::vector<PhaseTime> phase_times(const Trace& trace);

// The number of iterations I used above.
int iteration_count(const Trace& trace);

struct PhaseDifference {
  std::string phase;
  double predicted_seconds = 0;  // 0 where the phase is absent from that run
  double measured_seconds = 0;
  // (predicted − measured) / measured × 100; NaN when measured is 0.
  double error_percent = std::nan("");
};

// Per phase present in either run: predicted's phases in their order, then measured's others.
std::vector<PhaseDifference> compare_phases(const std::vector<PhaseTime>& predicted,
                                            const std::vector<PhaseTime>& measured);
std::vector<PhaseDifference> compare_phases(const Trace& predicted, const Trace& measured);

// The table as JSON, [{"phase", "predicted_s", "measured_s", "error_percent"}] (error null when
// undefined), and back: the form `dmlsim validate` writes into kValidationReportFile under
// "phases", which the GUI reads when it is present.
inline constexpr std::string_view kValidationReportFile = "validation.json";
nlohmann::json to_json(const std::vector<PhaseDifference>& differences);
// Throws ValueError naming the entry and field that is missing or mistyped.
std::vector<PhaseDifference> phase_differences_from_json(const nlohmann::json& phases);

}  // namespace dmlsim::core
