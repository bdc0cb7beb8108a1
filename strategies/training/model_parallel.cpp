#include "strategies/training/model_parallel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <tuple>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/collectives/cost.hpp"
#include "strategies/collectives/verify.hpp"
#include "strategies/paths.hpp"
#include "strategies/pipeline/pipeline_closed_forms.hpp"
#include "strategies/pipeline/pipeline_replay.hpp"
#include "strategies/pipeline/pipeline_schedule.hpp"
#include "strategies/pipeline/stage_split.hpp"
#include "strategies/training/memory.hpp"
#include "strategies/training/mlp_numerics.hpp"
#include "strategies/training/options.hpp"
#include "strategies/training/replica_step.hpp"

namespace dmlsim::strategies {

namespace {

using pipeline::PipelineAction;
using pipeline::PipelineOp;
using pipeline::PipelineSchedule;
using pipeline::ScheduleKind;

// A stretch of one pass over a chunk: kernels back to back, then the tensor-parallel collective
// that follows them, if any.
struct StepCollective {
  Collective collective = Collective::all_reduce;
  std::uint64_t bytes = 0;     // the whole tensor on one rank (all-reduce buffer, all-gather output)
  bool data_parallel = false;  // on the dp communicator (ZeRO-3), else on tp (Megatron)
  std::string next_to;         // the kernel it precedes or follows, for messages
};
struct Step {
  std::vector<core::Kernel> kernels;
  std::optional<StepCollective> collective;
};

// ZeRO-3 (Rajbhandari et al. 2020, §5.3): a layer's weights are all-gathered over dp before its
// forward and before its backward, and its gradients reduce-scattered after its backward.
struct LayerGathers {
  std::uint64_t bytes = 0;  // the layer's parameters; 0: no ZeRO-3
  bool gather_before = false;
  bool scatter_after = false;
};

// A bucket of a chunk's gradients: layers [first_layer, end_layer) (model numbering), their
// parameters, and the step of the chunk's last pass (its backward, or zero-bubble's W) before
// which the bucket's gradients are complete (the pass's step count: at its end).
struct GradientSpan {
  std::size_t first_layer = 0, end_layer = 0;
  std::int64_t parameters = 0;
  std::size_t ready_step = 0;
};

// One virtual stage's share of the model: its layers and what they cost and send.
struct Chunk {
  std::size_t first_layer = 0, end_layer = 0;
  std::vector<Step> forward;
  std::vector<Step> backward;         // all of it: input and weight gradients
  std::vector<Step> input_gradient;   // zb-h1's B (with any recomputation)
  std::vector<Step> weight_gradient;  // zb-h1's W
  std::int64_t parameters = 0;
  // Overlapped gradient sync (overlap_grad_reduce): the chunk's gradients in buckets, in the order
  // its last pass completes them (one bucket of all of them without `bucket_size`).
  std::vector<GradientSpan> buckets;
  std::uint64_t saved_bytes = 0;   // per micro-batch, kept from forward to backward
  std::uint64_t output_bytes = 0;  // the activation it sends on (and the gradient it gets back)
};

// Appends a pass's kernels to `steps`, with the tensor-parallel collectives that the layer runs
// before or after them (those of the forward pass, or of the backward).
void add_steps(std::vector<Step>& steps, const std::vector<core::Kernel>& kernels,
               const std::vector<core::TensorParallelCollective>& collectives, bool backward,
               const LayerGathers& zero = {}) {
  if (steps.empty()) steps.emplace_back();
  auto then = [&steps](StepCollective c) {
    steps.back().collective = std::move(c);
    steps.emplace_back();
  };
  if (kernels.empty()) return;
  if (zero.bytes > 0 && zero.gather_before)
    then({Collective::all_gather, zero.bytes, true, kernels.front().name});
  for (const core::Kernel& k : kernels) {
    for (const auto& c : collectives) {
      if (c.backward == backward && c.before && c.kernel == k.name)
        then({c.collective, c.bytes, false, c.kernel});
    }
    steps.back().kernels.push_back(k);
    for (const auto& c : collectives) {
      if (c.backward == backward && !c.before && c.kernel == k.name)
        then({c.collective, c.bytes, false, c.kernel});
    }
  }
  if (zero.bytes > 0 && zero.scatter_after)
    then({Collective::reduce_scatter, zero.bytes, true, kernels.back().name});
}

// The mesh each type needs, said where it is missing.
void require_mesh(const core::Experiment& e, const core::ConfigNode& node) {
  const std::string& type = e.strategy_type;
  if (type == "pipeline" && e.mesh.size("pp") < 2 && !e.parallelism) {
    node.fail(
        "a pipeline needs its stages in the experiment's mesh: parallelism: {pp: N} (and dp: D for "
        "data-parallel replicas of it)");
  }
  if (type == "tensor-parallel" && e.mesh.size("tp") < 2 && !e.parallelism) {
    node.fail(
        "tensor parallelism needs its degree in the experiment's mesh: parallelism: {tp: N} (and dp: D "
        "for data-parallel replicas)");
  }
  if (type == "hybrid" && !e.parallelism)
    node.fail("a hybrid needs the experiment's mesh: parallelism: {dp: D, tp: T, pp: P}");
}

class ModelParallel final : public Strategy {
 public:
  explicit ModelParallel(const core::Experiment& e) : experiment_(e) {
    const core::ConfigNode& node = *e.strategy;
    node.expect_only(model_parallel_fields(), core::experiment_field_homes());
    require_mesh(e, node);
    stages_ = e.mesh.size("pp");
    replicas_ = e.mesh.size("dp");
    tensor_ = e.mesh.size("tp");
    cut_for_tensor_parallelism(node);
    const std::string schedule = node.string_or("schedule", "1f1b");
    ScheduleKind kind{};
    if (!pipeline::parse_schedule_kind(schedule, kind)) {
      (node.has("schedule") ? node.at("schedule") : node)
          .fail(fmt::format("unknown pipeline schedule '{}' (known: {})", schedule,
                            fmt::join(pipeline::schedule_kind_names(), ", ")));
    }
    const int m = static_cast<int>(node.integer_in_or("micro_batches", 1, 1 << 16, 2 * stages_));
    const int v =
        static_cast<int>(node.integer_in_or("chunks", 1, 64, kind == ScheduleKind::interleaved ? 2 : 1));
    // The mesh's pp is at least 1, so a problem is about micro_batches or chunks.
    if (const auto problem = pipeline::schedule_shape_problem(kind, stages_, m, v)) {
      const std::string field(problem->field);
      (node.has(field) ? node.at(field) : node).fail(problem->message);
    }
    schedule_ = pipeline::build_schedule(kind, stages_, m, v);
    const std::string optimizer = node.string_or("optimizer", "adam");
    if (optimizer != "adam" && optimizer != "sgd") node.at("optimizer").fail("known optimizers: adam, sgd");
    adam_ = optimizer == "adam";
    if (e.payload && core::dtype_bytes(model_.dtype) != 4)
      node.fail(
          "payload mode checks the activations and gradients it moves as floats: give the model dtype fp32");
    zero_ = static_cast<int>(node.integer_in_or("zero", 0, 3, 0));
    if (zero_ >= 2 && stages_ > 1) {
      node.at("zero").fail(
          "ZeRO stages 2 and 3 partition the gradients that a pipeline accumulates over its micro-batches; "
          "DeepSpeed refuses them with pipeline parallelism too (use zero: 1, Megatron-LM's distributed "
          "optimizer)");
    }
    zero_prefetch_ = node.boolean_or("zero_prefetch", true);
    overlap_grad_reduce_ = node.boolean_or("overlap_grad_reduce", false);
    if (const auto bucket = node.find("bucket_size")) {
      bucket_bytes_ = bucket->as_bytes();
      if (bucket_bytes_ == 0) bucket->fail("must be positive");
      if (!overlap_grad_reduce_)
        bucket->fail(
            "buckets split the gradient sync that overlap_grad_reduce overlaps: give overlap_grad_reduce: "
            "true");
      if (zero_ >= 1)
        bucket->fail("ZeRO shards whole chunks' gradients and weights: bucket_size needs zero: 0");
    }
    if (node.has("zero_prefetch") && zero_ < 3)
      node.at("zero_prefetch").fail("prefetches the layers ZeRO stage 3 gathers: give zero: 3");
    // Payload mode trains an MLP for real (mlp_numerics.hpp) unless ZeRO-3 gathers its layers
    // (their messages then carry test values, as every transformer's do).
    if (const auto* mlp = model_.spec ? std::get_if<core::MlpConfig>(model_.spec.get()) : nullptr;
        mlp != nullptr && e.payload && zero_ < 3) {
      numeric_widths_ = mlp->widths;
    }
    if (replicas_ > 1) {
      choice_ = read_collective_choice(node, e, gradient_collective(), "allreduce", "ring", replicas_);
      if (zero_ >= 1)
        (void)read_collective_choice(node, e, Collective::all_gather, "allreduce", "ring", replicas_);
    }
    if (tensor_ > 1) {
      tp_choice_ = read_collective_choice(
          node, e, sequence_parallel_ ? Collective::reduce_scatter : Collective::all_reduce, "tp_algorithm",
          "ring", tensor_);
      if (sequence_parallel_) {
        (void)read_collective_choice(node, e, Collective::all_gather, "tp_algorithm", "ring", tensor_);
      }
    }
    cut_model(node);
    check_memory(node);
  }

