#pragma once
// A federated client's task as its server recorded how it ended (core/summary.hpp's task names:
// the server's zero-length phases carrying the client). The timeline marks each on the client's
// lane and counts them per client class.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dmlsim::gui {

// FedBuff's accepted "update" counts as a report.
enum class TaskOutcome : std::uint8_t { report, late, dropped, offline, stale, count };
inline constexpr std::size_t kTaskOutcomeCount = static_cast<std::size_t>(TaskOutcome::count);

constexpr std::string_view to_string(TaskOutcome outcome) {
  constexpr std::array<std::string_view, kTaskOutcomeCount> names = {"reported", "late", "dropped", "offline",
                                                                     "stale"};
  return outcome < TaskOutcome::count ? names[static_cast<std::size_t>(outcome)] : "?";
}

struct ClientTask {
  int client = 0;  // the client's rank
  int round = 0;   // the server's iteration it was recorded in
  double time = 0;
  TaskOutcome outcome = TaskOutcome::report;
  std::uint32_t event = 0;  // the server's record: its index in the trace
};

using TaskCounts = std::array<int, kTaskOutcomeCount>;  // by TaskOutcome

}  // namespace dmlsim::gui
