#pragma once
// A training strategy, written once against core/: `run` is the per-rank body executed by every
// backend; `predict` is its closed-form prediction for `dmlsim explain`. Strategies are built
// from an experiment's `strategy:` block and validate their options first (clear errors, exit 2).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/experiment.hpp"
#include "core/rank.hpp"
#include "core/roles.hpp"

namespace dmlsim::strategies {

struct PredictionTerm {
  std::string name;
  double seconds = 0;
  std::string formula;  // how it was computed, for the reader
};

struct Prediction {
  std::string summary;  // one line: what is being predicted
  std::vector<PredictionTerm> terms;
  double iteration_seconds = 0;
  std::vector<std::string> notes;  // assumptions, caveats
  // Closed forms of other ways to do the same job on the same platform, shown beside the
  // prediction (e.g. all-reduce and the BytePS optimum next to a parameter server).
  std::vector<PredictionTerm> references;
  std::string references_title = "communication of one synchronization by other designs (closed forms)";
  // Bytes a training rank keeps on its device by the strategy's memory model (0: not modelled).
  std::uint64_t memory_per_device = 0;
  // The same, term by term, for each kind of rank where they differ (pipeline stages).
  struct MemoryUse {
    std::string ranks;  // "stage 0"
    std::uint64_t weights = 0, gradients = 0, optimizer = 0;
    std::uint64_t activations = 0;  // saved for backward, at the schedule's peak
    std::uint64_t capacity = 0;     // of the device
    std::uint64_t total() const { return weights + gradients + optimizer + activations; }
  };
  std::vector<MemoryUse> memory;
  // Whether every kind of rank fits its device (nullopt where memory is not modelled per kind).
  std::optional<bool> memory_fits() const {
    if (memory.empty()) return std::nullopt;
    return std::all_of(memory.begin(), memory.end(),
                       [](const MemoryUse& m) { return m.total() <= m.capacity; });
  }
  // Pipelines: the share of stage time the schedule leaves idle (its replay); 0 otherwise.
  double bubble_fraction = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Runs on every rank; must not change the strategy (it is shared by all ranks).
  virtual void run(core::Rank& rank) const = 0;
  virtual Prediction predict() const = 0;
  // What each rank does and how many samples an iteration trains (summary, compare, GUI).
  virtual core::Roles roles() const = 0;
};

// Builds the strategy named by experiment.strategy_type; throws ConfigError naming the file,
// line and field for unknown types and bad options.
std::unique_ptr<Strategy> make_strategy(const core::Experiment& experiment);
std::vector<std::string> strategy_types();

// Every strategy's fields, each at home under experiment.strategy: what the experiment's loader
// names when one is written directly under `experiment` ("belongs under experiment.strategy").
const core::FieldHomes& strategy_field_homes();
// core::load_experiment with those homes: what the commands load experiments with.
using Overrides = std::vector<std::pair<std::string, std::string>>;
core::Experiment load_experiment(const std::filesystem::path& file, const Overrides& overrides = {});

}  // namespace dmlsim::strategies
