#pragma once
// Helpers for tests that run the simulator (each test case is its own process: one SimGrid engine).
#include <fmt/format.h>

#include <string>

#include "core/experiment.hpp"
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

}  // namespace dmlsim::testing
