#include "strategies/training/parameter_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "strategies/collectives/verify.hpp"
#include "strategies/training/data_parallel.hpp"
#include "strategies/training/memory.hpp"
#include "strategies/training/ps_cost.hpp"
#include "strategies/training/ps_exchange.hpp"
#include "strategies/training/ps_server.hpp"
#include "strategies/training/replica_step.hpp"

namespace dmlsim::strategies {
namespace {

// BytePS' default partition size (BYTEPS_PARTITION_BYTES, Jiang et al., OSDI 2020, §4.2).
constexpr std::uint64_t kBytePsChunkBytes = 4'096'000;
constexpr std::uint64_t kDdpBucketBytes = std::uint64_t{25} << 20;  // PyTorch DDP's default bucket
// Workers and servers exchange through one communicator over all of them.
constexpr std::string_view kExchange = "ps";

enum class Mode { sync, async, ssp };

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::sync:
      return "sync";
    case Mode::async:
      return "async";
    case Mode::ssp:
      return "ssp";
  }
  return "?";
}

class ParameterServer final : public Strategy {
 public:
  explicit ParameterServer(const core::Experiment& e) : experiment_(e), model_(e.require_model()) {
    const core::ConfigNode& node = *e.strategy;
    node.expect_only(parameter_server_fields(), core::experiment_field_homes());
    read_mode(node);
    read_roles(node);
    const std::uint32_t element = core::dtype_bytes(model_.dtype);
    const std::uint64_t chunk = node.bytes_or("chunk_size", kBytePsChunkBytes);
    if (chunk < element)
      node.at("chunk_size").fail(fmt::format("must hold at least one {}-byte element", element));
    bucket_bytes_ = node.bytes_or("bucket_size", kDdpBucketBytes);
    if (bucket_bytes_ == 0) node.at("bucket_size").fail("must be positive");
    overlap_ = node.boolean_or("overlap", true);
    const std::string optimizer = node.string_or("optimizer", "adam");
    if (optimizer != "adam" && optimizer != "sgd") node.at("optimizer").fail("known optimizers: adam, sgd");
    adam_ = optimizer == "adam";
    if (e.payload && element != 4) node.fail("payload mode checks float sums: give the model dtype fp32");
    check_replica_fits(experiment_, model_, adam_, [&](int rank) { return roles_.is_worker(rank); });

    std::vector<PsLayout::BucketSpec> specs;
    for (const GradientBucket& b : plan_buckets(model_, bucket_bytes_, bucket_bytes_))
      specs.push_back({b.closing_layer, static_cast<std::uint64_t>(b.parameters)});
    layout_ = std::make_shared<PsLayout>(specs, roles_.servers, chunk / element);
    for (const PsLayout::BucketSpec& b : specs) closing_layers_.push_back(b.closing_layer);
    for (const core::Layer& l : model_.layers)
      forward_kernels_.insert(forward_kernels_.end(), l.forward.begin(), l.forward.end());
  }

  void run(core::Rank& rank) const override {
    if (rank.size() != roles_.group_size()) {
      throw core::BackendError(
          fmt::format("parameter server planned for {} ranks runs on {}", roles_.group_size(), rank.size()));
    }
    if (roles_.is_worker(rank.rank())) {
      train(rank);
    } else {
      serve(rank);
    }
  }

  Prediction predict() const override;

  // Workers first; dedicated servers are the last ranks. A colocated server shares its worker's
  // rank, which stays a worker (it trains).
  core::Roles roles() const override {
    core::Roles roles = core::Roles::workers(experiment_.ranks, model_.micro_batch * roles_.workers);
    if (!roles_.colocated) {
      for (int s = 0; s < roles_.servers; ++s) {
        roles.ranks[static_cast<std::size_t>(roles_.server_member(s))] = {core::RoleKind::server, s};
      }
    }
    return roles;
  }