  void run(core::Rank& rank) const override {
    const core::Mesh& mesh = experiment_.mesh;
    if (rank.rank() >= mesh.ranks()) return;
    const int stage = mesh.coordinate(rank.rank(), "pp");
    core::Communicator pp = rank.communicator(mesh.group("pp", rank.rank()), "pp");
    std::optional<core::Communicator> dp, tp;
    if (replicas_ > 1) dp.emplace(rank.communicator(mesh.group("dp", rank.rank()), "dp"));
    if (tensor_ > 1) tp.emplace(rank.communicator(mesh.group("tp", rank.rank()), "tp"));
    const std::vector<PipelineAction>& actions = schedule_.actions[static_cast<std::size_t>(stage)];
    const Prediction::MemoryUse& memory = memory_[static_cast<std::size_t>(stage)];
    const std::uint64_t resident = memory.weights + memory.gradients + memory.optimizer;
    std::optional<numerics::StageTrainer> trainer;
    if (!numeric_widths_.empty()) {
      std::vector<numerics::ChunkLayers> layers;
      for (int c = 0; c < schedule_.chunks; ++c) {
        const Chunk& chunk = chunk_of(stage, c);
        layers.push_back({static_cast<int>(chunk.first_layer), static_cast<int>(chunk.end_layer)});
      }
      trainer.emplace(numeric_widths_, layers, tensor_, mesh.coordinate(rank.rank(), "tp"), global_batch());
    }

    for (int it = 0; it < experiment_.iterations; ++it) {
      core::Phase iteration(rank, "iteration", it);
      // Every receive of the iteration is posted up front, so each transfer starts as soon as its
      // sender sends (point-to-point overlapped with compute, as Megatron-LM's overlap_p2p_comm).
      std::vector<std::vector<float>> payload(actions.size());
      std::map<std::size_t, core::Request> receives;  // by action index
      for (std::size_t i = 0; i < actions.size(); ++i) {
        const PipelineAction& a = actions[i];
        if (a.op != PipelineOp::recv_activation && a.op != PipelineOp::recv_gradient) continue;
        receives.emplace(i, pp.irecv(a.peer, message_buffer(stage, a, payload[i]), message_tag(stage, a)));
      }
      // With a trainer: the tensors received and made, by (kind, micro-batch, chunk).
      std::map<std::tuple<PipelineOp, int, int>, std::vector<float>> tensors;
      auto take = [&tensors](PipelineOp kind, const PipelineAction& a) {
        std::vector<float> out;
        if (const auto found = tensors.find({kind, a.micro_batch, a.chunk}); found != tensors.end()) {
          out = std::move(found->second);
          tensors.erase(found);
        }
        return out;
      };
      // Overlapped gradient sync: the action after which each chunk's gradients are complete, and
      // the syncs started on the dp stream (ZeRO-3 reduce-scatters in its backward instead).
      const bool overlap_sync = overlaps_gradient_sync();
      std::vector<std::size_t> gradients_complete(static_cast<std::size_t>(schedule_.chunks), actions.size());
      for (std::size_t i = 0; i < actions.size() && overlap_sync; ++i) {
        if (actions[i].op == schedule_.last_pass())
          gradients_complete[static_cast<std::size_t>(actions[i].chunk)] = i;
      }
      std::vector<BucketSync> syncing;
      std::vector<std::vector<float>> gradients(static_cast<std::size_t>(schedule_.chunks));
      std::map<int, core::Request> last_send;  // by peer stage: one message at a time to each
      std::uint64_t in_flight = 0;  // saved activations of the micro-batches between forward and backward
      rank.count(core::kMemoryInUse, static_cast<double>(resident));
      for (std::size_t i = 0; i < actions.size(); ++i) {
        const PipelineAction& a = actions[i];
        const Chunk& chunk = chunk_of(stage, a.chunk);
        switch (a.op) {
          case PipelineOp::forward:
          case PipelineOp::backward:
          case PipelineOp::weight_gradient: {
            core::Phase phase(rank,
                              a.op == PipelineOp::forward    ? core::kForwardPhase
                              : a.op == PipelineOp::backward ? core::kBackwardPhase
                                                             : core::kWeightGradientPhase,
                              -1,
                              core::EventAttributes()
                                  .set(core::Attribute::micro_batch, a.micro_batch)
                                  .set(core::Attribute::stage, stage)
                                  .set(core::Attribute::chunk, a.chunk));
            std::function<void(const numerics::TensorSum&)> arithmetic;
            if (trainer && a.op == PipelineOp::forward) {
              arithmetic = [&](const numerics::TensorSum& sum) {
                tensors[{PipelineOp::send_activation, a.micro_batch, a.chunk}] =
                    trainer->forward(a.chunk, a.micro_batch, first_sample(rank.rank(), it, a.micro_batch),
                                     model_.micro_batch, take(PipelineOp::recv_activation, a), sum);
              };
            } else if (trainer && a.op == PipelineOp::backward) {
              arithmetic = [&](const numerics::TensorSum& sum) {
                tensors[{PipelineOp::send_gradient, a.micro_batch, a.chunk}] =
                    trainer->backward(a.chunk, a.micro_batch, take(PipelineOp::recv_gradient, a), sum,
                                      !schedule_.split_backward);
              };
            } else if (trainer) {
              arithmetic = [&](const numerics::TensorSum&) {
                trainer->weight_gradient(a.chunk, a.micro_batch);
              };
            }
            // The chunk's last pass starts each bucket's sync on the dp stream as soon as the
            // bucket's layers are done (before the step that follows them, or at the pass's end).
            std::function<void(std::size_t)> at_step;
            if (overlap_sync && gradients_complete[static_cast<std::size_t>(a.chunk)] == i) {
              at_step = [&, c = a.chunk](std::size_t step) {
                for (std::size_t b = 0; b < chunk.buckets.size(); ++b) {
                  if (chunk.buckets[b].ready_step == step)
                    syncing.push_back(start_bucket_sync(*dp, trainer ? &*trainer : nullptr, stage, c, b));
                }
              };
            }
            run_steps(rank, tp ? &*tp : nullptr, dp ? &*dp : nullptr, steps_of(chunk, a.op), arithmetic,
                      at_step);
            // A micro-batch's saved activations live from its forward to its last backward pass.
            if (a.op == PipelineOp::forward) in_flight += chunk.saved_bytes;
            if (a.op == schedule_.last_pass()) in_flight -= chunk.saved_bytes;
            rank.count(core::kMemoryInUse, static_cast<double>(resident + in_flight));
            break;
          }
          case PipelineOp::send_activation:
          case PipelineOp::send_gradient: {
            if (core::Request& previous = last_send[a.peer]; previous.pending()) rank.wait(previous);
            core::Buffer buffer = message_buffer(stage, a, payload[i]);
            if (trainer) {
              payload[i] = take(a.op, a);
              if (payload[i].size() * sizeof(float) != buffer.bytes) {
                throw core::BackendError(fmt::format(
                    "rank {} (stage {}): the {} of micro-batch {} has {} values, its message {} bytes",
                    rank.rank(), stage, a.op == PipelineOp::send_gradient ? "gradient" : "activation",
                    a.micro_batch, payload[i].size(), buffer.bytes));
              }
              buffer.data = reinterpret_cast<std::byte*>(payload[i].data());
            }
            last_send[a.peer] = pp.isend(a.peer, buffer, message_tag(stage, a));
            break;
          }
          case PipelineOp::recv_activation:
          case PipelineOp::recv_gradient:
            rank.wait(receives.at(i));
            if (trainer) {
              tensors[{a.op, a.micro_batch, a.chunk}] = std::move(payload[i]);
            } else if (experiment_.payload) {
              check_payload(rank, stage, a, payload[i]);
            }
            break;
        }
      }
      for (auto& [peer, request] : last_send) {
        if (request.pending()) rank.wait(request);
      }
      // The replicas' gradients: all-reduced (no ZeRO), or reduce-scattered so that each replica
      // steps its shard and then all-gathers the weights (ZeRO 1 and 2; Rajbhandari et al. §7:
      // the all-reduce's volume). ZeRO-3 reduce-scattered them layer by layer in backward.
      const std::uint32_t element = core::dtype_bytes(model_.dtype);
      if (trainer && !overlap_sync) {
        for (int c = 0; c < schedule_.chunks; ++c)
          gradients[static_cast<std::size_t>(c)] = trainer->gradients(c);
      }
      if (overlap_sync) {
        core::Phase sync(rank, "gradient-sync");  // what the drain did not hide
        for (BucketSync& s : syncing) {
          finish_on_stream(rank, *dp, s.stream);
          if (!trainer) continue;
          // The summed bucket back in its place of the chunk's gradients.
          std::vector<float>& g = gradients[static_cast<std::size_t>(s.chunk)];
          if (g.empty()) g = trainer->gradients(s.chunk);
          std::copy(s.values.begin(), s.values.end(), g.begin() + static_cast<std::ptrdiff_t>(s.offset));
        }
      } else if (syncs_gradients()) {
        core::Phase sync(rank, "gradient-sync");
        for (int c = 0; c < schedule_.chunks; ++c) {
          run_collective(rank, *dp, choice_, gradient_collective(),
                         static_cast<std::uint64_t>(chunk_of(stage, c).parameters) * element,
                         fmt::format("of chunk {}'s gradients", c), gradients[static_cast<std::size_t>(c)]);
        }
      }
      {
        core::Phase step(rank, core::kOptimizerPhase);
        rank.compute(optimizer_kernel(stage));
        for (int c = 0; c < schedule_.chunks && trainer; ++c) {
          const std::vector<float>& g = gradients[static_cast<std::size_t>(c)];
          // ZeRO 1 and 2: each replica steps the shard its reduce-scatter left it.
          const core::ElementRange own =
              dp && zero_ >= 1 ? core::chunk_range(g.size(), static_cast<std::uint64_t>(replicas_),
                                                   static_cast<std::uint64_t>(dp->index()))
                               : core::ElementRange{0, g.size()};
          trainer->step(c, g, own.offset, own.count);
        }
      }
      if (dp && (zero_ == 1 || zero_ == 2)) {
        core::Phase gather(rank, "parameter-gather");
        for (int c = 0; c < schedule_.chunks; ++c) {
          std::vector<float> weights = trainer ? trainer->parameters(c) : std::vector<float>{};
          run_collective(rank, *dp, choice_, Collective::all_gather,
                         static_cast<std::uint64_t>(chunk_of(stage, c).parameters) * element,
                         fmt::format("of chunk {}'s weights", c), weights);
          if (trainer) trainer->set_parameters(c, weights);
        }
      }
    }
    if (trainer) check_against_one_rank(rank, stage, *trainer);
  }

