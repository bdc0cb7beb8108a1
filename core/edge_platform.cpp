#include "core/edge_platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <optional>

#include "core/availability_trace.hpp"
#include "core/client_trace.hpp"
#include "core/device.hpp"
#include "core/errors.hpp"
#include "core/seeded_draws.hpp"

namespace dmlsim::core {
namespace {

constexpr std::string_view kEdgeFields[] = {"name",    "topology", "server",   "classes",
                                            "regions", "seed",     "tcp_acks", "sources"};
constexpr std::int64_t kMaxClients = 1 << 20;

// A device as fast as `device` times `factor`: every rate multiplied, every fixed time divided.
DeviceProfile faster(DeviceProfile device, double factor) {
  for (auto& peak : device.peak_flops) {
    if (peak) *peak *= factor;
  }
  device.memory_bandwidth *= factor;
  device.launch_overhead /= factor;
  for (MeasuredKernel& k : device.measured) k.seconds /= factor;
  if (device.gemm) device.gemm->fixed /= factor;
  return device;
}

struct Spread {
  double compute = 0, bandwidth = 0;  // σ of the log-normal factors
};

Spread parse_spread(const ConfigNode& cls) {
  Spread s;
  const auto node = cls.find("spread");
  if (!node) return s;
  node->expect_only({"compute", "bandwidth"});
  const auto sigma = [&](const char* key) {
    const double v = node->number_or(key, 0);
    if (!(v >= 0 && v <= 3))
      node->at(key).fail("a log-normal σ in [0, 3] (0.5: a quarter of clients below 0.71×)");
    return v;
  };
  s.compute = sigma("compute");
  s.bandwidth = sigma("bandwidth");
  return s;
}

// A class's `availability` as a trace file (availability_trace.hpp, rows `client,from,to` with the
// client counted within the class): each listed client's online windows, by host.
void read_class_windows(const ConfigNode& file, const HostClass& hc, Platform& p) {
  const std::filesystem::path path = file.resolve_path(file.as_string());
  for (const AvailabilityWindow& w : read_availability(path, "client")) {
    if (w.key >= hc.count) {
      throw ConfigError(fmt::format("{}:{}: client {}: class {} has {} clients, numbered from 0",
                                    path.string(), w.line, w.key, hc.name, hc.count));
    }
    p.host_windows[hc.first + w.key].emplace_back(w.from, w.to);
  }
  for (int h = hc.first; h < hc.first + hc.count; ++h) {
    if (const auto it = p.host_windows.find(h); it != p.host_windows.end())
      std::sort(it->second.begin(), it->second.end());
  }
}

// `regions:` — each region's WAN path to the server: a latency (`eu: 10ms`, added to the path of
// every client of the region), or a regional aggregator behind its own WAN link
// (`eu: {wan: {bandwidth: 1Gbps, latency: 10ms}, aggregator: {link: {...}, device: cpu}}`), the
// region's clients reaching it without crossing the WAN. Either every region has an aggregator or
// none has.
struct Region {
  struct Aggregator {
    LinkSpec link;
    DeviceProfile device;
  };
  std::string name;
  LinkSpec wan;  // latency only, without an aggregator
  std::optional<Aggregator> aggregator;
};

std::vector<Region> parse_regions(const ConfigNode& node) {
  std::vector<Region> out;
  const auto r = node.find("regions");
  if (!r) return out;
  if (!r->is_map())
    r->fail("expected a mapping of region name to its core latency (eu: 10ms) or to {wan, aggregator}");
  for (const std::string& name : r->keys()) {
    const ConfigNode field = r->at(name);
    Region region{name, {}, std::nullopt};
    if (field.is_map()) {
      field.expect_only({"wan", "aggregator"});
      if (!field.has("wan") || !field.has("aggregator"))
        field.fail("a region with an aggregator gives 'wan' (its link to the server) and 'aggregator'");
      region.wan = parse_link(field.at("wan"));
      const ConfigNode agg = field.at("aggregator");
      agg.expect_only({"link", "device"});
      region.aggregator = Region::Aggregator{parse_link(agg.at("link")), load_device(agg.at("device"))};
    } else {
      region.wan.latency = r->duration(name);
      if (!(region.wan.latency >= 0)) field.fail("a latency of zero or more");
    }
    if (!out.empty() && out.front().aggregator.has_value() != region.aggregator.has_value()) {
      field.fail(fmt::format(
          "region '{}' has {} aggregator and region '{}' has {}: give every region an aggregator, or none",
          name, region.aggregator ? "an" : "no", out.front().name, out.front().aggregator ? "one" : "none"));
    }
    out.push_back(std::move(region));
  }
  return out;
}

}  // namespace

std::span<const std::string_view> edge_platform_fields() {
  return kEdgeFields;
}

double availability_offset(std::uint64_t seed, std::uint64_t key) {
  return unit_interval(splitmix64(splitmix64(seed ^ 0xA7A11AB1EULL) ^ splitmix64(key)));
}

double lognormal_factor(std::uint64_t seed, std::uint64_t key, double sigma) {
  if (sigma == 0) return 1;
  const std::uint64_t a = splitmix64(seed ^ splitmix64(key)), b = splitmix64(a);
  // Box–Muller: a standard normal from two uniforms in (0, 1).
  const double z = std::sqrt(-2 * std::log(open_unit_interval(a))) *
                   std::cos(2 * std::numbers::pi * open_unit_interval(b));
  return std::exp(sigma * z);
}

void parse_edge_platform(const ConfigNode& node, Platform& p) {
  node.expect_only(kEdgeFields);
  const ConfigNode server = node.at("server");
  server.expect_only({"link", "device"});
  const std::vector<Region> regions = parse_regions(node);
  const bool hierarchical = !regions.empty() && regions.front().aggregator.has_value();
  const auto seed = static_cast<std::uint64_t>(node.integer_in_or("seed", 0, std::int64_t{1} << 62, 1));
  p.population_seed = seed;
  const ConfigNode classes = node.at("classes");
  if (!classes.is_map() || classes.keys().empty())
    classes.fail("expected a mapping of class name to {count, link, device}");

  StarTopology star;
  p.device = load_device(server.at("device"));
  std::map<std::string, DeviceProfile, std::less<>> devices;  // loaded once per name
  for (const std::string& name : classes.keys()) {
    const ConfigNode cls = classes.at(name);
    if (!cls.is_map()) cls.fail("expected {count, link, device}");
    cls.expect_only({"count", "trace", "link", "device", "region", "spread", "availability"});
    if (!cls.has("device"))
      cls.fail("a client class needs a 'device' (a shipped name such as phone, or a file)");
    if (!cls.has("link")) cls.fail("a client class needs a 'link': its access link, {down, up, latency}");
    HostClass hc;
    hc.name = name;
    hc.first = star.hosts;
    std::vector<ClientProfile> profiles;  // from the class's client trace, one per client
    if (const auto trace = cls.find("trace")) {
      const std::filesystem::path path = trace->resolve_path(trace->as_string());
      profiles = read_client_trace(path);
      if (cls.has("spread"))
        cls.at("spread").fail("the class's 'trace' gives every client its own figures: drop 'spread'");
      if (profiles.size() > static_cast<std::size_t>(kMaxClients))
        trace->fail(fmt::format("{} clients; at most {}", profiles.size(), kMaxClients));
      if (cls.has("count") && cls.at("count").as_int() != static_cast<std::int64_t>(profiles.size())) {
        cls.at("count").fail(fmt::format("{} clients, but the trace {} has {}", cls.at("count").as_int(),
                                         path.string(), profiles.size()));
      }
      hc.count = static_cast<int>(profiles.size());
    } else {
      hc.count = static_cast<int>(cls.integer_in("count", 1, kMaxClients));
    }
    if (star.hosts + hc.count > kMaxClients)
      cls.at(cls.has("count") ? "count" : "trace")
          .fail(fmt::format("more than {} clients in all", kMaxClients));
    LinkSpec link = parse_link(cls.at("link"));
    hc.link = link;
    if (const auto a = cls.find("availability"); a && a->is_scalar()) {
      read_class_windows(*a, hc, p);
    } else if (a) {
      a->expect_only({"period", "online", "start", "jitter"});
      if (!a->has("period") || !a->has("online"))
        a->fail("give 'period' and 'online': online for `online` of every `period` (e.g. 24h and 8h)");
      hc.period = a->duration("period");
      hc.online = a->duration("online");
      if (!(hc.period > 0)) a->at("period").fail("a positive duration");
      if (!(hc.online > 0 && hc.online <= hc.period))
        a->at("online").fail("a positive duration up to the period");
      if (a->has("start")) {
        hc.start = a->duration("start");
        if (!(hc.start >= 0 && hc.start < hc.period))
          a->at("start").fail("a time within the period, from 0 (e.g. 22h of a 24h day)");
        hc.jitter = a->duration_or("jitter", 0.0);
        if (!(hc.jitter >= 0 && hc.jitter <= hc.period))
          a->at("jitter").fail("a duration from 0 to the period");
      } else if (a->has("jitter")) {
        a->at("jitter").fail("spreads the window's opening around 'start': give 'start' too");
      }
    }
    double core_latency = 0;
    int site = -1;
    if (const auto region = cls.find("region")) {
      hc.region = region->as_string();
      const auto it =
          std::find_if(regions.begin(), regions.end(), [&](const Region& r) { return r.name == hc.region; });
      if (it == regions.end()) {
        std::string known;
        for (const Region& r : regions) known += (known.empty() ? "" : ", ") + r.name;
        region->fail(fmt::format("unknown region '{}' (platform.regions: {})", hc.region,
                                 known.empty() ? "none given" : known));
      }
      site = static_cast<int>(it - regions.begin());
      // The WAN core between the region and the server: the region's uplink when it has an
      // aggregator, else part of each client's path.
      if (!hierarchical) core_latency = it->wan.latency;
    } else if (hierarchical) {
      cls.fail("the platform's regions have aggregators: give the class its 'region'");
    }
    const ConfigNode device_node = cls.at("device");
    const std::string device_key = device_node.as_flow_yaml();
    auto device = devices.find(device_key);
    if (device == devices.end()) device = devices.emplace(device_key, load_device(device_node)).first;
    const Spread spread = parse_spread(cls);
    for (int h = hc.first; h < hc.first + hc.count; ++h) {
      const auto key = static_cast<std::uint64_t>(h);
      LinkSpec own = link;
      double speed = 1;
      if (profiles.empty()) {
        const double b = lognormal_factor(seed, 2 * key, spread.bandwidth);
        own.bandwidth *= b;
        own.up_bandwidth *= b;
        speed = lognormal_factor(seed, 2 * key + 1, spread.compute);
      } else {
        const ClientProfile& client = profiles[static_cast<std::size_t>(h - hc.first)];
        own.up_bandwidth = client.up.value_or(link.nominal_up());
        own.bandwidth = client.down.value_or(link.bandwidth);
        own.latency = client.latency.value_or(link.latency);
        speed = client.compute.value_or(1);
      }
      own.latency += core_latency;
      star.host_links.emplace(h, own);
      if (hierarchical) star.site_of.push_back(site);
      p.host_devices.emplace(h, faster(device->second, speed));
    }
    star.hosts += hc.count;
    p.host_classes.push_back(hc);
  }
  if (hierarchical) {  // hosts N.. are the regions' aggregators, in region order
    for (const Region& r : regions) {
      const int host = star.hosts++;
      star.sites.push_back({"region " + r.name, r.wan, host});
      star.site_of.push_back(static_cast<int>(star.sites.size()) - 1);
      star.host_links.emplace(host, r.aggregator->link);
      p.host_devices.emplace(host, r.aggregator->device);
    }
    star.site_of.push_back(-1);  // the server, in the core
  }
  star.link = parse_link(server.at("link"));  // the server's; every client has its own
  star.hosts += 1;
  p.topology = star;
}

}  // namespace dmlsim::core
