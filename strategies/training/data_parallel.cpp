#include "strategies/training/data_parallel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "strategies/collectives/cost.hpp"
#include "strategies/collectives/verify.hpp"
#include "strategies/paths.hpp"
#include "strategies/training/memory.hpp"
#include "strategies/training/options.hpp"
#include "strategies/training/replica_step.hpp"

namespace dmlsim::strategies {

std::vector<GradientBucket> plan_buckets(const core::Model& model, std::uint64_t bucket_bytes,
                                         std::uint64_t first_bucket_bytes) {
  std::vector<GradientBucket> buckets;
  const std::uint64_t element = core::dtype_bytes(model.dtype);
  std::uint64_t limit = std::min(first_bucket_bytes, bucket_bytes);
  GradientBucket open;
  for (std::size_t i = model.layers.size(); i-- > 0;) {
    const std::vector<std::int64_t> tensors = model.layers[i].parameter_tensors();
    for (auto t = tensors.rbegin(); t != tensors.rend(); ++t) {
      open.parameters += *t;
      open.closing_layer = i;
      open.last_tensor = *t;
      if (static_cast<std::uint64_t>(open.parameters) * element >= limit) {
        buckets.push_back(open);
        open = {};
        limit = bucket_bytes;
      }
    }
  }
  if (open.parameters > 0) buckets.push_back(open);
  return buckets;
}

DataParallel::DataParallel(const core::Experiment& e, std::span<const std::string_view> fields)
    : experiment_(e), model_(e.require_model()) {
  const core::ConfigNode& node = *e.strategy;
  node.expect_only(fields, core::experiment_field_homes());
  choice_ = read_collective_choice(node, e, Collective::all_reduce, "allreduce", "ring", e.training_ranks());
  bucket_bytes_ = node.bytes_or("bucket_size", std::uint64_t{25} << 20);  // PyTorch DDP's default 25 MiB
  if (bucket_bytes_ == 0) node.at("bucket_size").fail("must be positive");
  overlap_ = node.boolean_or("overlap", true);
  // Gradient accumulation (PyTorch DDP's no_sync): `accumulation` micro-batches per iteration, the
  // gradients summed locally and exchanged once, in the last one's backward.
  accumulation_ = static_cast<int>(node.integer_in_or("accumulation", 1, 1 << 20, 1));
  const std::string optimizer = node.string_or("optimizer", "adam");
  if (optimizer != "adam" && optimizer != "sgd") node.at("optimizer").fail("known optimizers: adam, sgd");
  optimizer_kind_ = optimizer == "adam" ? core::OptimizerStep::Kind::adam : core::OptimizerStep::Kind::sgd;
  if (e.payload && core::dtype_bytes(model_.dtype) != 4) {
    node.fail("payload mode checks float sums: give the model dtype fp32");
  }
  check_replica_fits(e, model_, optimizer_kind_ == core::OptimizerStep::Kind::adam);
  buckets_ = plan_buckets(model_, bucket_bytes_);
  for (const GradientBucket& b : buckets_) closing_layers_.push_back(b.closing_layer);
  for (const core::Layer& l : model_.layers)
    forward_kernels_.insert(forward_kernels_.end(), l.forward.begin(), l.forward.end());
}

core::Kernel DataParallel::optimizer_kernel() const {
  return core::optimizer_step("optimizer.step", model_.parameters(), model_.dtype, optimizer_kind_);
}

std::uint64_t DataParallel::checkpoint_bytes() const {
  const TrainingState state = training_state(model_.parameters(), model_.dtype,
                                             optimizer_kind_ == core::OptimizerStep::Kind::adam, 0, 1);
  return state.weights + state.optimizer;
}

namespace {

// Payload mode keeps real weights: SGD with the averaged gradient, w ← w − η·g/n.
void apply_sgd(std::vector<std::vector<float>>& weights, const std::vector<std::vector<float>>& gradients,
               int n) {
  constexpr float kLearningRate = 1e-3f;
  for (std::size_t b = 0; b < weights.size(); ++b) {
    for (std::size_t i = 0; i < weights[b].size(); ++i) {
      weights[b][i] -= kLearningRate * gradients[b][i] / static_cast<float>(n);
    }
  }
}

// Data parallelism is correct only if every replica holds the same weights after every step.
// Each rank hashes its weights (FNV-1a over their bytes) and the hashes are all-gathered with the
// ring all-gather, whose copies keep bits exactly; every rank compares them all. The tolerance is
// zero: every algorithm here gives every rank the same reduced bits (each chunk is summed once and
// then copied), so equal inputs give equal updates.
void check_replicas_agree(core::Communicator& check, const std::vector<std::vector<float>>& weights,
                          int step) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const auto& bucket : weights) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(bucket.data());
    for (std::size_t i = 0; i < bucket.size() * sizeof(float); ++i)
      hash = (hash ^ bytes[i]) * 1099511628211ull;
  }
  const int n = check.size();
  std::vector<float> all(2 * static_cast<std::size_t>(n));
  std::memcpy(&all[2 * static_cast<std::size_t>(check.index())], &hash, sizeof hash);
  check.all_gather({all.size(), 4, all.data()}, NamedAlgorithm("ring"));
  for (int r = 0; r < n; ++r) {
    std::uint64_t theirs = 0;
    std::memcpy(&theirs, &all[2 * static_cast<std::size_t>(r)], sizeof theirs);
    if (theirs != hash) {
      throw core::BackendError(fmt::format("rank {}: after step {} its weights differ from rank {}'s",
                                           check.rank().rank(), step, check.rank_of(r)));
    }
  }
}

}  // namespace