  // Payload mode with an MLP: the parameters after the run against those of the same MLP trained
  // on one rank on the same samples (to float rounding: 1e-3 of what training changed).
  void check_against_one_rank(core::Rank& rank, int stage, const numerics::StageTrainer& trainer) const {
    std::call_once(reference_once_, [this] {
      reference_ = numerics::train_one_rank(numeric_widths_, global_batch(), experiment_.iterations);
    });
    const numerics::ParameterError error = trainer.error_against(reference_);
    rank.count(numerics::kParameterError, error.relative);
    if (error.relative > 1e-3) {
      throw core::BackendError(
          fmt::format("rank {} (stage {}): after {} iterations {} — {:.3g} of what training changed it — "
                      "differs from the "
                      "same MLP trained on one rank: a tensor was moved or summed wrongly",
                      rank.rank(), stage, experiment_.iterations, error.where, error.relative));
    }
  }

  // The samples of one iteration: N = dp·m·b, replica d's micro-batch k from (d·m + k)·b on.
  std::int64_t global_batch() const { return replicas_ * schedule_.micro_batches * model_.micro_batch; }
  std::int64_t first_sample(int rank, int iteration, int micro_batch) const {
    const int replica = experiment_.mesh.coordinate(rank, "dp");
    return iteration * global_batch() +
           (static_cast<std::int64_t>(replica) * schedule_.micro_batches + micro_batch) * model_.micro_batch;
  }

  // The bytes ZeRO-3 gathers for a layer (its weights on this tp rank), 0 below stage 3.
  std::uint64_t zero3_bytes(const core::Layer& layer) const {
    return zero_ >= 3 ? static_cast<std::uint64_t>(layer.parameters) * core::dtype_bytes(model_.dtype) : 0;
  }

  // The replicas' gradient sync after (or, overlapped, during) the pipeline: an all-reduce, or ZeRO 1
  // and 2's reduce-scatter; none without replicas, nor under ZeRO-3, whose reduce-scatters run layer
  // by layer in backward.
  Collective gradient_collective() const {
    return zero_ >= 1 ? Collective::reduce_scatter : Collective::all_reduce;
  }
  bool syncs_gradients() const { return replicas_ > 1 && zero_ < 3; }
  bool overlaps_gradient_sync() const { return overlap_grad_reduce_ && syncs_gradients(); }

  // Re-cuts the model for the micro-batch size, the tensor-parallel degree, sequence parallelism and
  // recomputation.
  void cut_for_tensor_parallelism(const core::ConfigNode& node) {
    const core::Model& whole = experiment_.require_model();
    // Samples per micro-batch: the model's own unless given (the search tries several).
    const std::int64_t micro_batch_size = node.integer_in_or("micro_batch_size", 1, 1 << 20, 0);
    sequence_parallel_ = node.boolean_or("sequence_parallel", false);
    const std::string recompute = node.string_or("recompute", "none");
    core::ModelShape shape;
    shape.micro_batch = micro_batch_size;
    shape.tensor_parallel = tensor_;
    shape.sequence_parallel = sequence_parallel_;
    if (recompute == "none") {
      shape.recompute = core::Recompute::none;
    } else if (recompute == "selective") {
      shape.recompute = core::Recompute::selective;
    } else if (recompute == "full") {
      shape.recompute = core::Recompute::full;
    } else {
      node.at("recompute").fail("known: none, selective, full");
    }
    if (sequence_parallel_ && tensor_ < 2)
      node.at("sequence_parallel").fail("needs tensor parallelism (tp ≥ 2)");
    // One cut per option, so that an impossible one is refused at its own field: the degree at
    // parallelism.tp, then sequence parallelism, then recomputation.
    const auto cut = [&](const core::ModelShape& as, const core::ConfigNode& field) {
      try {
        model_ = whole.rebuilt(as);
      } catch (const core::ValueError& err) {
        field.fail(err.what());
      }
    };
    model_ = whole;
    core::ModelShape partial;
    if (micro_batch_size > 0) {
      partial.micro_batch = micro_batch_size;
      cut(partial, node.at("micro_batch_size"));
    }
    if (tensor_ > 1) {
      partial.tensor_parallel = tensor_;
      cut(partial, experiment_.parallelism && experiment_.parallelism->has("tp")
                       ? experiment_.parallelism->at("tp")
                       : node);
    }
    if (sequence_parallel_) {
      partial.sequence_parallel = true;
      cut(partial, node.at("sequence_parallel"));
    }
    if (shape.recompute != core::Recompute::none) cut(shape, node.at("recompute"));
  }

