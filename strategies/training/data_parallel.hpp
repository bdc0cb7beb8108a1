#pragma once
// `type: data-parallel` — every rank holds the whole model and a micro-batch; gradients are
// grouped into buckets in the order backward produces them and each bucket is all-reduced as soon
// as it is full, on the communication stream, while backward goes on (PyTorch DDP, Li et al.,
// VLDB 2020). After the last bucket the optimizer steps. With `overlap: false` the buckets are
// all-reduced after backward, one after another.
#include <cstdint>
#include <vector>

#include "core/model.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::strategies {

struct GradientBucket {
  std::size_t closing_layer = 0;  // model layer whose backward completes the bucket
  std::int64_t parameters = 0;
};
// Buckets in backward order: a bucket closes once it holds at least `bucket_bytes` of gradients
// (a layer is never split), the last one with whatever remains.
std::vector<GradientBucket> plan_buckets(const core::Model& model, std::uint64_t bucket_bytes);

std::unique_ptr<Strategy> make_data_parallel(const core::Experiment& experiment);

}  // namespace dmlsim::strategies