 private:
  void read_mode(const core::ConfigNode& node) {
    const std::string mode = node.string_or("mode", "sync");
    if (mode == "sync") {
      mode_ = Mode::sync;
    } else if (mode == "async") {
      mode_ = Mode::async;
    } else if (mode == "ssp") {
      mode_ = Mode::ssp;
    } else {
      node.at("mode").fail(fmt::format("unknown mode '{}' (known: sync, async, ssp)", mode));
    }
    if (mode_ == Mode::ssp) {
      if (!node.has("staleness"))
        node.fail("mode ssp needs 'staleness': how many iterations a worker may run ahead");
      staleness_ = static_cast<int>(node.integer_in("staleness", 0, 1 << 20));
    } else if (node.has("staleness")) {
      node.at("staleness").fail(fmt::format("only mode ssp has a staleness bound (mode is {})", mode));
    }
  }

  // `ranks:` counts the workers; dedicated servers are service ranks after them (core::Experiment).
  void read_roles(const core::ConfigNode& node) {
    const int ranks = experiment_.training_ranks();
    roles_.servers = static_cast<int>(node.integer_in_or("servers", 1, 1 << 20, 1));
    const std::string placement = node.string_or("server_placement", "dedicated");
    if (placement != "dedicated" && placement != "colocated") {
      node.at("server_placement")
          .fail(fmt::format("unknown placement '{}' (known: dedicated, colocated)", placement));
    }
    roles_.colocated = placement == "colocated";
    const core::ConfigNode servers = node.has("servers") ? node.at("servers") : node;
    if (roles_.colocated) {
      if (mode_ != Mode::sync) {
        node.at("server_placement")
            .fail(fmt::format(
                "colocated servers run inside their worker's communication stream, which only the "
                "round-aligned sync exchange can do; mode {} needs dedicated servers",
                to_string(mode_)));
      }
      if (roles_.servers > ranks) {
        servers.fail(fmt::format("{} colocated servers need as many workers; the experiment has {} ranks",
                                 roles_.servers, ranks));
      }
    }
    roles_.workers = ranks;
  }

  core::Kernel optimizer_kernel() const {
    return core::optimizer_step("optimizer.step", model_.parameters(), model_.dtype,
                                adam_ ? core::OptimizerStep::Kind::adam : core::OptimizerStep::Kind::sgd);
  }

  std::vector<core::SchedulePtr> schedules_of(int member) const {
    std::vector<core::SchedulePtr> out;
    for (std::size_t b = 0; b < layout_->buckets().size(); ++b)
      out.push_back(std::make_shared<PsExchangeSchedule>(layout_, b, roles_, member));
    return out;
  }

  core::ElementBuffer window_of(std::size_t b, std::vector<float>& data) const {
    const core::ElementRange w = layout_->window(b);
    return {w.count, core::dtype_bytes(model_.dtype), data.empty() ? nullptr : data.data() + w.offset};
  }

  void train(core::Rank& rank) const {
    const int me = rank.rank();
    core::Communicator ps = rank.communicator(core::Group::world(roles_.group_size()), kExchange);
    const std::vector<core::SchedulePtr> schedules = schedules_of(me);
    const auto& buckets = layout_->buckets();
    std::vector<float> gradients(experiment_.payload ? layout_->elements() : 0);
    const std::uint64_t resident = replica_resident_bytes(model_, adam_);
    for (int it = 0; it < experiment_.iterations; ++it) {
      core::Phase iteration(rank, "iteration", it);
      // In ssp mode "gradient-sync" also holds the wait for the slowest worker.
      forward_backward_sync(rank, model_, forward_kernels_, resident, closing_layers_,
                            {.gradients_ready =
                                 [&](std::size_t b) {
                                   if (!experiment_.payload) return;
                                   for (std::uint64_t k = buckets[b].offset;
                                        k < buckets[b].offset + buckets[b].count; ++k)
                                     gradients[k] = test_input(me, k);
                                 },
                             .exchange = [&](std::size_t b) -> BucketExchange {
                               return {&ps, schedules[b], window_of(b, gradients)};
                             },
                             .overlap = overlap_});
      if (experiment_.payload) check_pulled(me, it, gradients);
      core::Phase step(rank, core::kOptimizerPhase);
      rank.compute(optimizer_kernel());
    }
  }

