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

std::unique_ptr<Strategy> make_data_parallel(const core::Experiment& experiment);
// The fields of its `strategy:` mapping.
std::span<const std::string_view> data_parallel_fields();

}  // namespace dmlsim::strategies
