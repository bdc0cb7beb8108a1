#pragma once
// The part of a training iteration that every strategy keeping a whole model replica shares
// (data-parallel, parameter-server workers), with the phase marks the summary, validate and the
// GUI read: "forward"; "backward", layer by layer in reverse, handing each gradient bucket over as
// soon as its last layer is done; then "gradient-sync", finishing every bucket in order.
#include <cstddef>
#include <functional>
#include <span>
#include <string_view>

#include "core/communicator.hpp"
#include "core/device.hpp"
#include "core/experiment.hpp"
#include "core/model.hpp"
#include "core/rank.hpp"
#include "core/summary.hpp"

namespace dmlsim::strategies {

// What exchanges bucket b's gradients: a collective over the replicas (all-reduce, or the push
// and pull of a parameter server).
struct BucketExchange {
  core::Communicator* comm = nullptr;  // the replicas' communicator; its stream runs the exchange
  core::SchedulePtr schedule;          // this member's
  core::ElementBuffer buffer;
};

struct BucketSync {
  // Right after the layer that completes bucket b: its gradients exist now (payload mode fills
  // them here). Optional.
  std::function<void(std::size_t bucket)> gradients_ready;
  std::function<BucketExchange(std::size_t bucket)> exchange;
  // Each bucket's exchange starts on the communication stream as soon as it is ready and
  // "gradient-sync" waits for them all; without overlap they run one by one after backward.
  bool overlap = true;
  // With gradient accumulation, the micro-batch this step trains (its forward and backward are
  // marked with it); −1 without.
  int micro_batch = -1;
};

// `closing_layers[b]` is the layer whose backward completes bucket b (buckets in backward order).
// `resident_bytes` is what the replica keeps across iterations (weights, gradients, optimizer
// state): the "memory in use" counter is that plus the activations forward saves, freed layer by
// layer in backward. It is sampled when forward starts and ends and after each layer's backward:
// the peak is exact, and forward's rise shows as one step at its end.
void forward_backward_sync(core::Rank& rank, const core::Model& model, std::span<const core::Kernel> forward,
                           std::uint64_t resident_bytes, std::span<const std::size_t> closing_layers,
                           const BucketSync& sync);

// A micro-step of gradient accumulation before the one that syncs (DDP's no_sync): "forward" and
// "backward" of one micro-batch, marked with it, the gradients only added up locally.
void forward_backward_local(core::Rank& rank, const core::Model& model, std::span<const core::Kernel> forward,
                            std::uint64_t resident_bytes, int micro_batch);

// The same iteration in closed form: kernels at the device's roofline × `slowdown` (the slowest
// replica decides: every exchange waits for it), buckets exchanged one at a time on the stream,
// each taking `bucket_seconds(b)`: done_b = max(ready_b, done_{b−1}) + T_b with overlap, after
// backward without.
struct ReplicaStepTimes {
  double forward = 0;
  double backward = 0;
  double communication = 0;  // all buckets' exchanges, end to end
  double exposed = 0;        // what is left of them once backward is over
};
// The replica that decides a synchronous step: the one whose forward and backward take longest on
// its host's device at its slowdown, among the ranks `is_replica` accepts.
struct SlowestReplica {
  const core::DeviceProfile* device = nullptr;
  double slowdown = 1;
};
SlowestReplica slowest_replica(const core::Experiment& experiment, const core::Model& model,
                               const std::function<bool(int rank)>& is_replica);

ReplicaStepTimes predict_replica_step(const core::Model& model, const core::DeviceProfile& device,
                                      double slowdown, std::span<const std::size_t> closing_layers,
                                      const std::function<double(std::size_t bucket)>& bucket_seconds,
                                      bool overlap);

}  // namespace dmlsim::strategies