  // What a worker may have pulled in iteration t. sync: exactly the sum of the workers' gradients.
  // async: at least its own t + 1 updates. ssp(s): at least every worker's first t + 1 − s
  // updates. Never more than every update of the run.
  void check_pulled(int me, int t, const std::vector<float>& pulled) const {
    const int n = roles_.workers;
    if (mode_ == Mode::sync) {
      if (std::string p = check_test_output(Collective::all_reduce, n, me, pulled); !p.empty())
        throw core::BackendError(fmt::format("parameter server, worker {}, iteration {}: {}", me, t, p));
      return;
    }
    for (std::uint64_t k = 0; k < pulled.size(); ++k) {
      float all = 0;
      for (int w = 0; w < n; ++w) all += test_input(w, k);
      float low = static_cast<float>(t + 1) * test_input(me, k);
      if (mode_ == Mode::ssp && t + 1 > staleness_)
        low = std::max(low, static_cast<float>(t + 1 - staleness_) * all);
      const float high = static_cast<float>(experiment_.iterations) * all;
      if (pulled[k] < low || pulled[k] > high) {
        throw core::BackendError(
            fmt::format("parameter server ({}), worker {}, iteration {}: element {} pulled {}, expected "
                        "between {} and {}",
                        to_string(mode_), me, t, k, pulled[k], low, high));
      }
    }
  }

  void serve(core::Rank& rank) const {
    const int me = rank.rank();
    const int server = roles_.server_of(me);
    core::Communicator ps = rank.communicator(core::Group::world(roles_.group_size()), kExchange);
    if (mode_ != Mode::sync) {
      UpdateServerPlan plan;
      plan.workers = roles_.workers;
      plan.pieces = layout_->pieces_of(server);
      plan.iterations = experiment_.iterations;
      if (mode_ == Mode::ssp) plan.staleness_bound = staleness_;
      plan.element_bytes = core::dtype_bytes(model_.dtype);
      plan.payload = experiment_.payload;
      plan.tag = core::Tag(ps.context(), 0);
      serve_updates(rank, plan);
      return;
    }
    const std::vector<core::SchedulePtr> schedules = schedules_of(me);
    std::vector<float> sums(experiment_.payload ? layout_->elements() : 0);
    for (int it = 0; it < experiment_.iterations; ++it) {
      core::Phase serve(rank, "serve", it);
      std::fill(sums.begin(), sums.end(), 0.0F);
      for (std::size_t b = 0; b < schedules.size(); ++b) ps.run(*schedules[b], window_of(b, sums));
    }
  }

  const core::Experiment& experiment_;
  const core::Model& model_;
  Mode mode_ = Mode::sync;
  int staleness_ = 0;
  PsRoles roles_;
  std::uint64_t bucket_bytes_ = 0;
  bool overlap_ = true;
  bool adam_ = true;
  std::shared_ptr<const PsLayout> layout_;
  std::vector<core::Kernel> forward_kernels_;
  std::vector<std::size_t> closing_layers_;  // of each bucket
};

