#include "strategies/training/replica_step.hpp"

#include <algorithm>
#include <vector>

namespace dmlsim::strategies {

void forward_backward_sync(core::Rank& rank, const core::Model& model, std::span<const core::Kernel> forward,
                           std::span<const std::size_t> closing_layers, const BucketSync& sync) {
  {
    core::Phase phase(rank, "forward");
    rank.compute(forward);
  }
  std::vector<core::CollectiveHandle> in_flight(closing_layers.size());
  {
    core::Phase phase(rank, "backward");
    std::size_t next = 0;
    for (std::size_t i = model.layers.size(); i-- > 0;) {
      rank.compute(model.layers[i].backward);
      if (next < closing_layers.size() && closing_layers[next] == i) {
        if (sync.gradients_ready) sync.gradients_ready(next);
        if (sync.overlap) {
          BucketExchange x = sync.exchange(next);
          in_flight[next] = x.comm->start(std::move(x.schedule), x.buffer);
        }
        ++next;
      }
    }
  }
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
    if (next < closing_layers.size() && closing_layers[next] == i) {
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