DataParallel::Replica::Replica(const DataParallel& strategy, core::Rank& rank, int epoch,
                               const std::vector<int>& members, std::int64_t micro_batch)
    : strategy_(strategy),
      rank_(rank),
      dp_(rank.communicator(members.empty() ? core::Group::world(strategy.experiment_.training_ranks())
                                            : core::Group::of(members),
                            "dp", epoch)),
      resident_(replica_resident_bytes(strategy.model_,
                                       strategy.optimizer_kind_ == core::OptimizerStep::Kind::adam)) {
  const core::Experiment& e = strategy_.experiment_;
  if (micro_batch > 0 && micro_batch != strategy_.model_.micro_batch) {
    core::ModelShape shape = strategy_.model_.shape;
    shape.micro_batch = micro_batch;
    rebuilt_ = strategy_.model_.rebuilt(shape);  // the same layers and parameters: the buckets hold
    for (const core::Layer& l : rebuilt_->layers)
      rebuilt_forward_.insert(rebuilt_forward_.end(), l.forward.begin(), l.forward.end());
  }
  if (e.payload) check_.emplace(rank.communicator(dp_.group(), "replica-check", epoch));
  const NamedAlgorithm algorithm(strategy_.choice_.algorithm, strategy_.choice_.options);
  const std::uint32_t element = core::dtype_bytes(strategy_.model_.dtype);
  for (const GradientBucket& b : strategy_.buckets_) {
    schedules_.push_back(
        dp_.schedule(Collective::all_reduce, algorithm, static_cast<std::uint64_t>(b.parameters), element));
  }
  gradients_.resize(strategy_.buckets_.size());
  if (e.payload) {  // the same start everywhere
    for (const GradientBucket& b : strategy_.buckets_)
      weights_.emplace_back(static_cast<std::size_t>(b.parameters), 0.5f);
  }
}

core::ElementBuffer DataParallel::Replica::buffer_of(std::size_t b) {
  const auto count = static_cast<std::uint64_t>(strategy_.buckets_[b].parameters);
  return core::ElementBuffer{count, core::dtype_bytes(strategy_.model_.dtype),
                             strategy_.experiment_.payload ? gradients_[b].data() : nullptr};
}

void DataParallel::Replica::iteration(int phase_iteration, const core::EventAttributes& attributes) {
  const DataParallel& s = strategy_;
  const bool payload = s.experiment_.payload;
  const int n = dp_.size();
  core::Phase iteration(rank_, "iteration", phase_iteration, attributes);
  const std::span<const core::Kernel> forward =
      rebuilt_ ? std::span(rebuilt_forward_) : std::span(s.forward_kernels_);
  for (int m = 0; m + 1 < s.accumulation_; ++m) forward_backward_local(rank_, model(), forward, resident_, m);
  forward_backward_sync(rank_, model(),
                        rebuilt_ ? std::span(rebuilt_forward_) : std::span(s.forward_kernels_), resident_,
                        s.closing_layers_,
                        {.gradients_ready =
                             [&](std::size_t b) {
                               if (!payload) return;
                               gradients_[b].resize(static_cast<std::size_t>(s.buckets_[b].parameters));
                               fill_test_input(dp_.index(), gradients_[b]);
                             },
                         .exchange = [&](std::size_t b) -> BucketExchange {
                           return {&dp_, schedules_[b], buffer_of(b)};
                         },
                         .overlap = s.overlap_,
                         .micro_batch = s.accumulation_ > 1 ? s.accumulation_ - 1 : -1});
  if (payload) {
    for (std::size_t b = 0; b < s.buckets_.size(); ++b) {
      if (std::string p = check_test_output(Collective::all_reduce, n, dp_.index(), gradients_[b]);
          !p.empty()) {
        throw core::BackendError(fmt::format("rank {}: gradient bucket {}: {}", rank_.rank(), b, p));
      }
    }
  }
  {
    core::Phase step(rank_, core::kOptimizerPhase);
    rank_.compute(s.optimizer_kernel());
    if (payload) apply_sgd(weights_, gradients_, n);
  }
  if (check_) check_replicas_agree(*check_, weights_, phase_iteration);
}

