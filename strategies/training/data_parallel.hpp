#pragma once
// `type: data-parallel` — every rank holds the whole model and a micro-batch; gradients are
// grouped into buckets in the order backward produces them and each bucket is all-reduced as soon
// as it is full, on the communication stream, while backward goes on (PyTorch DDP, Li et al.,
// VLDB 2020). After the last bucket the optimizer steps. With `overlap: false` the buckets are
// all-reduced after backward, one after another.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/communicator.hpp"
#include "core/model.hpp"
#include "strategies/strategy.hpp"
#include "strategies/training/options.hpp"

namespace dmlsim::strategies {

struct GradientBucket {
  std::size_t closing_layer = 0;  // model layer whose backward completes the bucket
  std::int64_t parameters = 0;
  std::int64_t last_tensor = 0;  // parameters of the tensor that closed it
};
// Buckets as PyTorch DDP makes them (Li et al., VLDB 2020, §3.2.3; torch's
// _compute_bucket_assignment_by_size): parameter tensors in reverse registration order go into
// the current bucket, which closes as soon as it holds at least its limit — 1 MiB for the first
// bucket (DDP's _DEFAULT_FIRST_BUCKET_BYTES, so that communication starts early), `bucket_bytes`
// for the others — so a bucket exceeds its limit by at most its last tensor; the last bucket takes
// what remains. A bucket is ready when the layer of its last tensor has finished its backward.
// (The parameter server buckets the same way, without the small first bucket.)
inline constexpr std::uint64_t kDdpFirstBucketBytes = std::uint64_t{1} << 20;
std::vector<GradientBucket> plan_buckets(const core::Model& model, std::uint64_t bucket_bytes,
                                         std::uint64_t first_bucket_bytes = kDdpFirstBucketBytes);

// The strategy itself, public so that strategies that wrap it (elastic) can run its iterations.
class DataParallel final : public Strategy {
 public:
  // `fields`: the strategy block's allowed fields (a wrapping strategy adds its own).
  DataParallel(const core::Experiment& experiment, std::span<const std::string_view> fields);

  // One rank's replica for one membership epoch: its communicators (of that epoch), bucket
  // schedules and, in payload mode, real gradients and weights.
  class Replica {
   public:
    // Over `members` (every training rank when empty): the ranks of an elastic job's epoch. With
    // `micro_batch` > 0 the replica trains that many samples per step instead of the model's (an
    // elastic job that keeps its global batch on fewer ranks): the model is rebuilt for it.
    Replica(const DataParallel& strategy, core::Rank& rank, int epoch = 0,
            const std::vector<int>& members = {}, std::int64_t micro_batch = 0);
    // One training step, marked as phase "iteration" numbered `phase_iteration`: forward, backward
    // with the buckets all-reduced, the optimizer.
    void iteration(int phase_iteration, const core::EventAttributes& attributes = {});

   private:
    core::ElementBuffer buffer_of(std::size_t bucket);
    const core::Model& model() const { return rebuilt_ ? *rebuilt_ : strategy_.model_; }

    const DataParallel& strategy_;
    std::optional<core::Model> rebuilt_;         // at another micro-batch
    std::vector<core::Kernel> rebuilt_forward_;  // its forward pass
    core::Rank& rank_;
    core::Communicator dp_;
    std::optional<core::Communicator> check_;  // payload mode: the replicas compare their weights
    std::vector<core::SchedulePtr> schedules_;
    std::vector<std::vector<float>> gradients_;
    std::vector<std::vector<float>> weights_;  // payload mode: the replica's real weights
    std::uint64_t resident_ = 0;
  };

  void run(core::Rank& rank) const override;
  Prediction predict() const override;
  core::Roles roles() const override;
  // What a checkpoint holds: the weights and the optimizer's state.
  std::uint64_t checkpoint_bytes() const;
  const core::Model& model() const { return model_; }
  // Samples one rank trains per iteration: its micro-batch times the micro-batches accumulated.
  std::int64_t samples_per_rank() const { return model_.micro_batch * accumulation_; }

 private:
  core::Kernel optimizer_kernel() const;

  const core::Experiment& experiment_;
  const core::Model& model_;
  CollectiveChoice choice_;
  std::uint64_t bucket_bytes_ = 0;
  bool overlap_ = true;
  int accumulation_ = 1;  // micro-batches per iteration, their gradients exchanged once
  core::OptimizerStep::Kind optimizer_kind_ = core::OptimizerStep::Kind::adam;
  std::vector<GradientBucket> buckets_;
  std::vector<core::Kernel> forward_kernels_;  // the whole forward pass, back to back
  std::vector<std::size_t> closing_layers_;    // of each bucket
};

std::unique_ptr<Strategy> make_data_parallel(const core::Experiment& experiment);
// The fields of its `strategy:` mapping.
std::span<const std::string_view> data_parallel_fields();

}  // namespace dmlsim::strategies
