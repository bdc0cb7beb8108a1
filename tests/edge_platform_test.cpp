// `topology: edge` (core/edge_platform.hpp): client classes laid out as hosts of a star, region
// latencies, seeded spreads, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/platform.hpp"

namespace dmlsim {
namespace {

core::Platform edge(const std::string& yaml) {
  return core::parse_platform(core::ConfigNode::load_string(yaml, "edge.yaml").at("platform"));
}

constexpr const char* kTwoClasses = R"(platform:
  topology: edge
  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
  regions: {eu: 10ms, asia: 90ms}
  classes:
    phone: {count: 3, link: {down: 20Mbps, up: 5Mbps, latency: 40ms}, device: phone, region: asia}
    box: {count: 2, link: {bandwidth: 100Mbps, latency: 5ms}, device: jetson-orin-nano, region: eu}
)";

TEST(EdgePlatform, ClassesAreHostsInOrderAndTheServerIsLast) {
  const core::Platform p = edge(kTwoClasses);
  EXPECT_EQ(p.host_count(), 6);
  EXPECT_EQ(p.topology_name(), "edge");
  ASSERT_EQ(p.host_classes.size(), 2U);
  EXPECT_EQ(p.class_of(2)->name, "phone");
  EXPECT_EQ(p.class_of(3)->name, "box");
  EXPECT_EQ(p.class_of(5), nullptr);  // the server
  EXPECT_EQ(p.device_of(0).name, "phone-cpu");
  EXPECT_EQ(p.device_of(4).name, "jetson-orin-nano-8gb");
  EXPECT_EQ(p.device_of(5).name, "generic-cpu-2core");
  const auto& star = std::get<core::StarTopology>(p.topology);
  // A phone's link: its access link, plus its region's core latency one way.
  EXPECT_DOUBLE_EQ(star.link_of(1).latency, 40e-3 + 90e-3);
  EXPECT_DOUBLE_EQ(star.link_of(1).up(), 5e6 / 8);
  EXPECT_DOUBLE_EQ(star.link_of(1).down(), 20e6 / 8);
  EXPECT_DOUBLE_EQ(star.link_of(4).latency, 5e-3 + 10e-3);
  EXPECT_DOUBLE_EQ(star.link_of(5).latency, 1e-3);
  // Server to phone: the server's link down and the phone's, latencies added.
  const auto path = p.path(5, 0);
  ASSERT_TRUE(path);
  EXPECT_DOUBLE_EQ(path->latency, 1e-3 + 130e-3);
  EXPECT_DOUBLE_EQ(path->bandwidth, 20e6 / 8);
  EXPECT_NE(p.describe().find("edge of 5 clients in 2 classes: phone ×3"), std::string::npos) << p.describe();
}

TEST(EdgePlatform, SpreadGivesEveryClientItsOwnReproducibleSpeed) {
  const std::string yaml = R"(platform:
  topology: edge
  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
  seed: 4
  classes:
    phone: {count: 2000, link: {down: 20Mbps, up: 5Mbps, latency: 40ms}, device: phone,
            spread: {compute: 0.3, bandwidth: 0.5}}
)";
  const core::Platform a = edge(yaml), b = edge(yaml);
  const auto& star = std::get<core::StarTopology>(a.topology);
  std::vector<double> up, compute;
  for (int h = 0; h < 2000; ++h) {
    up.push_back(star.link_of(h).up() / (5e6 / 8));
    compute.push_back(*a.device_of(h).peak(core::DType::fp32) / 100e9);
    EXPECT_DOUBLE_EQ(star.link_of(h).up(), std::get<core::StarTopology>(b.topology).link_of(h).up());
    // One factor per client for both directions of its link.
    EXPECT_DOUBLE_EQ(star.link_of(h).down() / (20e6 / 8), up.back());
  }
  // Log-normal of median 1: the median near 1, and σ = the spread of the logarithms.
  const auto check = [](std::vector<double> v, double sigma) {
    std::sort(v.begin(), v.end());
    EXPECT_NEAR(v[v.size() / 2], 1.0, 0.05);
    double sum = 0, squares = 0;
    for (const double x : v) {
      sum += std::log(x);
      squares += std::log(x) * std::log(x);
    }
    const double mean = sum / static_cast<double>(v.size());
    EXPECT_NEAR(std::sqrt(squares / static_cast<double>(v.size()) - mean * mean), sigma, 0.03);
  };
  check(up, 0.5);
  check(compute, 0.3);
  EXPECT_NE(up[0], up[1]);
}