void DataParallel::run(core::Rank& rank) const {
  Replica replica(*this, rank);
  for (int it = 0; it < experiment_.iterations; ++it) replica.iteration(it);
}

core::Roles DataParallel::roles() const {
  return core::Roles::workers(experiment_.ranks, model_.micro_batch * accumulation_ * experiment_.ranks);
}

Prediction DataParallel::predict() const {
  Prediction p;
  const int n = experiment_.ranks;
  const std::uint32_t bytes_per_parameter = core::dtype_bytes(model_.dtype);
  std::int64_t largest = 0;
  for (const GradientBucket& b : buckets_) largest = std::max(largest, b.parameters);
  const auto size_of = [&](std::int64_t parameters) {
    return core::format_bytes(static_cast<double>(parameters) * bytes_per_parameter);
  };
  p.summary = fmt::format(
      "data-parallel {} on {} ranks: {} buckets (DDP's assignment, cap {}: first {}, largest {}, last {}) "
      "{}",
      model_.name, n, buckets_.size(), core::format_bytes(static_cast<double>(bucket_bytes_)),
      size_of(buckets_.front().parameters), size_of(largest), size_of(buckets_.back().parameters),
      overlap_ ? "overlapped with backward" : "after backward");
  if (accumulation_ > 1)
    p.summary += fmt::format(", {} micro-batches accumulated per iteration", accumulation_);
  const SlowestReplica decides = slowest_replica(experiment_, model_, [](int) { return true; });
  const core::DeviceProfile& device = *decides.device;
  const double slowest = decides.slowdown;
  const auto paths = path_classes(experiment_, core::Group::world(n), choice_.options.local_size);
  if (!paths)
    p.notes.push_back("closed forms need the analytic paths of a YAML topology; communication omitted");
  const std::uint32_t element = core::dtype_bytes(model_.dtype);
  const ReplicaStepTimes t = predict_replica_step(
      model_, device, slowest, closing_layers_,
      [&](std::size_t b) {
        return paths ? collective_cost(Collective::all_reduce, choice_.algorithm, n,
                                       static_cast<std::uint64_t>(buckets_[b].parameters), element, *paths,
                                       choice_.options)
                           .total()
                     : 0.0;
      },
      overlap_);
  const double optimizer = device.kernel_seconds(optimizer_kernel()) * slowest;
  const double k = accumulation_;
  p.terms.push_back(
      {"forward", k * t.forward,
       accumulation_ > 1
           ? fmt::format("{} micro-batches × the roofline time of every forward kernel", accumulation_)
           : "roofline time of every forward kernel"});
  p.terms.push_back({"backward", k * t.backward,
                     accumulation_ > 1
                         ? fmt::format("{} micro-batches × the roofline time of every backward kernel; "
                                       "the buckets go in the last one",
                                       accumulation_)
                         : "roofline time of every backward kernel"});
  p.terms.push_back({"all-reduce (all buckets)", t.communication,
                     fmt::format("{} all-reduce per bucket, closed form", choice_.algorithm)});
  p.terms.push_back({"exposed communication", t.exposed,
                     overlap_ ? "what the bucket pipeline leaves after backward" : "all of it (no overlap)"});
  p.terms.push_back({"optimizer", optimizer, "roofline time of the optimizer step"});
  p.iteration_seconds = k * (t.forward + t.backward) + t.exposed + optimizer;
  p.memory_per_device = replica_memory_bytes(model_, optimizer_kind_ == core::OptimizerStep::Kind::adam);
  if (slowest > 1) p.notes.push_back(fmt::format("compute is the slowest rank's (slowdown {}x)", slowest));
  return p;
}

std::span<const std::string_view> data_parallel_fields() {
  static constexpr std::string_view kFields[] = {"type",          "allreduce",    "bucket_size", "overlap",
                                                 "optimizer",     "tree_chunk",   "local_size",  "inner",
                                                 "partner_order", "check_memory", "accumulation"};
  return kFields;
}

std::unique_ptr<Strategy> make_data_parallel(const core::Experiment& experiment) {
  return std::make_unique<DataParallel>(experiment, data_parallel_fields());
}

}  // namespace dmlsim::strategies
