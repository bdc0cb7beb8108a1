#pragma once
// One run as the timeline sees it: the core::Trace read by core's trace reader, its events packed
// into non-overlapping tracks (sub-lanes) per rank, ranks grouped by node (or client class, or mesh
// group), sends paired with their receives, iteration spans, a pipeline's bubbles and a federated
// server's client tasks. No painting here: views ask, this answers.
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mesh.hpp"
#include "core/trace.hpp"
#include "gui/client_task.hpp"
#include "gui/event_kind.hpp"
#include "gui/track.hpp"

namespace dmlsim::gui {

// The ranks of one node, or on an edge platform the clients of one class (a thousand phones are a
// few groups, not a thousand nodes of one rank each) and the other ranks of one region (its
// aggregator), or the ranks of one group of the device mesh.
struct NodeGroup {
  int node = 0;  // a node's number; a mesh group's index
  std::vector<int> ranks;
  std::string host_class;  // the clients' class; empty for a node
  std::string mesh_group;  // "stage 2", "tp group 3", "region eu"; empty for a node or a class
};

// How the timeline groups a run's ranks: by node (an edge platform's clients by class), or along a
// dimension of the run's device mesh — the ranks of one pipeline stage, of one tensor-parallel group.
enum class LaneGrouping : std::uint8_t { node, stage, tensor_group };

// A message: the send and its matching receive (same sender, receiver, tag and seq).
struct Message {
  std::uint32_t send = 0;
  std::uint32_t recv = 0;
};

struct IterationSpan {
  int iteration = 0;
  double start = 0;  // earliest rank's start
  double end = 0;    // latest rank's end
};

// An elastic run's membership epoch: from `start`, `ranks` ranks in the job.
struct EpochStart {
  double start = 0;
  int ranks = 0;
};

struct TimeSpan {
  double start = 0;
  double end = 0;
};

// Where an event sits in the tracks.
struct EventLocation {
  std::uint32_t track = 0;
  std::uint32_t position = 0;
};

class RunModel {
 public:
  // Events that start within this of the previous end on a sub-lane still share it: the file's
  // microseconds bring times back to within a few ulps only.
  static constexpr double kPackingTolerance = 1e-12;

  // `path` is a trace.json or a run directory holding one (summary.json beside it is read when
  // present). Throws core::TraceReadError (or core::ConfigError) naming the file and the problem.
  static std::unique_ptr<RunModel> load(const std::filesystem::path& path);

  explicit RunModel(core::Trace trace, std::filesystem::path trace_file = {});

  const core::Trace& trace() const { return trace_; }
  const std::filesystem::path& trace_file() const { return trace_file_; }
  std::filesystem::path directory() const { return trace_file_.parent_path(); }
  // otherData's label, else the directory's name.
  const std::string& label() const { return label_; }
  const nlohmann::json& summary() const { return summary_; }  // null without summary.json
  // "simulated" or "measured", as the run itself says (summary.json's backend, else its label's
  // suffix); empty when neither tells.
  std::string kind() const;
  // The rank's role as summary.json states it ("worker", "server 0", "stage 3"); empty when the
  // summary is missing or older than roles.
  std::string role_of(int rank) const;
  // Where the rank sits in the device mesh that summary.json's "parallelism" states ("dp 1 · tp 3",
  // dimensions larger than 1); empty when the mesh splits along one dimension only (the rank
  // number says it all) or the summary does not state a mesh of this run's size.
  std::string mesh_coordinates_of(int rank) const;
  // The job a rank belongs to in the trace of several jobs on one network (`dmlsim run` of an
  // experiment with `jobs`: its events carry their job's index, summary.json names the jobs);
  // empty for other runs.
  std::string job_of(int rank) const;
  // The class of the rank's host on an edge platform (summary.json's host_class_of_rank: "phone-4g");
  // empty for other runs and for the server.
  std::string host_class_of(int rank) const;
  // The site of the rank's host on a platform with sites (summary.json's site_of_rank: "region eu");
  // empty for other runs and for ranks in the core.
  std::string site_of(int rank) const;
  // A federated run's client tasks as its server recorded them, in time order, and those of one
  // client (indices into client_tasks()); empty for other runs.
  const std::vector<ClientTask>& client_tasks() const { return client_tasks_; }
  const std::vector<std::uint32_t>& tasks_of_client(int rank) const;
  // The outcomes of the tasks of a group's ranks.
  TaskCounts task_counts(const NodeGroup& group) const;
  // What the run's iterations are: "round" for federated averaging, "aggregation" for FedBuff,
  // else "iteration".
  std::string_view iteration_noun() const { return iteration_noun_; }