  core::Roles roles() const override {
    core::Roles roles;
    for (int r = 0; r < experiment_.ranks; ++r) {
      roles.ranks.push_back(stages_ > 1
                                ? core::Role{core::RoleKind::stage, experiment_.mesh.coordinate(r, "pp")}
                                : core::Role{});
    }
    roles.samples_per_iteration = model_.micro_batch * schedule_.micro_batches * replicas_;
    return roles;
  }

  Prediction predict() const override {
    Prediction p;
    const int v = schedule_.chunks;
    std::string what =
        stages_ > 1 ? fmt::format("{} pipeline of {} over {} stages{}", pipeline::to_string(schedule_.kind),
                                  model_.name, stages_, v > 1 ? fmt::format(" × {} chunks", v) : "")
                    : model_.name;
    if (tensor_ > 1) {
      what += fmt::format(", each layer split over {} tensor-parallel ranks{}", tensor_,
                          sequence_parallel_ ? " (sequence parallel)" : "");
    }
    if (replicas_ > 1) what += fmt::format(", {} data-parallel replicas", replicas_);
    p.summary = fmt::format("{}, {} micro-batches of {} per iteration{}", what, schedule_.micro_batches,
                            model_.micro_batch, stages_ > 1 ? layers_text() : "");

    // Per-stage costs on each stage's own device (the slowest replica of the stage decides).
    std::vector<pipeline::StageTimes> stage_times(static_cast<std::size_t>(stages_));
    // Collectives at their closed forms on the stage's first tp group and first dp group.
    std::vector<std::optional<PathClasses>> tp_paths, dp_paths;
    for (int s = 0; s < stages_; ++s) {
      tp_paths.push_back(tensor_ > 1 ? path_classes(experiment_, experiment_.mesh.group("tp", rank_at(0, s)),
                                                    tp_choice_.options.local_size)
                                     : std::nullopt);
      dp_paths.push_back(replicas_ > 1
                             ? path_classes(experiment_, experiment_.mesh.group("dp", rank_at(0, s)),
                                            choice_.options.local_size)
                             : std::nullopt);
    }
    const std::uint32_t element = core::dtype_bytes(model_.dtype);
    auto kernel_seconds_of = [&](int stage, std::span<const core::Kernel> kernels) {
      double slowest = 0;
      for (int r = 0; r < experiment_.mesh.ranks(); ++r) {
        if (experiment_.mesh.coordinate(r, "pp") != stage) continue;
        const core::DeviceProfile& device = device_of(r);
        double t = 0;
        for (const core::Kernel& k : kernels) t += device.kernel_seconds(k);
        slowest = std::max(slowest, t * experiment_.slowdown_of(r));
      }
      return slowest;
    };
    auto collective_seconds = [&](int stage, const StepCollective& c) {
      const auto& paths = (c.data_parallel ? dp_paths : tp_paths)[static_cast<std::size_t>(stage)];
      if (!paths) return 0.0;
      const CollectiveChoice& choice = c.data_parallel ? choice_ : tp_choice_;
      return collective_cost(c.collective, choice.algorithm, c.data_parallel ? replicas_ : tensor_,
                             c.bytes / element, element, *paths, choice.options)
          .total();
    };
    // ZeRO-3 prefetched (run_steps_prefetched): t is the compute flow, `stream` when the dp stream
    // is free; gathers start one layer ahead, reduce-scatters queue behind them, the pass ends when
    // both are done.
    auto prefetched_seconds_of = [&](int stage, std::span<const Step> steps) {
      std::vector<double> gather_cost;
      for (const Step& step : steps) {
        if (step.collective && step.collective->data_parallel &&
            step.collective->collective == Collective::all_gather)
          gather_cost.push_back(collective_seconds(stage, *step.collective));
      }
      double t = 0, stream = 0;
      std::size_t started = 0;
      std::deque<double> gathered;  // end times of the gathers on their way
      auto prefetch = [&] {
        if (started == gather_cost.size()) return;
        stream = std::max(stream, t) + gather_cost[started++];
        gathered.push_back(stream);
      };
      prefetch();
      for (const Step& step : steps) {
        t += kernel_seconds_of(stage, step.kernels);
        if (!step.collective) continue;
        const StepCollective& c = *step.collective;
        if (!c.data_parallel) {
          t += collective_seconds(stage, c);
        } else if (c.collective == Collective::all_gather) {
          t = std::max(t, gathered.front());
          gathered.pop_front();
          prefetch();
        } else {
          stream = std::max(stream, t) + collective_seconds(stage, c);
        }
      }
      return std::max(t, stream);
    };
    auto seconds_of = [&](int stage, std::span<const Step> steps) {
      if (zero_ >= 3 && zero_prefetch_ && replicas_ > 1) return prefetched_seconds_of(stage, steps);
      double t = 0;
      for (const Step& step : steps) {
        t += kernel_seconds_of(stage, step.kernels);
        if (!step.collective) continue;
        const bool dp = step.collective->data_parallel;
        const auto& paths = (dp ? dp_paths : tp_paths)[static_cast<std::size_t>(stage)];
        const CollectiveChoice& choice = dp ? choice_ : tp_choice_;
        if (paths) {
          t += collective_cost(step.collective->collective, choice.algorithm, dp ? replicas_ : tensor_,
                               step.collective->bytes / element, element, *paths, choice.options)
                   .total();
        }
      }
      return t;
    };
    // Per chunk: forward, input gradient, weight gradient, and the whole backward (their sum, but
    // where ZeRO-3 prefetches: its gathers overlap across the two halves).
    const bool prefetched = zero_ >= 3 && zero_prefetch_ && replicas_ > 1;
    std::vector<std::vector<std::array<double, 4>>> chunk_seconds(static_cast<std::size_t>(stages_));
    for (int s = 0; s < stages_; ++s) {
      for (int c = 0; c < v; ++c) {
        const Chunk& chunk = chunk_of(s, c);
        std::array<double, 4> t{seconds_of(s, chunk.forward), seconds_of(s, chunk.input_gradient),
                                seconds_of(s, chunk.weight_gradient), 0.0};
        t[3] = prefetched ? seconds_of(s, chunk.backward) : t[1] + t[2];
        chunk_seconds[static_cast<std::size_t>(s)].push_back(t);
        auto& st = stage_times[static_cast<std::size_t>(s)];
        st.forward += t[0];
        if (prefetched && !schedule_.split_backward) {
          st.backward += t[3];
        } else {
          st.backward += t[1];
          st.weight_gradient += t[2];
        }
      }
    }
    // Point to point: each boundary's message (activation forward, gradient back) crosses it for
    // every replica and tensor-parallel rank at once; α + S/B on the slowest of those paths.
    std::vector<double> message(static_cast<std::size_t>(schedule_.virtual_stages() - 1), 0.0);
    bool analytic = true;
    for (int k = 0; k + 1 < schedule_.virtual_stages(); ++k) {
      std::vector<std::pair<int, int>> pairs;
      for (int d = 0; d < replicas_; ++d) {
        for (int t = 0; t < tensor_; ++t)
          pairs.emplace_back(rank_at(d, schedule_.stage_of(k), t), rank_at(d, schedule_.stage_of(k + 1), t));
      }
      const auto path = concurrent_path(experiment_, pairs);
      if (!path) {
        analytic = false;
        break;
      }
      message[static_cast<std::size_t>(k)] =
          path->alpha +
          static_cast<double>(chunks_[static_cast<std::size_t>(k)].output_bytes) / path->bandwidth;
    }
    if (!analytic) {
      std::fill(message.begin(), message.end(), 0.0);
      p.notes.push_back("closed forms need the analytic paths of a YAML topology; communication omitted");
    }
    const pipeline::ReplayResult replayed = pipeline::replay(
        schedule_,
        [&](int stage, int chunk, PipelineOp op) {
          const auto& t = chunk_seconds[static_cast<std::size_t>(stage)][static_cast<std::size_t>(chunk)];
          if (op == PipelineOp::forward) return t[0];
          if (op == PipelineOp::backward) return schedule_.split_backward ? t[1] : t[3];
          return t[2];
        },
        [&](int boundary) { return message[static_cast<std::size_t>(boundary)]; });
    pipeline::StageTimes slowest;
    for (const auto& st : stage_times) {
      if (st.total() > slowest.total()) slowest = st;
    }
    p.terms.push_back({"forward (slowest stage, one micro-batch)", slowest.forward,
                       tensor_ > 1
                           ? "roofline time of its kernels + its tensor-parallel collectives (closed form)"
                           : "roofline time of its kernels"});
    p.terms.push_back(
        {"backward (slowest stage, one micro-batch)", slowest.backward + slowest.weight_gradient,
         schedule_.split_backward
             ? fmt::format("input gradient {} + weight gradient {}", core::format_duration(slowest.backward),
                           core::format_duration(slowest.weight_gradient))
         : tensor_ > 1 ? "roofline time of its kernels + its tensor-parallel collectives (closed form)"
                       : "roofline time of its kernels"});
    p.terms.push_back(
        {stages_ > 1 ? "pipeline" : "forward and backward of every micro-batch", replayed.makespan,
         fmt::format("the {} schedule replayed with each stage's times, messages α + S/B (largest {})",
                     pipeline::to_string(schedule_.kind),
                     core::format_duration(
                         message.empty() ? 0.0 : *std::max_element(message.begin(), message.end())))});
    // After its pipeline, each stage syncs its gradients over dp (all-reduce, or ZeRO 1 and 2's
    // reduce-scatter), steps its optimizer, and (ZeRO 1 and 2) all-gathers its weights; the last
    // stage to finish decides.
    // A dp collective of `parameters` elements over stage `stage`'s replicas, closed form.
    auto dp_collective_seconds = [&](int stage, std::int64_t parameters, Collective collective) {
      const auto& paths = dp_paths[static_cast<std::size_t>(stage)];
      if (!paths || !analytic) return 0.0;
      return collective_cost(collective, choice_.algorithm, replicas_, static_cast<std::uint64_t>(parameters),
                             element, *paths, choice_.options)
          .total();
    };
    auto dp_seconds = [&](int stage, Collective collective) {
      double t = 0;
      for (int c = 0; c < v; ++c)
        t += dp_collective_seconds(stage, chunk_of(stage, c).parameters, collective);
      return t;
    };
    // Overlapped gradient sync: each bucket's starts on the dp stream when its layers are done in
    // its chunk's last pass (the replay's gradients_done, less the steps of the pass still to run),
    // one after another in that order; returns when the stream is done.
    auto overlapped_sync_end = [&](int stage, Collective collective) {
      const auto& done = replayed.gradients_done[static_cast<std::size_t>(stage)];
      struct Ready {
        double at;
        double seconds;
      };
      std::vector<Ready> ready;
      for (int c = 0; c < v; ++c) {
        const Chunk& chunk = chunk_of(stage, c);
        const std::vector<Step>& pass = schedule_.split_backward ? chunk.weight_gradient : chunk.backward;
        for (const GradientSpan& b : chunk.buckets) {
          const double rest = seconds_of(stage, std::span<const Step>(pass).subspan(b.ready_step));
          ready.push_back({done[static_cast<std::size_t>(c)] - rest,
                           dp_collective_seconds(stage, b.parameters, collective)});
        }
      }
      std::stable_sort(ready.begin(), ready.end(),
                       [](const Ready& a, const Ready& b) { return a.at < b.at; });
      double stream = 0;
      for (const Ready& r : ready) stream = std::max(stream, r.at) + r.seconds;
      return stream;
    };
    const bool overlap_sync = overlaps_gradient_sync();
    double iteration = 0, sync = 0, gather = 0, optimizer = 0;
    for (int s = 0; s < stages_; ++s) {
      const double sync_s = syncs_gradients() ? dp_seconds(s, gradient_collective()) : 0.0;
      const double gather_s =
          replicas_ > 1 && (zero_ == 1 || zero_ == 2) ? dp_seconds(s, Collective::all_gather) : 0.0;
      const core::Kernel k = optimizer_kernel(s);
      const double optimizer_s = kernel_seconds_of(s, std::span<const core::Kernel>(&k, 1));
      const double finish = replayed.finish[static_cast<std::size_t>(s)];
      // Overlapped, the sync shows only where the dp stream outlasts the stage's pipeline.
      const double exposed_sync =
          overlap_sync ? std::max(0.0, overlapped_sync_end(s, gradient_collective()) - finish) : sync_s;
      const double end = finish + exposed_sync + optimizer_s + gather_s;
      if (end > iteration) {
        iteration = end;
        sync = exposed_sync;
        gather = gather_s;
        optimizer = optimizer_s;
      }
    }
    if (syncs_gradients()) {
      const std::string_view collective = core::to_string(gradient_collective());
      p.terms.push_back(
          {fmt::format("gradient {} ({}after the pipeline)", collective, overlap_sync ? "exposed " : ""),
           sync,
           fmt::format("{} {} of each chunk over {} replicas, closed form, {}on the last stage to finish",
                       choice_.algorithm, collective, replicas_,
                       !overlap_sync ? ""
                       : bucket_bytes_ > 0
                           ? fmt::format("started as each bucket of {} is complete in the chunk's "
                                         "last backward (overlap_grad_reduce), ",
                                         core::format_bytes(bucket_bytes_))
                           : "started as each chunk's gradients are complete (overlap_grad_reduce), ")});
    }
    p.terms.push_back({zero_ >= 1 ? "optimizer (its ZeRO shard)" : "optimizer", optimizer,
                       "roofline time of the optimizer step"});
    if (gather > 0) {
      p.terms.push_back({"weight all-gather (ZeRO 1 and 2)", gather,
                         fmt::format("{} all-gather of each chunk over {} replicas, closed form",
                                     choice_.algorithm, replicas_)});
    }
    p.iteration_seconds = iteration;
    p.bubble_fraction = replayed.bubble_fraction();
    p.references_title = "the published closed form, for comparison";
    const bool balanced = slowest.weight_gradient <= slowest.forward || schedule_.kind != ScheduleKind::zb_h1;
    if (balanced && stages_ > 1) {
      p.references.push_back(
          {"every stage as the slowest, free communication",
           pipeline::pipeline_seconds(schedule_.kind, stages_, schedule_.micro_batches, v, slowest),
           fmt::format("bubble {:.1f} % of stage time",
                       100 * pipeline::bubble_fraction(schedule_.kind, stages_, schedule_.micro_batches, v,
                                                       slowest))});
    }
    for (const auto& use : memory_) p.memory_per_device = std::max(p.memory_per_device, use.total());
    p.memory = memory_;
    return p;
  }

