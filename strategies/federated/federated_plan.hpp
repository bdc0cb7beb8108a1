#pragma once
// What a federated run does, read from `strategy: {type: federated, ...}`, and the seeded draws
// the server and its clients agree on (which clients a round selects, which of them drop out).
//
//   mode: fedavg        synchronous rounds (McMahan et al. 2017): the server samples
//                       `clients_per_round` idle clients, sends them the model, each trains
//                       `local_epochs` epochs over its `samples` in steps of the model's batch and
//                       uploads its update; the round closes at the `report_goal`-th report
//                       (over-selection, Bonawitz et al., SysML 2019) or at `deadline` after it
//                       began, whichever comes first, and the server averages the reports weighted
//                       by samples. Updates that arrive after their round are late: discarded.
//   mode: fedbuff       buffered asynchronous aggregation (Nguyen et al., AISTATS 2022): the
//                       server keeps `clients_per_round` clients training at all times, takes
//                       updates as they come and aggregates every `buffer` of them; an update
//                       computed on a model more than `max_staleness` aggregations old is discarded.
//                       `staleness_exponent: a` weighs an update τ aggregations old by
//                       (1 + τ)^−a in the average (FedBuff's polynomial staleness scaling, a = 0.5
//                       in the paper; the default 0 averages equally). One iteration of the run is
//                       one aggregation.
//   mode: hierarchical  client-edge-cloud FedAvg (HierFAVG, Liu et al., ICC 2020) on an edge
//                       platform whose regions have aggregators: each cloud round (an iteration)
//                       the server sends the model to every region's aggregator; each aggregator
//                       runs `edge_rounds` FedAvg rounds over `clients_per_round` clients of its
//                       region (with fedavg's report_goal, deadline and dropout), then uploads its
//                       model's change and the samples it averaged; the server averages the
//                       regions' changes weighted by those samples.
//   compression         {quantize: q} sends q-bit values; {top_k: f} the largest fraction f of
//                       the values with their 32-bit indices. Only the bytes change: what
//                       compression does to learning is outside dmlsim.
//   dropout: p          each selected client abandons its task with probability p, at a uniformly
//                       drawn point of its local training, and never reports it (fedavg with a
//                       deadline only: a server cannot tell a dropped client from a slow one).
//
// Ranks 0..clients−1 are the clients (`ranks:` counts them), then in mode hierarchical one rank per
// region's aggregator (in the platform's region order), and the last rank the server.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/experiment.hpp"

namespace dmlsim::strategies {

struct FederatedPlan {
  enum class Mode { fedavg, fedbuff, hierarchical };
  struct Compression {
    int quantize_bits = 0;  // 0: values at the model's dtype
    double top_k = 0;       // 0: every value
  };

  Mode mode = Mode::fedavg;
  int clients = 0;                 // the population: ranks 0..clients−1
  int aggregators = 0;             // hierarchical: ranks clients..clients+aggregators−1
  int per_round = 0;               // fedavg: selected per round; fedbuff: clients training at once;
                                   // hierarchical: selected per region and edge round
  int edge_rounds = 1;             // hierarchical: edge aggregations per cloud round
  int report_goal = 0;             // fedavg: the round closes at this many reports
  std::optional<double> deadline;  // fedavg: seconds after the round began
  int buffer = 0;                  // fedbuff: updates per aggregation
  int max_staleness = 0;           // fedbuff
  double staleness_exponent = 0;   // fedbuff: an update's weight is staleness_weight(τ)
  int local_epochs = 1;
  std::vector<std::int64_t> samples;  // per client
  double dropout = 0;
  std::uint64_t seed = 1;
  Compression compression;

  int server() const { return clients + aggregators; }
  int aggregator(int site) const { return clients + site; }
  // Local steps of one task of `client`: epochs × ⌈samples / batch⌉.
  std::int64_t steps(int client, std::int64_t batch) const;
  // FedBuff's weight of an update computed on a model `staleness` aggregations old: (1 + τ)^−a.
  double staleness_weight(int staleness) const;
  // Bytes of one uploaded update of `parameters` values of `element_bytes` each.
  std::uint64_t upload_bytes(std::int64_t parameters, std::uint32_t element_bytes) const;
};

std::string_view to_string(FederatedPlan::Mode mode);

// Reads and checks the strategy block (errors name the file, line and field).
FederatedPlan read_federated_plan(const core::Experiment& experiment);
std::span<const std::string_view> federated_fields();

// `count` distinct clients drawn uniformly from `candidates` (a partial Fisher–Yates shuffle driven
// by the seed and `draw`, the same on every platform and compiler), in draw order.
std::vector<int> sample_clients(std::uint64_t seed, std::uint64_t draw, std::span<const int> candidates,
                                int count);

// Whether `client` abandons its `task`-th task (counted from 0), and if so after which fraction of
// its local steps, in [0, 1). The client and the server draw the same.
std::optional<double> dropout_point(const FederatedPlan& plan, int client, std::int64_t task);

// Payload mode: adds to `model` the average of the updates weighted by their weights (samples),
// summed in the order of their keys (client ranks, or regions), so that the same updates make the
// same floats whatever order they arrived in (an aggregator's average is checked against the one
// its server recomputes). The weighted sum is divided by `denominator`, or by the weights' sum when
// it is 0 (FedBuff divides its staleness-weighted sum by the buffer's size). Nothing is added when
// the divisor is zero.
struct WeightedUpdate {
  int key = 0;
  double weight = 0;
  std::span<const float> values;
};
void add_weighted_average(std::span<float> model, std::vector<WeightedUpdate> updates,
                          double denominator = 0);

// A round that can never start: every client idle and none online again (availability traces
// that end before the run). Throws core::ConfigError naming the platform file.
[[noreturn]] void no_client_online_again(const core::Experiment& experiment, double now, int round);

}  // namespace dmlsim::strategies
