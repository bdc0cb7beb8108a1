#include "strategies/training/memory.hpp"

#include <fmt/format.h>

#include <set>

#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::strategies {

std::uint64_t replica_resident_bytes(const core::Model& m, bool adam) {
  const auto params = static_cast<std::uint64_t>(m.parameters());
  const std::uint64_t element = core::dtype_bytes(m.dtype);
  std::uint64_t bytes = params * 2 * element;
  if (adam) bytes += params * (m.dtype == core::DType::fp32 ? 8 : 12);
  return bytes;
}

TrainingState training_state(std::int64_t parameters, core::DType dtype, bool adam, int zero_stage,
                             int data_parallel) {
  const auto psi = static_cast<std::uint64_t>(parameters);
  const std::uint64_t e = core::dtype_bytes(dtype);
  const std::uint64_t k = adam ? (dtype == core::DType::fp32 ? 8 : 12) : 0;
  const auto n = static_cast<std::uint64_t>(data_parallel);
  // A partition of Ψ over N_d ranks: the largest share, ⌈Ψ/N_d⌉.
  const std::uint64_t share = (psi + n - 1) / n;
  TrainingState s;
  s.weights = (zero_stage >= 3 ? share : psi) * e;
  s.gradients = (zero_stage >= 2 ? share : psi) * e;
  s.optimizer = (zero_stage >= 1 ? share : psi) * k;
  return s;
}

std::uint64_t replica_memory_bytes(const core::Model& m, bool adam) {
  std::uint64_t bytes = replica_resident_bytes(m, adam);
  for (const core::Layer& l : m.layers) bytes += l.saved_bytes;
  return bytes;
}

void check_replica_fits(const core::Experiment& e, const core::Model& model, bool adam,
                        const std::function<bool(int)>& holds_replica) {
  const core::ConfigNode& node = *e.strategy;
  const bool check_memory = node.boolean_or("check_memory", true);
  const std::uint64_t need = replica_memory_bytes(model, adam);
  std::set<std::string> checked;  // device classes whose kernels were costed
  for (int r = 0; r < e.ranks; ++r) {
    if (holds_replica && !holds_replica(r)) continue;
    const core::DeviceProfile& device = e.platform.device_of(e.placement[static_cast<std::size_t>(r)]);
    const std::uint64_t have = device.memory_bytes;
    if (check_memory && need > have) {
      node.fail(
          fmt::format("model '{}' needs {} per replica (weights, gradients, optimizer state, activations) "
                      "but {}{} has {}; "
                      "shrink the model or micro-batch, or set check_memory: false",
                      model.name, core::format_bytes(static_cast<double>(need)), device.name,
                      e.platform.host_devices.empty() ? "" : fmt::format(" (rank {})", r),
                      core::format_bytes(static_cast<double>(have))));
    }
    if (!checked.insert(device.name).second) continue;
    for (const core::Layer& l : model.layers) {
      for (const auto* kernels : {&l.forward, &l.backward}) {
        for (const core::Kernel& k : *kernels) {
          try {
            (void)device.kernel_seconds(k);
          } catch (const core::ValueError& err) {
            throw core::ConfigError(
                fmt::format("{}: model and device do not match: {}", e.source, err.what()));
          }
        }
      }
    }
  }
}

}  // namespace dmlsim::strategies
