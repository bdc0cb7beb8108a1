// `topology: edge` (core/edge_platform.hpp): client classes laid out as hosts of a star, region
// latencies, seeded spreads, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
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

// Per-client traces (FedScale's device and behaviour traces as CSV): every client of the class its
// own rates, latency and speed, empty cells keeping the class's figure; its online windows from
// the availability trace, unlisted clients always online, none after a client's last window.
TEST(EdgePlatform, TracesGiveEveryClientItsOwnFiguresAndWindows) {
  testing::ScratchDir dir("edge-traces");
  testing::write_file(dir / "phones.csv",
                      "down,up,latency,compute\n"
                      "20Mbps,5Mbps,40ms,1\n"
                      "8Mbps,,0.1,0.5\n"
                      ",2Mbps,,2\n");
  testing::write_file(dir / "online.csv",
                      "client,from,to\n"
                      "0,0,1h\n"
                      "0,2h,3h\n"
                      "2,30min,\n");
  testing::write_file(dir / "edge.yaml", R"(platform:
  topology: edge
  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
  regions: {eu: 10ms}
  classes:
    box: {count: 1, link: {bandwidth: 100Mbps, latency: 5ms}, device: cpu}
    phone: {trace: phones.csv, link: {down: 30Mbps, up: 6Mbps, latency: 50ms}, device: phone, region: eu,
            availability: online.csv}
)");
  const core::Platform p = core::load_platform(dir / "edge.yaml");
  ASSERT_EQ(p.host_count(), 5);
  ASSERT_EQ(p.host_classes.size(), 2U);
  EXPECT_EQ(p.host_classes[1].count, 3) << "one client per row";
  const auto& star = std::get<core::StarTopology>(p.topology);
  EXPECT_DOUBLE_EQ(star.link_of(1).down(), 20e6 / 8);
  EXPECT_DOUBLE_EQ(star.link_of(1).up(), 5e6 / 8);
  EXPECT_DOUBLE_EQ(star.link_of(1).latency, 40e-3 + 10e-3);
  EXPECT_DOUBLE_EQ(star.link_of(2).down(), 8e6 / 8);
  EXPECT_DOUBLE_EQ(star.link_of(2).up(), 6e6 / 8) << "an empty cell keeps the class's rate";
  EXPECT_DOUBLE_EQ(star.link_of(2).latency, 0.1 + 10e-3) << "a plain number is seconds";
  EXPECT_DOUBLE_EQ(star.link_of(3).down(), 30e6 / 8);
  EXPECT_DOUBLE_EQ(star.link_of(3).up(), 2e6 / 8);
  EXPECT_DOUBLE_EQ(star.link_of(3).latency, 50e-3 + 10e-3);
  const double phone = *p.device_of(1).peak(core::DType::fp32);
  EXPECT_DOUBLE_EQ(*p.device_of(2).peak(core::DType::fp32), 0.5 * phone);
  EXPECT_DOUBLE_EQ(*p.device_of(3).peak(core::DType::fp32), 2 * phone);

  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(p.online_until(1, 0), 3600.0);
  EXPECT_EQ(p.online_until(1, 3599), 3600.0);
  EXPECT_FALSE(p.online_until(1, 3600)) << "a window ends at its 'to'";
  EXPECT_EQ(p.next_online(1, 3600), 7200.0);
  EXPECT_EQ(p.online_until(1, 7200), 10800.0);
  EXPECT_FALSE(p.online_until(1, 10800));
  EXPECT_EQ(p.next_online(1, 10800), inf) << "never online after its last window";
  EXPECT_EQ(p.online_until(2, 5e6), inf) << "a client the trace does not list is always online";
  EXPECT_FALSE(p.online_until(3, 0));
  EXPECT_EQ(p.next_online(3, 0), 1800.0);
  EXPECT_EQ(p.online_until(3, 1800), inf) << "an empty 'to' is until the end";
  EXPECT_EQ(p.online_until(0, 0), inf) << "the class without traces";
}

// A malformed trace is one error naming the file, the line and the field.
TEST(EdgePlatform, AMalformedTraceIsOneErrorNamingFileLineAndField) {
  testing::ScratchDir dir("edge-bad-traces");
  const auto error_of = [&](const std::string& csv, const std::string& keys, bool availability = false) {
    testing::write_file(dir / "t.csv", csv);
    testing::write_file(
        dir / "edge.yaml",
        "platform:\n  topology: edge\n  server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: "
        "cpu}\n  classes:\n    phone: {link: {bandwidth: 10Mbps, latency: 1ms}, device: phone, " +
            std::string(availability ? "count: 2, availability: t.csv" : "trace: t.csv") + keys + "}\n");
    try {
      core::load_platform(dir / "edge.yaml");
    } catch (const core::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string csv = (dir / "t.csv").string();
  EXPECT_EQ(error_of("down,speed\n1Mbps,2\n", ""),
            csv + ":1: unknown column 'speed': the header names some of compute,down,up,latency");
  EXPECT_EQ(error_of("down,up\n1Mbps,2Mbps\n3Mbps\n", ""), csv + ":3: 1 fields; the header on line 1 has 2");
  EXPECT_EQ(error_of("down\n1Mbps\nfast\n", "").find(csv + ":3: field 'down': 'fast' is not valid"), 0U);
  EXPECT_EQ(error_of("compute\n0\n", ""), csv + ":2: field 'compute': '0' is not positive");
  EXPECT_EQ(error_of("latency\n-1\n", ""),
            csv + ":2: field 'latency': '-1' is not a latency of zero or more");
  EXPECT_EQ(error_of("down\n", ""), csv + ":1: no clients: one row per client of the class");
  EXPECT_NE(error_of("down\n1Mbps\n", ", count: 2")
                .find("field 'platform.classes.phone.count': 2 clients, but the "
                      "trace " +
                      csv + " has 1"),
            std::string::npos);
  EXPECT_NE(error_of("down\n1Mbps\n", ", spread: {compute: 0.5}")
                .find("field 'platform.classes.phone.spread': the class's 'trace' gives every client its own "
                      "figures"),
            std::string::npos);
  EXPECT_EQ(error_of("client,from,to\n2,0,1h\n", "", true),
            csv + ":2: client 2: class phone has 2 clients, numbered from 0");
  EXPECT_EQ(error_of("node,from,to\n0,0,1h\n", "", true), csv + ":1: the header must be client,from,to");
  EXPECT_EQ(error_of("client,from,to\n0,0,2h\n0,1h,3h\n", "", true),
            csv + ":3: client 0's window overlaps the one on line 2");
  EXPECT_EQ(error_of("client,from,to\n0,2h,1h\n", "", true),
            csv + ":2: field 'to': the window ends at 1h but starts at 2h");
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