 private:
  const core::DeviceProfile& device_of(int rank) const {
    return experiment_.platform.device_of(experiment_.placement[static_cast<std::size_t>(rank)]);
  }

  // The rank of replica `replica`, tensor-parallel index `tp` at pipeline stage `stage`.
  int rank_at(int replica, int stage, int tp = 0) const {
    std::vector<int> coordinates;
    for (const core::Mesh::Dimension& d : experiment_.mesh.dimensions())
      coordinates.push_back(d.name == "dp" ? replica : d.name == "pp" ? stage : d.name == "tp" ? tp : 0);
    return experiment_.mesh.rank_at(coordinates);
  }

  const Chunk& chunk_of(int stage, int chunk) const {
    return chunks_[static_cast<std::size_t>(schedule_.virtual_stage(stage, chunk))];
  }

  // A collective's data: the model's own `values` when given (an MLP trained for real: moved as
  // they are, not checked), else in payload mode the member's test input (the result checked on
  // every member when the collective is done), else none. Moved, never copied: `buffer` points
  // into `test_values`.
  struct CollectiveData {
    CollectiveData() = default;
    CollectiveData(const CollectiveData&) = delete;
    CollectiveData& operator=(const CollectiveData&) = delete;
    CollectiveData(CollectiveData&&) = default;
    CollectiveData& operator=(CollectiveData&&) = default;
    std::vector<float> test_values;
    core::ElementBuffer buffer;
    bool checked = false;
  };

