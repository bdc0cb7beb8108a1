#pragma once
// Helpers for tests that run the simulator (each test case is its own process: one SimGrid engine).
#include <fmt/format.h>

#include <string>

#include "core/experiment.hpp"
#include "core/kernel.hpp"
#include "core/model.hpp"
#include "sim/simulate.hpp"
#include "strategies/strategy.hpp"

namespace dmlsim::testing {

inline core::Experiment experiment_from_yaml(const std::string& yaml) {
  return core::parse_experiment(core::ConfigNode::load_string(yaml, "test-experiment.yaml").at("experiment"));
}

inline sim::SimResult simulate_strategy(const core::Experiment& e) {
  const auto strategy = strategies::make_strategy(e);
  return sim::simulate(e, [&](core::Rank& rank) { strategy->run(rank); });
}

// A star of n hosts: link bandwidth `bandwidth`, latency `latency` (host-to-host α = 2·latency).
inline std::string star_platform(int n, const std::string& bandwidth = "10Gbps",
                                 const std::string& latency = "1us", const std::string& device = "h100") {
  return fmt::format("{{topology: star, hosts: {}, link: {{bandwidth: {}, latency: {}}}, device: {}}}", n,
                     bandwidth, latency, device);
}

// A federated client's local step on `device`: every layer's forward, the backward in reverse, an
// SGD update (strategies/federated: the step each client repeats).
inline double federated_step_seconds(const core::Model& m, const core::DeviceProfile& device) {
  double t = 0;
  for (const core::Layer& l : m.layers) {
    for (const core::Kernel& k : l.forward) t += device.kernel_seconds(k);
    for (const core::Kernel& k : l.backward) t += device.kernel_seconds(k);
  }
  return t + device.kernel_seconds(
                 core::optimizer_step("sgd", m.parameters(), m.dtype, core::OptimizerStep::Kind::sgd));
}

}  // namespace dmlsim::testing