  int rank_count() const { return static_cast<int>(tracks_of_rank_.size()); }
  std::size_t event_count() const { return trace_.events().size(); }
  const std::vector<Track>& tracks() const { return tracks_; }
  // Track indices of a rank, in display order: phases, compute, collectives, sends, receives.
  const std::vector<std::uint32_t>& tracks_of_rank(int rank) const { return tracks_of_rank_[rank]; }
  const std::vector<NodeGroup>& nodes() const { return nodes_; }
  // Regroups the ranks; by node where the run's mesh (summary.json's) lacks the dimension.
  void set_grouping(LaneGrouping grouping);
  // Whether the run's mesh has the dimension (always for nodes).
  bool can_group_by(LaneGrouping grouping) const;
  const std::vector<Message>& messages() const { return messages_; }  // sorted by send start
  double longest_message() const { return longest_message_; }         // seconds, send start → recv end
  const std::vector<IterationSpan>& iterations() const { return iterations_; }
  std::optional<double> iteration_start(int iteration) const;
  // An elastic run's epochs (its core::kRanksInJob samples) and the work its failures lost: the
  // span of core::kLostWorkSeconds before each failure. Empty for other runs.
  const std::vector<EpochStart>& epochs() const { return epochs_; }
  const std::vector<TimeSpan>& lost_work() const { return lost_work_; }

  // A pipeline rank's bubble: in each iteration, the stretches between the iteration's start and the
  // rank's last pass (forward, backward, weight-gradient: the phases that carry their stage) that no
  // pass covers — the rank waits for the stage before or after it. Empty for a rank without passes.
  const std::vector<TimeSpan>& bubbles_of(int rank) const;

  // The largest sample of a counter series (by its interned name) over the run; 0 for none.
  double counter_peak(std::uint32_t name) const;

  double start_time() const { return start_; }
  double end_time() const { return end_; }

  const core::TraceEvent& event(std::uint32_t i) const { return trace_.events()[i]; }
  EventKind kind(std::uint32_t i) const;
  EventLocation locate(std::uint32_t event) const { return locations_[event]; }
  // A short label for a track: "phases", "sub-phases", "compute", "collective 0", "send 1", ...
  std::string track_name(std::uint32_t track) const;

 private:
  std::string per_rank_text(std::string_view key, int rank) const;
  void build_tracks();
  void build_nodes();
  void build_messages();
  void build_iterations();
  void build_elastic();
  void build_jobs();
  void build_client_tasks();
  void build_bubbles();

  core::Trace trace_;
  std::filesystem::path trace_file_;
  std::string label_;
  nlohmann::json summary_;
  std::optional<core::Mesh> mesh_;  // from summary.json, when it states one
  std::vector<Track> tracks_;
  std::vector<std::vector<std::uint32_t>> tracks_of_rank_;
  std::vector<EventLocation> locations_;
  std::vector<NodeGroup> nodes_;
  std::vector<Message> messages_;
  double longest_message_ = 0;
  std::vector<IterationSpan> iterations_;
  std::vector<EpochStart> epochs_;
  std::vector<TimeSpan> lost_work_;
  LaneGrouping grouping_ = LaneGrouping::node;
  std::vector<std::vector<TimeSpan>> bubbles_of_rank_;
  std::map<std::uint32_t, double> counter_peak_;  // by interned name
  std::vector<ClientTask> client_tasks_;
  std::vector<std::vector<std::uint32_t>> tasks_of_client_;  // [rank] → indices into client_tasks_
  std::string_view iteration_noun_ = "iteration";
  std::vector<int> job_of_rank_;  // the job index of each rank's events, −1 when none says
  double start_ = 0, end_ = 0;
};

}  // namespace dmlsim::gui