  CollectiveData collective_data(core::Communicator& comm, Collective collective, std::uint64_t bytes,
                                 std::string_view what, std::span<float> values) const {
    const std::uint32_t element = core::dtype_bytes(model_.dtype);
    const std::uint64_t count = bytes / element;
    if (!values.empty() && values.size() != count) {
      throw core::BackendError(fmt::format("rank {}: the {} {} {} has {} values to move, not {}",
                                           comm.rank().rank(), comm.name(), core::to_string(collective), what,
                                           values.size(), count));
    }
    CollectiveData d;
    d.checked = experiment_.payload && values.empty();
    if (d.checked) {
      d.test_values.assign(static_cast<std::size_t>(count), 0.0f);
      fill_test_input(comm.index(), d.test_values);
    }
    d.buffer = {count, element, !values.empty() ? values.data() : d.checked ? d.test_values.data() : nullptr};
    return d;
  }

  void check_collective(core::Communicator& comm, Collective collective, std::string_view what,
                        const CollectiveData& d) const {
    if (!d.checked) return;
    if (std::string problem = check_test_output(collective, comm.size(), comm.index(), d.test_values);
        !problem.empty()) {
      throw core::BackendError(fmt::format("rank {}: the {} {} {}: {}", comm.rank().rank(), comm.name(),
                                           core::to_string(collective), what, problem));
    }
  }

  // One collective of `bytes` on `comm`, on the caller's control flow.
  void run_collective(core::Rank&, core::Communicator& comm, const CollectiveChoice& choice,
                      Collective collective, std::uint64_t bytes, std::string_view what,
                      std::span<float> values = {}) const {
    const CollectiveData d = collective_data(comm, collective, bytes, what, values);
    const NamedAlgorithm algorithm(choice.algorithm, choice.options);
    switch (collective) {
      case Collective::all_reduce:
        comm.all_reduce(d.buffer, algorithm);
        break;
      case Collective::reduce_scatter:
        comm.reduce_scatter(d.buffer, algorithm);
        break;
      case Collective::all_gather:
        comm.all_gather(d.buffer, algorithm);
        break;
      default:
        throw core::BackendError(fmt::format("model parallelism runs no {}", core::to_string(collective)));
    }
    check_collective(comm, collective, what, d);
  }

  // A collective started on the dp communicator's stream (ZeRO-3's gathers and reduce-scatters, a
  // chunk's overlapped gradient sync), with its data until it is done.
  struct StreamCollective {
    core::CollectiveHandle handle;
    CollectiveData data;
    Collective collective = Collective::all_gather;
    std::string what;
  };

  StreamCollective start_on_stream(core::Communicator& dp, const StepCollective& c,
                                   std::span<float> values = {}) const {
    StreamCollective s;
    s.collective = c.collective;
    s.what = fmt::format("next to {}", c.next_to);
    s.data = collective_data(dp, c.collective, c.bytes, s.what, values);
    s.handle = dp.start(dp.schedule(c.collective, NamedAlgorithm(choice_.algorithm, choice_.options),
                                    s.data.buffer.count, s.data.buffer.element_bytes),
                        s.data.buffer);
    return s;
  }

  // A bucket's gradient sync on the dp stream; with an MLP trained for real, its values (taken from
  // the trainer when it starts) and where they go back in the chunk's flat gradients.
  struct BucketSync {
    StreamCollective stream;
    int chunk = 0;
    std::size_t offset = 0;
    std::vector<float> values;
  };

  BucketSync start_bucket_sync(core::Communicator& dp, const numerics::StageTrainer* trainer, int stage,
                               int c, std::size_t b) const {
    const Chunk& chunk = chunk_of(stage, c);
    const GradientSpan& bucket = chunk.buckets[b];
    BucketSync s;
    s.chunk = c;
    if (trainer != nullptr) {
      // The chunk's flat gradients are its layers' in order: the bucket's layers are one stretch.
      for (std::size_t l = chunk.first_layer; l < bucket.first_layer; ++l)
        s.offset += static_cast<std::size_t>(model_.layers[l].parameters);
      const std::vector<float> all = trainer->gradients(c);
      const std::size_t count = static_cast<std::size_t>(bucket.parameters);
      if (s.offset + count > all.size()) {
        throw core::BackendError(
            fmt::format("stage {} chunk {}: bucket {} (layers {}–{}) is past the {} gradients", stage, c, b,
                        bucket.first_layer, bucket.end_layer - 1, all.size()));
      }
      s.values.assign(all.begin() + static_cast<std::ptrdiff_t>(s.offset),
                      all.begin() + static_cast<std::ptrdiff_t>(s.offset + count));
    }
    const std::string what = chunk.buckets.size() == 1
                                 ? fmt::format("the end of chunk {}'s backward", c)
                                 : fmt::format("bucket {} of chunk {} (layers {}–{})", b, c,
                                               bucket.first_layer, bucket.end_layer - 1);
    s.stream = start_on_stream(
        dp,
        {gradient_collective(),
         static_cast<std::uint64_t>(bucket.parameters) * core::dtype_bytes(model_.dtype), true, what},
        trainer != nullptr ? std::span<float>(s.values) : std::span<float>());
    return s;
  }

  void finish_on_stream(core::Rank& rank, core::Communicator& dp, StreamCollective& s) const {
    rank.wait(s.handle);
    check_collective(dp, s.collective, s.what, s.data);
  }

  // A pass under ZeRO-3 with prefetching (DeepSpeed's stage-3 prefetch, one layer ahead): the
  // first layer's gather starts with the pass, and each next one on the dp stream as soon as the
  // layer before it may compute; a layer waits only for its own gather. Backward's gradient
  // reduce-scatters go on the same stream without waiting, and the pass ends once they are done,
  // so that passes compose (nothing is prefetched across passes). Tensor-parallel collectives stay
  // on the compute flow.
  void run_steps_prefetched(core::Rank& rank, core::Communicator* tp, core::Communicator& dp,
                            std::span<const Step> steps) const {
    std::vector<std::size_t> gathers;  // the steps that end with a layer's gather
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const auto& c = steps[i].collective;
      if (c && c->data_parallel && c->collective == Collective::all_gather) gathers.push_back(i);
    }
    std::size_t started = 0;
    std::deque<StreamCollective> gathering;
    std::vector<StreamCollective> scattering;
    auto prefetch = [&] {
      if (started < gathers.size())
        gathering.push_back(start_on_stream(dp, *steps[gathers[started++]].collective));
    };
    prefetch();
    for (const Step& step : steps) {
      if (!step.kernels.empty()) rank.compute(step.kernels);
      if (!step.collective) continue;
      const StepCollective& c = *step.collective;
      if (!c.data_parallel) {
        if (tp != nullptr)
          run_collective(rank, *tp, tp_choice_, c.collective, c.bytes, fmt::format("next to {}", c.next_to));
      } else if (c.collective == Collective::all_gather) {
        finish_on_stream(rank, dp, gathering.front());
        gathering.pop_front();
        prefetch();
      } else {
        scattering.push_back(start_on_stream(dp, c));
      }
    }
    for (StreamCollective& s : scattering) finish_on_stream(rank, dp, s);
  }