// `availability: {period, online}`: each client online for `online` of every `period`, from its own
// offset; online_until and next_online agree with each other and with the fraction online.
TEST(EdgePlatform, AvailabilityWindowsRepeatEveryPeriodFromEachClientsOffset) {
  const core::Platform p = edge(R"(platform:
  topology: edge
  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
  classes:
    phone: {count: 50, link: {bandwidth: 10Mbps, latency: 1ms}, device: phone, availability: {period: 10s, online: 4s}}
    box: {count: 1, link: {bandwidth: 10Mbps, latency: 1ms}, device: cpu}
)");
  int online = 0, samples = 0;
  std::set<double> offsets;
  for (int h = 0; h < 50; ++h) {
    // The window's start: the first time online after an offline moment.
    double t = 0;
    while (p.online_until(h, t)) t += 0.5;
    const double start = p.next_online(h, t);
    EXPECT_GT(start, t);
    ASSERT_TRUE(p.online_until(h, start));
    EXPECT_NEAR(*p.online_until(h, start), start + 4, 1e-9);
    EXPECT_FALSE(p.online_until(h, start + 4 + 1e-9));
    EXPECT_NEAR(p.next_online(h, start + 4.5), start + 10, 1e-9);
    EXPECT_NEAR(*p.online_until(h, start + 10 + 1), start + 14, 1e-9);
    offsets.insert(std::fmod(start, 10));
    for (double u = 0; u < 100; u += 0.37, ++samples) online += p.online_until(h, u).has_value();
  }
  EXPECT_GE(offsets.size(), 45U) << "every client its own offset";
  EXPECT_NEAR(static_cast<double>(online) / samples, 0.4, 0.02);
  EXPECT_EQ(p.online_until(50, 123.0), std::numeric_limits<double>::infinity());  // no availability
  EXPECT_EQ(p.next_online(50, 123.0), 123.0);
}

// With `start` and `jitter`, windows open within jitter/2 of the start every period: at 23h of each
// day the overnight class is online, at noon none of it is.
TEST(EdgePlatform, WindowsOpenAroundTheClassStart) {
  const core::Platform p = edge(R"(platform:
  topology: edge
  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
  classes:
    night: {count: 30, link: {bandwidth: 10Mbps, latency: 1ms}, device: phone,
            availability: {period: 24h, online: 8h, start: 22h, jitter: 2h}}
)");
  for (int h = 0; h < 30; ++h) {
    for (int day = 0; day < 3; ++day) {
      const double midnight = day * 86400.0;
      EXPECT_TRUE(p.online_until(h, midnight + 23.5 * 3600)) << h;
      EXPECT_TRUE(p.online_until(h, midnight + 86400 + 4.5 * 3600)) << h;
      EXPECT_FALSE(p.online_until(h, midnight + 12 * 3600)) << h;
      const double opens = p.next_online(h, midnight + 12 * 3600);
      EXPECT_GE(opens, midnight + 21 * 3600);
      EXPECT_LE(opens, midnight + 23 * 3600);
    }
  }
}

struct BadEdge {
  const char* name;
  const char* classes;
  const char* expected;
};
void PrintTo(const BadEdge& c, std::ostream* out) {
  *out << c.name;
}

class EdgePlatformBadInput : public ::testing::TestWithParam<BadEdge> {};

TEST_P(EdgePlatformBadInput, IsOneErrorNamingTheField) {
  const std::string yaml = std::string(R"(platform:
  topology: edge
  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
  regions: {eu: 10ms}
  classes: )") + GetParam().classes +
                           "\n";
  try {
    edge(yaml);
    FAIL() << "expected an error";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EdgePlatformBadInput,
    ::testing::Values(
        BadEdge{"class_without_device", "{phone: {count: 3, link: {bandwidth: 1Mbps, latency: 1ms}}}",
                "edge.yaml:5: field 'platform.classes.phone': a client class needs a 'device'"},
        BadEdge{"unknown_region",
                "{phone: {count: 3, link: {bandwidth: 1Mbps, latency: 1ms}, device: phone, region: us}}",
                "field 'platform.classes.phone.region': unknown region 'us' (platform.regions: eu)"},
        BadEdge{"no_clients", "{phone: {count: 0, link: {bandwidth: 1Mbps, latency: 1ms}, device: phone}}",
                "field 'platform.classes.phone.count'"},
        BadEdge{"unknown_device",
                "{phone: {count: 1, link: {bandwidth: 1Mbps, latency: 1ms}, device: toaster}}",
                "unknown device 'toaster'"},
        BadEdge{"bad_spread",
                "{phone: {count: 1, link: {bandwidth: 1Mbps, latency: 1ms}, device: phone, spread: {compute: "
                "-1}}}",
                "field 'platform.classes.phone.spread.compute': a log-normal σ in [0, 3]"},
        BadEdge{"empty", "{}", "field 'platform.classes': expected a mapping of class name"},
        BadEdge{"online_longer_than_period",
                "{phone: {count: 1, link: {bandwidth: 1Mbps, latency: 1ms}, device: phone, availability: "
                "{period: "
                "1h, online: 2h}}}",
                "field 'platform.classes.phone.availability.online': a positive duration up to the period"},
        BadEdge{"jitter_without_start",
                "{phone: {count: 1, link: {bandwidth: 1Mbps, latency: 1ms}, device: phone, availability: "
                "{period: "
                "24h, online: 8h, jitter: 1h}}}",
                "field 'platform.classes.phone.availability.jitter': spreads the window's opening around "
                "'start'"},
        BadEdge{"availability_without_online",
                "{phone: {count: 1, link: {bandwidth: 1Mbps, latency: 1ms}, device: phone, availability: "
                "{period: "
                "1h}}}",
                "give 'period' and 'online'"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace dmlsim
