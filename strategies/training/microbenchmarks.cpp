#include "strategies/training/microbenchmarks.hpp"

#include <fmt/format.h>

#include <map>

#include "core/communicator.hpp"
#include "core/device.hpp"
#include "core/errors.hpp"
#include "core/phase_stats.hpp"
#include "core/units.hpp"
#include "strategies/collectives/collectives.hpp"
#include "strategies/paths.hpp"

namespace dmlsim::strategies {

namespace {

class PingPong final : public Strategy {
 public:
  explicit PingPong(const core::Experiment& e) : experiment_(e) {
    const core::ConfigNode& node = *e.strategy;
    node.expect_only(pingpong_fields(), core::experiment_field_homes());
    if (e.ranks < 2) node.fail("a ping-pong needs 2 ranks");
    if (const auto sizes = node.find("sizes")) {
      for (const core::ConfigNode& s : sizes->items()) sizes_.push_back(s.as_bytes());
    } else {
      for (std::uint64_t s = 1024; s <= (std::uint64_t{64} << 20); s *= 4)
        sizes_.push_back(s);  // 1 KiB … 64 MiB
    }
    repeats_ = static_cast<int>(node.integer_in_or("repeats", 1, 1000, 5));
  }

  void run(core::Rank& rank) const override {
    if (rank.rank() > 1) return;
    const int peer = 1 - rank.rank();
    std::vector<std::byte> data(sizes_.empty() ? 0 : *std::max_element(sizes_.begin(), sizes_.end()));
    for (const std::uint64_t bytes : sizes_) {
      const core::Buffer buffer{bytes, data.data()};
      for (int i = 0; i < repeats_ + 1; ++i) {  // the first round trip warms the connection up
        core::Phase trip(rank, i == 0 ? "warm-up" : kPingPongPhase, i, {}, bytes);
        if (rank.rank() == 0) {
          core::Request s = rank.isend(peer, buffer, 0);
          rank.wait(s);
          core::Request r = rank.irecv(peer, buffer, 0);
          rank.wait(r);
        } else {
          core::Request r = rank.irecv(peer, buffer, 0);
          rank.wait(r);
          core::Request s = rank.isend(peer, buffer, 0);
          rank.wait(s);
        }
      }
    }
  }

  core::Roles roles() const override { return core::Roles::workers(experiment_.ranks, 0); }  // no samples

  Prediction predict() const override {
    Prediction p;
    p.summary =
        fmt::format("ping-pong between ranks 0 and 1, {} sizes × {} round trips", sizes_.size(), repeats_);
    const auto paths = path_classes(experiment_, core::Group::strided(0, 2, 1), 1);
    if (!paths) return p;
    for (const std::uint64_t bytes : sizes_) {
      const double one_way =
          paths->whole.ring.alpha + static_cast<double>(bytes) / paths->whole.ring.bandwidth;
      p.terms.push_back({core::phase_label(kPingPongPhase, bytes), 2 * one_way, "round trip 2·(α + S/B)"});
    }
    return p;
  }

 private:
  const core::Experiment& experiment_;
  std::vector<std::uint64_t> sizes_;
  int repeats_ = 5;
};

class KernelBenchmark final : public Strategy {
 public:
  explicit KernelBenchmark(const core::Experiment& e) : experiment_(e) {
    const core::ConfigNode& node = *e.strategy;
    node.expect_only(kernel_benchmark_fields(), core::experiment_field_homes());
    repeats_ = static_cast<int>(node.integer_in_or("repeats", 1, 1000, 5));
    // One kernel per distinct shape, in model order; with `tensor_parallel: [1, 2]` also the
    // shapes of the model cut for each of those degrees (a tp rank's GEMMs and optimizer).
    std::vector<std::int64_t> degrees{1};
    if (const auto list = node.find("tensor_parallel")) {
      degrees.clear();
      for (const core::ConfigNode& d : list->items()) {
        const std::int64_t t = d.as_int();
        if (t < 1) d.fail("a tensor-parallel degree is 1 or more");
        degrees.push_back(t);
      }
      if (degrees.empty()) list->fail("give one degree or more, e.g. [1, 2]");
    }
    std::map<std::string, bool> seen;
    const core::Model& model = e.require_model();
    auto add = [&](const core::Kernel& k) {
      if (seen.emplace(core::shape_key(k), true).second) kernels_.push_back(k);
    };
    for (const std::int64_t t : degrees) {
      core::Model cut = model;
      if (t > 1) {
        try {
          cut = model.rebuilt(core::ModelShape{.tensor_parallel = t});
        } catch (const core::ValueError& error) {
          node.at("tensor_parallel").fail(error.what());
        }
      }
      for (const core::Layer& l : cut.layers) {
        for (const core::Kernel& k : l.forward) add(k);
        for (const core::Kernel& k : l.backward) add(k);
      }
      add(core::optimizer_step("optimizer.step", cut.parameters(), cut.dtype));
      add(core::optimizer_step("optimizer.step", cut.parameters(), cut.dtype,
                               core::OptimizerStep::Kind::sgd));
    }
  }

  void run(core::Rank& rank) const override {
    // A one-element all-reduce between kernels lines the ranks up, so they compute at once.
    core::Communicator world = rank.communicator(core::Group::world(rank.size()), "barrier");
    const auto barrier = world.schedule(Collective::all_reduce, NamedAlgorithm("ring"), 1, 4);
    for (const core::Kernel& k : kernels_) {
      world.run(*barrier, {1, 4, nullptr});
      core::Phase phase(rank, "kernel");
      for (int i = 0; i < repeats_ + 1; ++i) {
        core::Kernel timed = k;
        timed.name = i == 0 ? "warm-up" : core::shape_key(k);  // the trace names each kernel by its shape
        rank.compute(timed);
      }
    }
  }

  core::Roles roles() const override { return core::Roles::workers(experiment_.ranks, 0); }  // no samples

  Prediction predict() const override {
    Prediction p;
    p.summary =
        fmt::format("{} distinct kernel shapes × {} repeats on every rank", kernels_.size(), repeats_);
    for (const core::Kernel& k : kernels_) {
      p.terms.push_back({core::shape_key(k), experiment_.platform.device.kernel_seconds(k), "device model"});
    }
    return p;
  }

 private:
  const core::Experiment& experiment_;
  std::vector<core::Kernel> kernels_;
  int repeats_ = 5;
};

}  // namespace

std::span<const std::string_view> pingpong_fields() {
  static constexpr std::string_view kFields[] = {"type", "sizes", "repeats"};
  return kFields;
}

std::span<const std::string_view> kernel_benchmark_fields() {
  static constexpr std::string_view kFields[] = {"type", "repeats", "tensor_parallel"};
  return kFields;
}

std::unique_ptr<Strategy> make_pingpong(const core::Experiment& experiment) {
  return std::make_unique<PingPong>(experiment);
}

std::unique_ptr<Strategy> make_kernel_benchmark(const core::Experiment& experiment) {
  return std::make_unique<KernelBenchmark>(experiment);
}

}  // namespace dmlsim::strategies