Prediction ParameterServer::predict() const {
  Prediction p;
  const int n = roles_.workers, k = roles_.servers;
  p.memory_per_device = replica_memory_bytes(model_, adam_);
  p.summary = fmt::format(
      "parameter server ({}{}) for {}: {} workers, {} {} server{}, {} buckets in {} rounds of ≤ {} per "
      "server",
      to_string(mode_), mode_ == Mode::ssp ? fmt::format(", staleness {}", staleness_) : "", model_.name, n,
      k, roles_.colocated ? "colocated" : "dedicated", k == 1 ? "" : "s", layout_->buckets().size(),
      [&] {
        std::uint64_t rounds = 0;
        for (const PsBucket& b : layout_->buckets()) rounds += b.rounds;
        return rounds;
      }(),
      core::format_bytes(static_cast<double>(
          core::chunk_range(layout_->buckets()[0].count, layout_->buckets()[0].rounds * k, 0).count *
          core::dtype_bytes(model_.dtype))));

  const SlowestReplica decides =
      slowest_replica(experiment_, model_, [&](int rank) { return roles_.is_worker(rank); });
  const core::DeviceProfile& device = *decides.device;
  const double slowest = decides.slowdown;

  auto host = [&](int member) { return experiment_.placement[static_cast<std::size_t>(member)]; };
  const bool analytic = roles_.group_size() < 2 || experiment_.platform.path(host(0), host(1)).has_value();
  std::optional<ExchangePaths> paths;
  if (analytic) {
    paths =
        exchange_paths(roles_, [&](int a, int b) { return *experiment_.platform.path(host(a), host(b)); });
  } else {
    p.notes.push_back("closed forms need the analytic paths of a YAML topology; communication omitted");
  }
  if (const auto* g = std::get_if<core::GpuNodesTopology>(&experiment_.platform.topology);
      g != nullptr && g->gpus_per_nic() > 1) {
    p.notes.push_back(fmt::format(
        "{} GPUs share each NIC here, but the push/pull closed form gives every member a NIC of its own: "
        "it is optimistic (the simulation shares the NICs)",
        g->gpus_per_nic()));
  }
  const std::uint32_t element = core::dtype_bytes(model_.dtype);
  // Buckets become ready as backward proceeds; the stream exchanges them one at a time (as for
  // data-parallel buckets).
  const ReplicaStepTimes t = predict_replica_step(
      model_, device, slowest, closing_layers_,
      [&](std::size_t b) {
        return paths ? exchange_cost(*layout_, b, roles_, element, *paths).total() : 0.0;
      },
      overlap_);
  const double optimizer = device.kernel_seconds(optimizer_kernel()) * slowest;
  p.terms.push_back({"forward", t.forward, "roofline time of every forward kernel"});
  p.terms.push_back({"backward", t.backward, "roofline time of every backward kernel"});
  p.terms.push_back({"push/pull (all buckets)", t.communication,
                     "pipelined rounds: Σ (α + busiest member's bytes / its bandwidth)"});
  p.terms.push_back(
      {"exposed communication", t.exposed,
       overlap_ ? "what the push/pull pipeline leaves after backward" : "all of it (no overlap)"});
  p.terms.push_back({"optimizer", optimizer, "on the workers, after the pull"});
  p.iteration_seconds = t.forward + t.backward + t.exposed + optimizer;

  if (paths) {
    const double m = static_cast<double>(model_.gradient_bytes());
    double b = std::numeric_limits<double>::infinity();
    for (int w = 0; w < n; ++w) b = std::min(b, paths->nic[static_cast<std::size_t>(w)]);
    if (n > 1 && std::isfinite(b)) {
      const int extra = roles_.colocated ? 0 : k;  // BytePS' k counts CPU machines beyond the GPU ones
      const std::string with =
          fmt::format("n = {}, M = {}, B = {}", n, core::format_bytes(m), core::format_bandwidth(b));
      p.references.push_back({"all-reduce 2(n−1)M/(nB)", allreduce_time(n, m, b), with});
      if (extra > 0) {
        p.references.push_back({"PS on k servers max(M/B, nM/(kB))", ps_time(n, extra, m, b),
                                fmt::format("{}, k = {}", with, extra)});
      }
      p.references.push_back({"BytePS optimum 2n(n−1)M/((n²+kn−2k)B)", byteps_time(n, extra, m, b),
                              fmt::format("{}, k = {} extra server hosts", with, extra)});
    }
  }
  if (slowest > 1) p.notes.push_back(fmt::format("compute is the slowest worker's (slowdown {}x)", slowest));
  if (mode_ == Mode::async) {
    p.notes.push_back("async: the iteration of equal workers; with stragglers the fast workers run ahead");
  }
  if (mode_ == Mode::ssp) {
    p.notes.push_back(fmt::format(
        "ssp: the iteration of equal workers; a worker waits when it is more than {} iteration(s) ahead",
        staleness_));
  }
  p.notes.push_back("server-side summation is not charged (BytePS: CPU summation keeps pace with the NIC)");
  return p;
}

}  // namespace

std::span<const std::string_view> parameter_server_fields() {
  static constexpr std::string_view kFields[] = {
      "type",       "mode",        "servers", "server_placement", "staleness",
      "chunk_size", "bucket_size", "overlap", "optimizer",        "check_memory"};
  return kFields;
}

std::unique_ptr<Strategy> make_parameter_server(const core::Experiment& experiment) {
  return std::make_unique<ParameterServer>(experiment);
}

}  // namespace dmlsim::strategies
