#pragma once
// The numbers a user reads first, computed from a Trace (so the real backend gets them too):
// iteration time; compute, communication and exposed-communication time; busy % per rank;
// algbw/busbw per collective in nccl-tests' convention; and, when the backend knows them, bytes
// and busy time per network link, busiest first.
#include <cstdint>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/roles.hpp"
#include "core/trace.hpp"

namespace dmlsim::core {

struct LinkUsage {
  std::string name;
  double bandwidth = 0;  // bytes/s
  std::uint64_t bytes = 0;
  double busy_seconds() const { return bandwidth > 0 ? static_cast<double>(bytes) / bandwidth : 0; }
};

struct CollectiveStats {
  std::string collective;  // "all-reduce"
  std::string name;        // "all-reduce ring 25 MiB"
  std::uint64_t bytes = 0;
  int group_size = 0;
  std::size_t count = 0;  // rank-level events
  double mean_seconds = 0;
  double algbw = 0;  // bytes / time
  double busbw = 0;  // algbw × bus factor (2(n−1)/n for all-reduce; nccl-tests doc/PERFORMANCE.md)
};

struct RankStats {
  int rank = 0;
  Role role;
  double compute_seconds = 0;        // per iteration
  double communication_seconds = 0;  // per iteration, collectives on any stream
  double exposed_seconds = 0;        // per iteration: iteration time not spent computing
  double busy_fraction = 0;          // compute / iteration time
};

// summary.json's layout. 2: the first with the field (files without one are layout 1: the same
// keys without `schema_version`). 3: each rank's role, the role counts, samples per iteration
// and per second, and hidden_communication_s (older files: the first training_ranks ranks are workers, the
// rest servers). A reader refuses files newer than it knows.
inline constexpr int kSummarySchemaVersion = 3;

// The counter series in which a strategy whose iterations train a varying number of samples (a
// federated round averages the updates that came in) counts them: one sample per iteration, on the
// rank that marks the iterations. Where it exists it replaces Roles::samples_per_iteration.
inline constexpr std::string_view kSamplesTrained = "samples trained";

// The counter series of an elastic run (strategies/elastic/), on rank 0: the work each failure lost
// (seconds, one sample per failure); at the end, the training steps the run kept and
// the samples those steps trained (their ranks' micro-batches: the membership may change), and at each
// membership epoch's start the ranks in the job.
inline constexpr std::string_view kLostWorkSeconds = "lost work s";
inline constexpr std::string_view kIterationsKept = "iterations kept";
inline constexpr std::string_view kSamplesKept = "samples kept";
inline constexpr std::string_view kRanksInJob = "ranks in the job";
inline constexpr std::string_view kElasticCounters[] = {kLostWorkSeconds, kIterationsKept, kSamplesKept,
                                                        kRanksInJob};

// The phases in which an elastic job trains nothing, each a cause of its time lost, and its
// "failure" instants; a rank outside an epoch's membership spends it in kOutOfJobPhase.
inline constexpr std::string_view kCheckpointPhase = "checkpoint";
inline constexpr std::string_view kCheckpointLoadPhase = "checkpoint-load";
inline constexpr std::string_view kFailureDetectionPhase = "failure-detection";
inline constexpr std::string_view kRestartPhase = "restart";
inline constexpr std::string_view kRendezvousPhase = "rendezvous";
inline constexpr std::string_view kStateTransferPhase = "state-transfer";
inline constexpr std::string_view kWaitingForNodesPhase = "waiting for nodes";
inline constexpr std::string_view kElasticPhases[] = {
    kCheckpointPhase, kCheckpointLoadPhase, kFailureDetectionPhase, kRestartPhase,
    kRendezvousPhase, kStateTransferPhase,  kWaitingForNodesPhase};
inline constexpr std::string_view kFailureMark = "failure";

// A model's passes over one micro-batch (ZB-H1 splits backward into its input-gradient "backward"
// and a "weight-gradient" pass): compute in the summary's breakdown; in a pipeline (when they carry
// their stage), the work between a stage's waits.
inline constexpr std::string_view kForwardPhase = "forward";
inline constexpr std::string_view kBackwardPhase = "backward";
inline constexpr std::string_view kWeightGradientPhase = "weight-gradient";
bool is_pass_phase(std::string_view name);
// The optimizer's step after the gradients are in, and a federated client's training between its
// download and its upload: compute in the summary's breakdown too.
inline constexpr std::string_view kOptimizerPhase = "optimizer";
inline constexpr std::string_view kLocalTrainingPhase = "local-training";

// The counter series of a rank's device memory in use, in bytes (the GUI plots it).
inline constexpr std::string_view kMemoryInUse = "memory in use";

// A federated server's record of each client task it handed out: a zero-length phase on its phase
// lane named for how the task ended, carrying the client (Attribute::client, the client's rank) and
// the round (the phase's iteration). FedAvg: reported in time, late (on an older model, never
// averaged), dropped (abandoned mid-task), offline (its window closed); FedBuff: an update within the
// staleness bound, or a stale one (discarded). The client itself marks "dropped" and "offline" too.
inline constexpr std::string_view kTaskReport = "report";
inline constexpr std::string_view kTaskLate = "late";
inline constexpr std::string_view kTaskDropped = "dropped";
inline constexpr std::string_view kTaskOffline = "offline";
inline constexpr std::string_view kTaskUpdate = "update";
inline constexpr std::string_view kTaskStale = "stale";

// summary.json keys that the writers in apps/ and the readers (sweep.csv, the GUI) share beyond
// RunSummary's own: a run of several jobs lists them (each with its "name"), a run on an edge
// platform names each rank's client class (null for the server), and a run on a platform with
// sites (regions with aggregators) each rank's site ("region eu"; null in the core).
inline constexpr std::string_view kJobsKey = "jobs";
inline constexpr std::string_view kHostClassOfRankKey = "host_class_of_rank";
inline constexpr std::string_view kSiteOfRankKey = "site_of_rank";
inline constexpr std::string_view kOutOfJobPhase = "out of the job";

bool is_elastic_phase(std::string_view name);
// What every trace detail keeps, `none` included: the iterations (they define iteration time), and
// an elastic run's phases above, failure marks and counters (a few per membership epoch), so that a
// long elastic run can be summarized without a trace of its steps.
bool kept_at_every_detail(Lane lane, std::string_view name);

// What failures and membership changes cost an elastic run: its rank 0's "checkpoint",
// "checkpoint-load", "failure-detection", "restart", "rendezvous", "state-transfer" and "waiting for
// nodes" phases, "failure" instants and the counters above.
struct ElasticStats {
  std::int64_t iterations_kept = 0;
  std::int64_t samples_kept = 0;
  int failures = 0;
  int checkpoint_writes = 0;  // those cut short by a failure included
  double checkpoint_s = 0, load_s = 0, detection_s = 0, restart_s = 0, lost_work_s = 0;
  double rendezvous_s = 0, transfer_s = 0, waiting_s = 0;
  double goodput = 0;                              // samples of the kept iterations per second of makespan
  std::vector<std::pair<double, int>> membership;  // (from, ranks in the job) at each change
  double lost_s() const {
    return checkpoint_s + load_s + detection_s + restart_s + lost_work_s + rendezvous_s + transfer_s +
           waiting_s;
  }
};

struct RunSummary {
  std::string label;
  int ranks = 0;
  // How many ranks train (their roles say which): iteration marks and the means below come from
  // them (parameter servers, which only serve, would otherwise dilute compute and communication).
  int training_ranks = 0;
  std::int64_t samples_per_iteration = 0;  // all ranks together; 0 when the run trains no samples
  double makespan = 0;
  std::vector<double> iteration_seconds;  // one per iteration (global: slowest rank decides)
  // When each iteration ended, from the run's start: the time to reach it (a federated run's
  // round N ends at iteration_ends[N − 1]).
  std::vector<double> iteration_ends;
  // Federated runs: the clients' updates averaged in by the end of each iteration, from the run's
  // start (the servers' and aggregators' "report" and FedBuff's "update" marks whose client is a
  // client rank). Empty for other runs.
  std::vector<std::int64_t> updates_aggregated;
  // Per iteration, the instants a rank that marks the iterations without training recorded inside
  // it, as zero-length phases, counted by name (a federated server's "report", "late", "dropped").
  // Empty when none.
  std::vector<std::map<std::string, int>> iteration_marks;
  double iteration_mean = 0;
  // Whether the trace holds more than iteration marks (not so with trace: none): without, the
  // compute/communication breakdown is unknown and summary.json says null.
  bool breakdown_recorded = true;
  double compute_mean = 0;  // means over the training ranks, per iteration
  double communication_mean = 0;
  double exposed_mean = 0;
  // Communication hidden behind compute: per training rank max(0, communication − exposed), mean.
  double hidden_mean = 0;
  std::vector<RankStats> per_rank;
  std::vector<CollectiveStats> collectives;
  std::vector<LinkUsage> links;         // busiest first
  std::uint64_t messages = 0;           // point-to-point messages the backend moved
  std::optional<ElasticStats> elastic;  // elastic runs only

  double samples_per_second() const {
    return iteration_mean > 0 ? static_cast<double>(samples_per_iteration) / iteration_mean : 0;
  }

  // The whole summary; `links` lists the busiest `max_links` (all links go to links.csv).
  nlohmann::json to_json(std::size_t max_links = 100) const;
  // Back from what to_json wrote (the links it listed; per-link busy time and utilization are
  // recomputed). Throws ValueError naming the first missing or mistyped key, or a newer layout.
  static RunSummary from_json(const nlohmann::json& j);
};

// Every link that carried traffic, busiest first: link,bandwidth_Bps,bytes,busy_s,utilization.
void write_links_csv(const RunSummary& summary, std::ostream& out);

// Bus bandwidth factor of nccl-tests for a collective over n ranks.
double bus_factor(std::string_view collective, int n);

// `roles`: what each rank does (Strategy::roles); without them every rank is a worker.
RunSummary summarize(const Trace& trace, std::vector<LinkUsage> links, const Roles& roles = {});
// A short human-readable table.
void print_summary(const RunSummary& summary, std::ostream& out, std::size_t max_links = 5);

}  // namespace dmlsim::core