  // Runs a pass: its kernels and, in turn, its collectives (Megatron's on tp, ZeRO-3's on dp).
  // With `arithmetic` (an MLP trained for real), each tensor-parallel sum it asks for runs the
  // steps up to the next collective, and that collective on the sum's values: the pass then has
  // the same kernels and collectives, in the same order, as without.
  // `at_step(k)`, when given, is called before step k runs and, with the step count, at the end.
  void run_steps(core::Rank& rank, core::Communicator* tp, core::Communicator* dp,
                 std::span<const Step> steps,
                 const std::function<void(const numerics::TensorSum&)>& arithmetic = {},
                 const std::function<void(std::size_t)>& at_step = {}) const {
    if (zero_ >= 3 && zero_prefetch_ && dp != nullptr && !arithmetic) {
      run_steps_prefetched(rank, tp, *dp, steps);
      return;
    }
    std::size_t next = 0;
    // Runs steps until one with a collective has run (on `values` when given); false at the end.
    auto run_until_collective = [&](std::span<float> values) {
      while (next < steps.size()) {
        if (at_step) at_step(next);
        const Step& step = steps[next++];
        if (!step.kernels.empty()) rank.compute(step.kernels);
        if (!step.collective) continue;
        const StepCollective& c = *step.collective;
        core::Communicator* comm = c.data_parallel ? dp : tp;
        if (comm == nullptr) continue;  // a group of one
        if (!values.empty() && (c.data_parallel || c.collective != Collective::all_reduce)) {
          throw core::BackendError(
              fmt::format("rank {}: the MLP's tensor-parallel sum meets a {} {} next to {}", rank.rank(),
                          comm->name(), core::to_string(c.collective), c.next_to));
        }
        run_collective(rank, *comm, c.data_parallel ? choice_ : tp_choice_, c.collective, c.bytes,
                       fmt::format("next to {}", c.next_to), values);
        return true;
      }
      return false;
    };
    if (arithmetic) {
      arithmetic([&](std::span<float> values) {
        if (!run_until_collective(values)) {
          throw core::BackendError(
              fmt::format("rank {}: the MLP's arithmetic needs a tensor-parallel sum its pass does not run",
                          rank.rank()));
        }
      });
    }
    while (run_until_collective({})) {
      if (arithmetic) {
        throw core::BackendError(
            fmt::format("rank {}: a pass runs a collective the MLP's arithmetic does not need", rank.rank()));
      }
    }
    if (at_step) at_step(steps.size());
  }

  std::span<const Step> steps_of(const Chunk& chunk, PipelineOp op) const {
    switch (op) {
      case PipelineOp::forward:
        return chunk.forward;
      case PipelineOp::weight_gradient:
        return chunk.weight_gradient;
      default:
        return schedule_.split_backward ? chunk.input_gradient : chunk.backward;
    }
  }

  // The stage's optimizer step: over its shard of the weights under ZeRO (⌈Ψ/N_d⌉).
  core::Kernel optimizer_kernel(int stage) const {
    std::int64_t parameters = 0;
    for (int c = 0; c < schedule_.chunks; ++c) parameters += chunk_of(stage, c).parameters;
    if (zero_ >= 1) parameters = (parameters + replicas_ - 1) / replicas_;
    return core::optimizer_step("optimizer.step", parameters, model_.dtype,
                                adam_ ? core::OptimizerStep::Kind::adam : core::OptimizerStep::Kind::sgd);
  }

  // The layers of each virtual stage: as given, or balanced by the forward and backward time of
  // each layer on rank 0's device.
  void cut_model(const core::ConfigNode& node) {
    const std::size_t parts = static_cast<std::size_t>(schedule_.virtual_stages());
    std::vector<std::size_t> bounds;
    try {
      if (const auto given = node.find("layers_per_chunk")) {
        std::vector<int> counts;
        for (const core::ConfigNode& c : given->items()) counts.push_back(static_cast<int>(c.as_int()));
        if (counts.size() != parts) {
          given->fail(fmt::format("lists {} chunks; the pipeline has {} (pp {} × chunks {})", counts.size(),
                                  parts, stages_, schedule_.chunks));
        }
        try {
          bounds = pipeline::split_from_counts(counts, model_.layers.size());
        } catch (const core::ValueError& err) {
          given->fail(err.what());
        }
      } else {
        const core::DeviceProfile& device = device_of(0);
        std::vector<double> costs;
        for (const core::Layer& l : model_.layers) {
          double t = 0;
          for (const auto* kernels : {&l.forward, &l.backward}) {
            for (const core::Kernel& k : *kernels) t += device.kernel_seconds(k);
          }
          costs.push_back(t);
        }
        bounds = pipeline::balanced_split(costs, static_cast<int>(parts));
      }
    } catch (const core::ValueError& err) {
      node.fail(fmt::format("model '{}': {}", model_.name, err.what()));
    }
    for (std::size_t k = 0; k < parts; ++k) {
      Chunk c;
      c.first_layer = bounds[k];
      c.end_layer = bounds[k + 1];
      std::vector<std::pair<std::size_t, std::size_t>> layer_ends;  // (layer, last-pass steps before its end)
      auto collectives_of = [&](const core::Layer& layer) {
        return tensor_ > 1 ? core::tensor_parallel_collectives(layer, sequence_parallel_)
                           : std::vector<core::TensorParallelCollective>{};
      };
      for (std::size_t l = c.first_layer; l < c.end_layer; ++l) {
        const core::Layer& layer = model_.layers[l];
        add_steps(c.forward, layer.forward, collectives_of(layer), false, {zero3_bytes(layer), true, false});
        c.parameters += layer.parameters;
        c.saved_bytes += layer.saved_bytes;
      }
      // Backward runs the layers last first; W takes the weight gradients (no collective follows
      // one), B the rest with their collectives.
      for (std::size_t l = c.end_layer; l-- > c.first_layer;) {
        const core::Layer& layer = model_.layers[l];
        const auto collectives = collectives_of(layer);
        std::vector<core::Kernel> input, weight;
        for (const core::Kernel& kernel : layer.backward)
          (kernel.pass == core::Pass::weight_gradient ? weight : input).push_back(kernel);
        const std::uint64_t zero = zero3_bytes(layer);
        add_steps(c.backward, layer.backward, collectives, true, {zero, true, true});
        add_steps(c.input_gradient, input, collectives, true, {zero, true, weight.empty()});
        add_steps(c.weight_gradient, weight, collectives, true, {zero, false, true});
        // With buckets, each layer of the last pass ends a step: a bucket's sync may start there.
        std::vector<Step>& last = schedule_.split_backward ? c.weight_gradient : c.backward;
        if (bucket_bytes_ > 0 && !last.empty() && !last.back().kernels.empty()) last.emplace_back();
        layer_ends.push_back({l, last.size() - (last.empty() || last.back().kernels.empty() ? 1 : 0)});
      }
      plan_gradient_buckets(c, layer_ends);
      c.output_bytes = model_.layers[c.end_layer - 1].activation_bytes;
      chunks_.push_back(std::move(c));
    }
  }

  // A chunk's gradient buckets (overlap_grad_reduce), as DDP and Megatron-LM fill them: layers in
  // the order the last pass completes them (last first) go into the current bucket, which closes
  // once it holds `bucket_size` (exceeding it by at most its last layer); the last takes the rest.
  // Without `bucket_size` one bucket holds the chunk. `layer_ends`: each layer, in that order, with
  // the number of last-pass steps run when it is done.
  void plan_gradient_buckets(Chunk& c,
                             const std::vector<std::pair<std::size_t, std::size_t>>& layer_ends) const {
    const std::size_t pass_steps = (schedule_.split_backward ? c.weight_gradient : c.backward).size();
    if (bucket_bytes_ == 0) {
      c.buckets.push_back({c.first_layer, c.end_layer, c.parameters, pass_steps});
      return;
    }
    const std::uint64_t element = core::dtype_bytes(model_.dtype);
    GradientSpan open{c.end_layer, c.end_layer, 0, 0};
    for (const auto& [layer, steps_done] : layer_ends) {
      open.first_layer = layer;
      open.parameters += model_.layers[layer].parameters;
      open.ready_step = steps_done;
      if (static_cast<std::uint64_t>(open.parameters) * element >= bucket_bytes_) {
        c.buckets.push_back(open);
        open = {layer, layer, 0, 0};
      }
    }
    if (open.parameters > 0) c.buckets.push_back(open);
    // A bucket that closes with the pass's last layer is ready at the pass's end.
    for (GradientSpan& b : c.buckets) b.ready_step = std::min(b.ready_step, pass_steps);
  }

