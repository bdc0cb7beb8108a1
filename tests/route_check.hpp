#pragma once
// Builds a platform in a fresh SimGrid engine and checks that every pair of hosts is routed with
// the latency and bottleneck bandwidth core::Platform::path() promises. One engine per process:
// call it once per test case.
#include <gtest/gtest.h>

#include <simgrid/s4u.hpp>

#include "core/platform.hpp"
#include "sim/platform_builder.hpp"

namespace dmlsim::testing {

inline void expect_routes_match(const core::Platform& platform) {
  namespace sg = simgrid::s4u;
  int argc = 2;
  char name[] = "test";
  char quiet[] = "--log=root.thres:warning";
  char* argv[] = {name, quiet, nullptr};
  sg::Engine engine(&argc, argv);
  const auto hosts = sim::build_platform(engine, platform);
  ASSERT_EQ(static_cast<int>(hosts.size()), platform.host_count());
  for (int a = 0; a < platform.host_count(); ++a) {
    for (int b = 0; b < platform.host_count(); ++b) {
      if (a == b) continue;
      std::vector<sg::Link*> links;
      double latency = 0;
      hosts[a]->route_to(hosts[b], links, &latency);
      double bandwidth = 1e300;
      for (const sg::Link* l : links) bandwidth = std::min(bandwidth, l->get_bandwidth());
      const core::PathParams expected = *platform.path(a, b);
      ASSERT_DOUBLE_EQ(latency, expected.latency) << a << " -> " << b;
      ASSERT_DOUBLE_EQ(bandwidth, expected.bandwidth) << a << " -> " << b;
    }
  }
}

}  // namespace dmlsim::testing
