#include "strategies/pipeline/pipeline_closed_forms.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.hpp"

namespace dmlsim::strategies::pipeline {

double pipeline_seconds(ScheduleKind kind, int stages, int micro_batches, int chunks, const StageTimes& t) {
  check_schedule_shape(kind, stages, micro_batches, chunks);
  const double p = stages, m = micro_batches, v = chunks;
  switch (kind) {
    case ScheduleKind::gpipe:
    case ScheduleKind::one_f_one_b:
      return (m + p - 1) * t.total();
    case ScheduleKind::interleaved:
      return (m + (p - 1) / v) * t.total();
    case ScheduleKind::zb_h1:
      if (t.weight_gradient > t.forward) {
        throw core::ValueError(
            fmt::format("the zb-h1 closed form needs W ≤ F (W {} s, F {} s)", t.weight_gradient, t.forward));
      }
      return (m + p - 1) * (t.forward + t.backward) + std::max(1.0, m - p + 1) * t.weight_gradient;
  }
  return 0;
}

double bubble_fraction(ScheduleKind kind, int stages, int micro_batches, int chunks, const StageTimes& t) {
  return 1 - micro_batches * t.total() / pipeline_seconds(kind, stages, micro_batches, chunks, t);
}

int peak_in_flight(ScheduleKind kind, int stages, int micro_batches, int chunks, int stage) {
  check_schedule_shape(kind, stages, micro_batches, chunks);
  const int p = stages, m = micro_batches, v = chunks, s = stage;
  switch (kind) {
    case ScheduleKind::gpipe:
      return m;
    case ScheduleKind::one_f_one_b:
      return std::min(p - s, m);
    case ScheduleKind::zb_h1:
      return std::min(p, m);
    case ScheduleKind::interleaved:
      return m == p ? v * m : std::min((p - s - 1) * 2 + (v - 1) * p + 1, v * m);
  }
  return 0;
}

}  // namespace dmlsim::strategies::pipeline
