#include "strategies/training/replica_step.hpp"

#include <algorithm>
#include <map>
#include <vector>

namespace dmlsim::strategies {

namespace {

// The forward pass; returns the memory in use after it (the resident bytes and what it saved).
std::uint64_t run_forward(core::Rank& rank, const core::Model& model, std::span<const core::Kernel> forward,
                          std::uint64_t resident_bytes, const core::EventAttributes& attributes) {
  std::uint64_t in_use = resident_bytes;
  core::Phase phase(rank, core::kForwardPhase, -1, attributes);
  rank.count(core::kMemoryInUse, static_cast<double>(in_use));
  rank.compute(forward);
  for (const core::Layer& l : model.layers) in_use += l.saved_bytes;
  rank.count(core::kMemoryInUse, static_cast<double>(in_use));
  return in_use;
}

// The backward pass, layer by layer in reverse, each layer's saved activations freed when it is
// done; then `after_layer(i)`.
template <typename AfterLayer>
void run_backward(core::Rank& rank, const core::Model& model, std::uint64_t in_use,
                  const core::EventAttributes& attributes, AfterLayer after_layer) {
  core::Phase phase(rank, core::kBackwardPhase, -1, attributes);
  for (std::size_t i = model.layers.size(); i-- > 0;) {
    rank.compute(model.layers[i].backward);
    in_use -= model.layers[i].saved_bytes;
    rank.count(core::kMemoryInUse, static_cast<double>(in_use));
    after_layer(i);
  }
}

}  // namespace

void forward_backward_local(core::Rank& rank, const core::Model& model, std::span<const core::Kernel> forward,
                            std::uint64_t resident_bytes, int micro_batch) {
  const core::EventAttributes attributes =
      core::EventAttributes().set(core::Attribute::micro_batch, micro_batch);
  const std::uint64_t in_use = run_forward(rank, model, forward, resident_bytes, attributes);
  run_backward(rank, model, in_use, attributes, [](std::size_t) {});
}

void forward_backward_sync(core::Rank& rank, const core::Model& model, std::span<const core::Kernel> forward,
                           std::uint64_t resident_bytes, std::span<const std::size_t> closing_layers,
                           const BucketSync& sync) {
  core::EventAttributes attributes;
  if (sync.micro_batch >= 0) attributes.set(core::Attribute::micro_batch, sync.micro_batch);
  const std::uint64_t in_use = run_forward(rank, model, forward, resident_bytes, attributes);
  std::vector<core::CollectiveHandle> in_flight(closing_layers.size());
  std::size_t next = 0;
  run_backward(rank, model, in_use, attributes, [&](std::size_t i) {
    while (next < closing_layers.size() && closing_layers[next] == i) {
      if (sync.gradients_ready) sync.gradients_ready(next);
      if (sync.overlap) {
        BucketExchange x = sync.exchange(next);
        in_flight[next] = x.comm->start(std::move(x.schedule), x.buffer);
      }
      ++next;
    }
  });
  // Exposed communication: what the buckets still need once backward is over.
  core::Phase phase(rank, "gradient-sync");
  if (sync.overlap) {
    rank.wait_all(in_flight);
    return;
  }
  for (std::size_t b = 0; b < closing_layers.size(); ++b) {
    const BucketExchange x = sync.exchange(b);
    x.comm->run(*x.schedule, x.buffer);
  }
}

SlowestReplica slowest_replica(const core::Experiment& e, const core::Model& model,
                               const std::function<bool(int)>& is_replica) {
  // Forward and backward on each device class, once per class (thousands of ranks share a few).
  std::map<const core::DeviceProfile*, double> step_seconds;
  const auto step_on = [&](const core::DeviceProfile& device) {
    const auto [it, added] = step_seconds.try_emplace(&device, 0.0);
    if (added) {
      for (const core::Layer& l : model.layers) {
        for (const auto* kernels : {&l.forward, &l.backward}) {
          for (const core::Kernel& k : *kernels) it->second += device.kernel_seconds(k);
        }
      }
    }
    return it->second;
  };
  SlowestReplica slowest{&e.platform.device, 1};
  double longest = -1;
  for (int r = 0; r < e.ranks; ++r) {
    if (!is_replica(r)) continue;
    const core::DeviceProfile& device = e.platform.device_of(e.placement[static_cast<std::size_t>(r)]);
    const double seconds = step_on(device) * e.slowdown_of(r);
    if (seconds > longest) {
      longest = seconds;
      slowest = {&device, e.slowdown_of(r)};
    }
  }
  return slowest;
}

ReplicaStepTimes predict_replica_step(const core::Model& model, const core::DeviceProfile& device,
                                      double slowdown, std::span<const std::size_t> closing_layers,
                                      const std::function<double(std::size_t)>& bucket_seconds,
                                      bool overlap) {
  auto time_of = [&](const std::vector<core::Kernel>& kernels) {
    double t = 0;
    for (const core::Kernel& k : kernels) t += device.kernel_seconds(k);
    return t * slowdown;
  };
  ReplicaStepTimes r;
  for (const core::Layer& l : model.layers) r.forward += time_of(l.forward);
  double clock = r.forward, stream_free = r.forward;
  std::size_t next = 0;
  for (std::size_t i = model.layers.size(); i-- > 0;) {
    clock += time_of(model.layers[i].backward);
    while (next < closing_layers.size() && closing_layers[next] == i) {
      const double t = bucket_seconds(next++);
      r.communication += t;
      stream_free = (overlap ? std::max(clock, stream_free) : stream_free) + t;
    }
  }
  r.backward = clock - r.forward;
  r.exposed = overlap ? std::max(0.0, stream_free - clock) : r.communication;
  return r;
}

}  // namespace dmlsim::strategies