  // Each stage keeps its chunks' training state (weights, gradients, optimizer state, as ZeRO
  // partitions them over dp: memory.hpp) and the saved activations of as many (micro-batch, chunk)
  // pairs as its schedule has in flight at most (each counted at the largest of its chunks: exact
  // with one chunk per stage, a bound with several). ZeRO-3's gathered layer is transient and not
  // counted.
  void check_memory(const core::ConfigNode& node) {
    const bool check = node.boolean_or("check_memory", true);
    for (int s = 0; s < stages_; ++s) {
      std::int64_t parameters = 0;
      std::uint64_t largest_saved = 0;
      for (int c = 0; c < schedule_.chunks; ++c) {
        parameters += chunk_of(s, c).parameters;
        largest_saved = std::max(largest_saved, chunk_of(s, c).saved_bytes);
      }
      const TrainingState state = training_state(parameters, model_.dtype, adam_, zero_, replicas_);
      const int peak =
          pipeline::peak_in_flight(schedule_.kind, stages_, schedule_.micro_batches, schedule_.chunks, s);
      Prediction::MemoryUse use;
      use.ranks = stages_ > 1 ? fmt::format("stage {}", s) : "every rank";
      use.weights = state.weights;
      use.gradients = state.gradients;
      use.optimizer = state.optimizer;
      use.activations = static_cast<std::uint64_t>(peak) * largest_saved;
      use.capacity = device_of(rank_at(0, s)).memory_bytes;
      memory_.push_back(use);
      for (int r = 0; r < experiment_.mesh.ranks() && check; ++r) {
        if (experiment_.mesh.coordinate(r, "pp") != s) continue;
        const core::DeviceProfile& device = device_of(r);
        if (use.total() > device.memory_bytes) {
          node.fail(fmt::format(
              "{} needs {} (weights, gradients and optimizer state {}, and the saved activations of {} "
              "micro-batches in flight {}) but {} (rank {}) has {}; use more stages or tensor parallelism, "
              "recompute, ZeRO, fewer micro-batches in flight, or set check_memory: false",
              use.ranks, core::format_bytes(static_cast<double>(use.total())),
              core::format_bytes(static_cast<double>(state.total())), peak,
              core::format_bytes(static_cast<double>(use.activations)), device.name, r,
              core::format_bytes(static_cast<double>(device.memory_bytes))));
        }
      }
    }
  }

  // The message of a send or receive: the activation of the sending virtual stage's last layer
  // (or its gradient), tagged by micro-batch, receiving virtual stage and kind so that both sides
  // name it alike.
  struct MessageId {
    bool gradient;
    int to_virtual_stage;
    int boundary;  // the virtual stage whose output it is
  };
  MessageId message_id(int stage, const PipelineAction& a) const {
    const int vs = schedule_.virtual_stage(stage, a.chunk);
    switch (a.op) {
      case PipelineOp::send_activation:
        return {false, vs + 1, vs};
      case PipelineOp::recv_activation:
        return {false, vs, vs - 1};
      case PipelineOp::send_gradient:
        return {true, vs - 1, vs - 1};
      default:
        return {true, vs, vs};  // recv_gradient
    }
  }
  int message_tag(int stage, const PipelineAction& a) const {
    const MessageId id = message_id(stage, a);
    return ((a.micro_batch * schedule_.virtual_stages()) + id.to_virtual_stage) * 2 + (id.gradient ? 1 : 0);
  }
  core::Buffer message_buffer(int stage, const PipelineAction& a, std::vector<float>& storage) const {
    const MessageId id = message_id(stage, a);
    const std::uint64_t bytes = chunks_[static_cast<std::size_t>(id.boundary)].output_bytes;
    if (!experiment_.payload) return {bytes, nullptr};
    storage.assign(static_cast<std::size_t>(bytes / sizeof(float)), 0.0f);
    if (a.op == PipelineOp::send_activation || a.op == PipelineOp::send_gradient)
      std::fill(storage.begin(), storage.end(), payload_value(a.micro_batch, id));
    return {storage.size() * sizeof(float), reinterpret_cast<std::byte*>(storage.data())};
  }
  // Payload mode: each message is filled with a value that names it, checked where it arrives.
  static float payload_value(int micro_batch, const MessageId& id) {
    return static_cast<float>(micro_batch * 1000 + id.boundary * 2 + (id.gradient ? 1 : 0));
  }
  void check_payload(core::Rank& rank, int stage, const PipelineAction& a,
                     const std::vector<float>& data) const {
    const float expected = payload_value(a.micro_batch, message_id(stage, a));
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (data[i] != expected) {
        throw core::BackendError(
            fmt::format("rank {} (stage {}): the {} of micro-batch {} holds {} at element {}, not {}: "
                        "another message's data",
                        rank.rank(), stage, a.op == PipelineOp::recv_gradient ? "gradient" : "activation",
                        a.micro_batch, data[i], i, expected));
      }
    }
  }

  std::string layers_text() const {
    std::vector<std::size_t> counts;
    for (const Chunk& c : chunks_) counts.push_back(c.end_layer - c.first_layer);
    return fmt::format(" (layers per chunk: {})", fmt::join(counts, ", "));
  }

  const core::Experiment& experiment_;
  core::Model model_;  // cut for tensor parallelism
  int stages_ = 1;
  int replicas_ = 1;
  int tensor_ = 1;
  int zero_ = 0;
  bool zero_prefetch_ = true;  // ZeRO-3's gathers one layer ahead, on the dp stream
  // Megatron-LM's --overlap-grad-reduce: a chunk's dp gradient sync starts on the dp stream as soon
  // as its gradients are complete, while the stage's other chunks still compute; with
  // `bucket_size`, bucket by bucket as the chunk's last backward completes their layers.
  bool overlap_grad_reduce_ = false;
  std::uint64_t bucket_bytes_ = 0;  // its buckets' size (`bucket_size`); 0: a chunk is one bucket
  bool sequence_parallel_ = false;
  CollectiveChoice tp_choice_{"ring", {}};
  PipelineSchedule schedule_;
  bool adam_ = true;
  CollectiveChoice choice_;
  std::vector<Chunk> chunks_;                  // by virtual stage
  std::vector<Prediction::MemoryUse> memory_;  // per stage
  std::vector<std::int64_t> numeric_widths_;   // payload mode with an MLP: trained for real
  mutable std::once_flag reference_once_;
  mutable std::vector<numerics::LayerState> reference_;  // the MLP trained on one rank
};

}  // namespace

std::span<const std::string_view> model_parallel_fields() {
  static constexpr std::string_view kFields[] = {"type",
                                                 "schedule",
                                                 "micro_batches",
                                                 "micro_batch_size",
                                                 "chunks",
                                                 "optimizer",
                                                 "layers_per_chunk",
                                                 "allreduce",
                                                 "tree_chunk",
                                                 "local_size",
                                                 "inner",
                                                 "partner_order",
                                                 "check_memory",
                                                 "sequence_parallel",
                                                 "recompute",
                                                 "tp_algorithm",
                                                 "zero",
                                                 "zero_prefetch",
                                                 "overlap_grad_reduce",
                                                 "bucket_size"};
  return kFields;
}

std::unique_ptr<Strategy> make_model_parallel(const core::Experiment& experiment) {
  return std::make_unique<ModelParallel>(experiment);
}

}  // namespace dmlsim::strategies
