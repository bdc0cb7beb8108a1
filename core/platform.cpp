#include "core/platform.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "core/edge_platform.hpp"
#include "core/errors.hpp"
#include "core/overloaded.hpp"
#include "core/units.hpp"

namespace dmlsim::core {
namespace {

constexpr std::int64_t kMaxHosts = 1 << 20;

// The fields of each topology.
constexpr std::string_view kStarFields[] = {
    "name",    "topology",     "hosts",    "link",         "host_links",
    "device",  "host_devices", "tcp_acks", "shared_cores", "collective_launch",
    "sources", "sites"};
constexpr std::string_view kFatTreeFields[] = {
    "name",      "topology",     "hosts",      "hosts_per_leaf",    "spines",
    "host_link", "host_links",   "spine_link", "oversubscription",  "spine_latency",
    "device",    "host_devices", "tcp_acks",   "collective_launch", "sources"};
constexpr std::string_view kGpuNodesFields[] = {
    "name",          "topology",          "nodes",  "gpus_per_node", "nvlink", "nic",
    "nics_per_node", "gpu_to_nic",        "pcie",   "fabric",        "device", "host_devices",
    "tcp_acks",      "collective_launch", "sources"};
constexpr std::string_view kSimgridXmlFields[] = {"name",   "topology",     "file",     "hosts",
                                                  "device", "host_devices", "tcp_acks", "collective_launch",
                                                  "sources"};

// `fabric`/fat-tree parameters. The spine link is given directly, or derived from an
// oversubscription ratio and the capacity that enters the leaf from below.
FatTreeSpec parse_tree(const ConfigNode& node, std::string_view per_leaf_key, double downlink_per_member,
                       int members) {
  FatTreeSpec t;
  t.per_leaf = static_cast<int>(node.integer_in_or(per_leaf_key, 1, kMaxHosts, members));
  if (members % t.per_leaf != 0) {
    node.at(per_leaf_key)
        .fail(fmt::format("must divide the number of {} ({})",
                          per_leaf_key == "hosts_per_leaf" ? "hosts" : "nodes", members));
  }
  t.leaves = members / t.per_leaf;
  if (t.leaves == 1) {
    if (node.has("spines") || node.has("spine_link") || node.has("oversubscription")) {
      // Harmless but probably a mistake: say so rather than ignore it.
      node.fail("has a single leaf, so spines, spine_link and oversubscription have no effect; remove them");
    }
    return t;
  }
  t.spines = static_cast<int>(node.integer_in("spines", 1, 1 << 16));
  const bool has_link = node.has("spine_link");
  const bool has_ratio = node.has("oversubscription");
  if (has_link == has_ratio) node.fail("give exactly one of 'spine_link' or 'oversubscription'");
  if (has_link) {
    t.spine_link = parse_link(node.at("spine_link"));
  } else {
    const ConfigNode ratio = node.at("oversubscription");
    const double r = ratio.as_double();
    if (!(r > 0) || !std::isfinite(r))
      ratio.fail("must be a finite positive number (1 = non-blocking, 2 = 2:1)");
    t.spine_link.bandwidth = downlink_per_member * t.per_leaf / (r * t.spines);
    t.spine_link.latency = node.duration_or("spine_latency", 0.0);
  }
  return t;
}

// Latency and bandwidth of a host → leaf → (spine) → leaf → host path whose hosts have the edge
// links `a` and `b`, shared by `sending` flows out of a and `receiving` flows into b.
PathParams tree_path(const FatTreeSpec& t, const LinkSpec& a, const LinkSpec& b, int leaf_a, int leaf_b,
                     int sending, int receiving) {
  PathParams p{a.delay() + b.delay(), std::min(a.up() / sending, b.down() / receiving)};
  if (leaf_a != leaf_b) {
    p.latency += 2 * t.spine_link.delay();
    p.bandwidth = std::min(p.bandwidth, t.leaf_uplink_bandwidth());
  }
  return p;
}

// `host_links:` / `host_devices:` — a host or a range of hosts → a value, each host at most once.
template <class T, class Parse>
std::map<int, T> parse_per_host(const ConfigNode& node, std::string_view key, int hosts,
                                std::string_view expected, Parse parse) {
  std::map<int, T> out;
  const auto field = node.find(key);
  if (!field) return out;
  if (!field->is_map())
    field->fail(fmt::format("expected a mapping of host number or range to {}", expected));
  for (const std::string& k : field->keys()) {
    const ConfigNode value = field->at(k);
    const auto [first, last] = parse_index_range(value, k, hosts, "host", "the platform");
    const T parsed = parse(value);
    for (int h = first; h <= last; ++h) {
      if (!out.emplace(h, parsed).second) value.fail(fmt::format("host {} is given twice", h));
    }
  }
  return out;
}

GpuToNic parse_gpu_to_nic(const ConfigNode& node) {
  const std::string way = node.string_or("gpu_to_nic", "direct");
  if (way == "direct") return GpuToNic::direct;
  if (way == "nvlink") return GpuToNic::nvlink;
  if (way == "pcie") return GpuToNic::pcie;
  node.at("gpu_to_nic").fail(fmt::format("unknown way '{}' (known: direct, nvlink, pcie)", way));
}

HostLinks parse_host_links(const ConfigNode& node, int hosts) {
  return parse_per_host<LinkSpec>(node, "host_links", hosts, "{bandwidth, latency}", parse_link);
}

const LinkSpec& link_in(const HostLinks& links, const LinkSpec& fallback, int host) {
  const auto it = links.find(host);
  return it == links.end() ? fallback : it->second;
}

// A star's `sites:` — name → {uplink, hosts: [...], aggregator}: switches of their own behind an
// uplink to the core switch (an edge platform's regions, as `dmlsim calibrate` writes them).
void parse_star_sites(const ConfigNode& node, StarTopology& s) {
  const auto field = node.find("sites");
  if (!field) return;
  if (!field->is_map()) field->fail("expected a mapping of site name to {uplink, hosts, aggregator}");
  s.site_of.assign(static_cast<std::size_t>(s.hosts), -1);
  for (const std::string& name : field->keys()) {
    const ConfigNode site = field->at(name);
    site.expect_only({"uplink", "hosts", "aggregator"});
    const int index = static_cast<int>(s.sites.size());
    for (const ConfigNode& h : site.at("hosts").items()) {
      const std::int64_t host = h.as_int();
      if (host < 0 || host >= s.hosts)
        h.fail(fmt::format("host {} does not exist (the star has {})", host, s.hosts));
      int& of = s.site_of[static_cast<std::size_t>(host)];
      if (of >= 0)
        h.fail(
            fmt::format("host {} is in site '{}' already", host, s.sites[static_cast<std::size_t>(of)].name));
      of = index;
    }
    const std::int64_t aggregator = site.integer("aggregator");
    if (aggregator < 0 || aggregator >= s.hosts || s.site_of[static_cast<std::size_t>(aggregator)] != index)
      site.at("aggregator").fail(fmt::format("host {} is not one of the site's hosts", aggregator));
    s.sites.push_back({name, parse_link(site.at("uplink")), static_cast<int>(aggregator)});
  }
}

}  // namespace

const LinkSpec& StarTopology::link_of(int host) const {
  return link_in(host_links, link, host);
}

const LinkSpec& FatTreeTopology::host_link_of(int host) const {
  return link_in(host_links, host_link, host);
}

const LinkSpec* GpuNodesTopology::gpu_to_nic_link() const {
  switch (gpu_to_nic) {
    case GpuToNic::direct:
      return nullptr;
    case GpuToNic::nvlink:
      return &nvlink;
    case GpuToNic::pcie:
      return &pcie;
  }
  return nullptr;
}

const DeviceProfile& Platform::device_of(int host) const {
  const auto it = host_devices.find(host);
  return it == host_devices.end() ? device : it->second;
}

std::vector<std::string> Platform::assumed_figures() const {
  std::vector<std::string> out;
  const auto add = [&](std::string_view prefix, const std::vector<FigureSource>& figures) {
    for (const FigureSource& s : figures) {
      const std::string figure = fmt::format("{}.{}", prefix, s.field);
      if (s.kind == SourceKind::assumed && std::find(out.begin(), out.end(), figure) == out.end())
        out.push_back(figure);
    }
  };
  add("platform", sources);
  add("device", device.sources);
  // Per device class, not per host: an edge population has a thousand hosts of one phone profile.
  for (const auto& [host, d] : host_devices) add(fmt::format("device {}", d.name), d.sources);
  return out;
}

std::string Platform::header() const {
  std::string out = fmt::format("platform {}\n", describe());
  const std::vector<std::string> assumed = assumed_figures();
  if (!assumed.empty()) {
    out += fmt::format("  assumed, not measured or published: {} (the `sources:` of {} and its device)\n",
                       fmt::join(assumed, ", "), source.empty() ? "the platform" : source);
  }
  return out;
}

LinkSpec parse_link(const ConfigNode& node) {
  node.expect_only({"bandwidth", "up", "down", "latency", "efficiency", "overhead"});
  const bool both = node.has("bandwidth"), up = node.has("up"), down = node.has("down");
  if (both == (up || down) || up != down) {
    node.fail("give either 'bandwidth' (both directions) or both 'up' and 'down'");
  }
  LinkSpec link = both ? LinkSpec{node.bandwidth("bandwidth"), node.duration("latency")}
                       : LinkSpec{node.bandwidth("down"), node.duration("latency"), node.bandwidth("up")};
  if (const auto efficiency = node.find("efficiency")) {
    link.efficiency = efficiency->as_double();
    if (!(link.efficiency > 0 && link.efficiency <= 1)) {
      efficiency->fail("must be a fraction of the line rate in (0, 1], e.g. 0.78");
    }
  }
  link.overhead = node.duration_or("overhead", 0.0);
  return link;
}

std::string Platform::describe_devices() const {
  if (host_devices.empty()) return device.name;
  std::vector<std::pair<std::string, int>> counts;  // in order of first host
  for (int h = 0; h < host_count(); ++h) {
    const std::string& device_name = device_of(h).name;
    const auto it =
        std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == device_name; });
    if (it == counts.end()) {
      counts.emplace_back(device_name, 1);
    } else {
      ++it->second;
    }
  }
  std::string out;
  for (const auto& [device_name, count] : counts) {
    out += fmt::format("{}{} ×{}", out.empty() ? "" : ", ", device_name, count);
  }
  return out;
}

namespace {

std::string describe_link(const LinkSpec& l) {
  std::string rate = l.asymmetric() ? fmt::format("{} up, {} down", format_bandwidth(l.nominal_up()),
                                                  format_bandwidth(l.bandwidth))
                                    : format_bandwidth(l.bandwidth);
  if (l.efficiency != 1) rate += fmt::format(" × {:.3g}", l.efficiency);
  std::string delay = format_duration(l.latency);
  if (l.overhead > 0) {
    delay = l.latency > 0 ? fmt::format("{} + {} per message", delay, format_duration(l.overhead))
                          : fmt::format("{} per message", format_duration(l.overhead));
  }
  return fmt::format("{} / {}", rate, delay);
}

std::string describe_exceptions(const HostLinks& links) {
  return links.empty()
             ? ""
             : fmt::format(" ({} host{} with a link of its own)", links.size(), links.size() == 1 ? "" : "s");
}

std::string describe_nics(const GpuNodesTopology& t) {
  const std::string nics =
      t.nics_per_node == t.gpus_per_node
          ? fmt::format("a NIC of {} per GPU", describe_link(t.nic))
          : fmt::format("{} NIC{} of {} per node, each shared by {} GPUs", t.nics_per_node,
                        t.nics_per_node == 1 ? "" : "s", describe_link(t.nic), t.gpus_per_nic());
  switch (t.gpu_to_nic) {
    case GpuToNic::direct:
      return nics;
    case GpuToNic::nvlink:
      return nics + " through the node switch";
    case GpuToNic::pcie:
      return fmt::format("{} over PCIe {}", nics, describe_link(t.pcie));
  }
  return nics;
}

std::string describe_tree(const FatTreeSpec& t, std::string_view members) {
  if (t.leaves <= 1) return "";
  return fmt::format(", {} leaves of {} {}, leaf uplinks {}", t.leaves, t.per_leaf, members,
                     format_bandwidth(t.leaf_uplink_bandwidth()));
}

}  // namespace

namespace {

// "; sites: region eu (hosts 0, 1, 4; uplink 1 Gbps / 10 ms; aggregator 4), ..."
std::string describe_sites(const StarTopology& t) {
  std::string out;
  for (std::size_t k = 0; k < t.sites.size(); ++k) {
    std::string hosts;
    for (int h = 0; h < t.hosts; ++h) {
      if (t.site(h) == static_cast<int>(k)) hosts += fmt::format("{}{}", hosts.empty() ? "" : ", ", h);
    }
    out += fmt::format("{}{} (hosts {}; uplink {}; aggregator {})", out.empty() ? "; sites: " : ", ",
                       t.sites[k].name, hosts, describe_link(t.sites[k].uplink), t.sites[k].aggregator);
  }
  return out;
}

// "edge of 1000 clients in 2 classes: phone-4g ×600 (5 Mbps up, 20 Mbps down / 40 ms, region eu),
// ...; server link 10 Gbps / 1 ms"
std::string describe_edge(const Platform& p, const StarTopology& t) {
  std::string classes;
  for (const HostClass& c : p.host_classes) {
    classes += fmt::format("{}{} ×{} ({}{})", classes.empty() ? "" : ", ", c.name, c.count,
                           describe_link(c.link), c.region.empty() ? "" : ", region " + c.region);
  }
  std::string aggregators;  // "; aggregators: eu (WAN 1 Gbps / 30 ms, link 10 Gbps / 1 ms), ..."
  for (const StarTopology::Site& site : t.sites) {
    aggregators +=
        fmt::format("{}{} (WAN {}, link {})", aggregators.empty() ? "; aggregators: " : ", ", site.name,
                    describe_link(site.uplink), describe_link(t.link_of(site.aggregator)));
  }
  return fmt::format("edge of {} clients in {} class{}: {}{}; server link {}",
                     t.hosts - 1 - static_cast<int>(t.sites.size()), p.host_classes.size(),
                     p.host_classes.size() == 1 ? "" : "es", classes, aggregators, describe_link(t.link));
}

}  // namespace

std::string Platform::describe() const {
  const std::string network = std::visit(
      Overloaded{
          [this](const StarTopology& t) {
            if (!host_classes.empty()) return describe_edge(*this, t);
            return fmt::format("star of {} hosts, links {}{}{}{}", t.hosts, describe_link(t.link),
                               describe_exceptions(t.host_links), describe_sites(t),
                               shared_cores > 0 ? fmt::format(", sharing {} cores", shared_cores) : "");
          },
          [](const FatTreeTopology& t) {
            return fmt::format("fat-tree of {} hosts, host links {}{}{}", t.hosts(),
                               describe_link(t.host_link), describe_exceptions(t.host_links),
                               describe_tree(t.tree, "hosts"));
          },
          [](const GpuNodesTopology& t) {
            return fmt::format("{} nodes × {} GPUs, NVLink {} per GPU, {}{}", t.nodes, t.gpus_per_node,
                               describe_link(t.nvlink), describe_nics(t), describe_tree(t.fabric, "nodes"));
          },
          [](const SimgridXmlTopology& t) {
            return fmt::format("SimGrid platform {}, {} hosts", t.file.filename().string(), t.hosts.size());
          },
      },
      topology);
  return fmt::format("{}: {}; {}", name, network, describe_devices());
}

std::vector<int> Platform::aggregator_hosts() const {
  std::vector<int> out;
  if (const auto* s = std::get_if<StarTopology>(&topology)) {
    for (const StarTopology::Site& site : s->sites) out.push_back(site.aggregator);
  }
  return out;
}

int Platform::host_count() const {
  return std::visit(Overloaded{
                        [](const StarTopology& s) { return s.hosts; },
                        [](const FatTreeTopology& f) { return f.hosts(); },
                        [](const GpuNodesTopology& g) { return g.hosts(); },
                        [](const SimgridXmlTopology& x) { return static_cast<int>(x.hosts.size()); },
                    },
                    topology);
}

const HostClass* Platform::class_of(int host) const {
  for (const HostClass& c : host_classes) {
    if (host >= c.first && host < c.first + c.count) return &c;
  }
  return nullptr;
}

namespace {

// Where `host` is in its class's period at time t: 0 when its online window opens. A phase within
// rounding of a whole period is the next window's start (next_online's answer must be online).
double availability_phase(const Platform& p, const HostClass& c, int host, double t) {
  const double u = availability_offset(p.population_seed, static_cast<std::uint64_t>(host));
  const double offset = c.start < 0 ? u * c.period : c.start + (u - 0.5) * c.jitter;
  double phase = std::fmod(t - offset, c.period);
  if (phase < 0) phase += c.period;
  return phase >= c.period * (1 - 1e-12) ? 0 : phase;
}

}  // namespace

std::optional<double> Platform::online_until(int host, double t) const {
  if (const auto traced = host_windows.find(host); traced != host_windows.end()) {
    const auto& windows = traced->second;  // the first window that has not ended by t
    const auto w = std::upper_bound(windows.begin(), windows.end(), t,
                                    [](double time, const auto& window) { return time < window.second; });
    if (w != windows.end() && w->first <= t) return w->second;
    return std::nullopt;
  }
  const HostClass* c = class_of(host);
  if (c == nullptr || c->period <= 0 || c->online >= c->period)
    return std::numeric_limits<double>::infinity();
  const double phase = availability_phase(*this, *c, host, t);
  if (phase < c->online) return t + (c->online - phase);
  return std::nullopt;
}

double Platform::next_online(int host, double t) const {
  if (online_until(host, t)) return t;
  if (const auto traced = host_windows.find(host); traced != host_windows.end()) {
    const auto& windows = traced->second;  // never again after its last window
    const auto w = std::upper_bound(windows.begin(), windows.end(), t,
                                    [](double time, const auto& window) { return time < window.first; });
    return w == windows.end() ? std::numeric_limits<double>::infinity() : w->first;
  }
  const HostClass& c = *class_of(host);
  return t + (c.period - availability_phase(*this, c, host, t));
}

std::string Platform::topology_name() const {
  return std::visit(Overloaded{
                        [this](const StarTopology&) { return host_classes.empty() ? "star" : "edge"; },
                        [](const FatTreeTopology&) { return "fat-tree"; },
                        [](const GpuNodesTopology&) { return "gpu-nodes"; },
                        [](const SimgridXmlTopology&) { return "simgrid-xml"; },
                    },
                    topology);
}

int Platform::devices_per_node() const {
  if (const auto* g = std::get_if<GpuNodesTopology>(&topology)) return g->gpus_per_node;
  return 1;
}

int Platform::nic_of(int host) const {
  if (const auto* g = std::get_if<GpuNodesTopology>(&topology)) {
    return host / g->gpus_per_node * g->nics_per_node + host % g->gpus_per_node / g->gpus_per_nic();
  }
  if (std::holds_alternative<SimgridXmlTopology>(topology)) return -1;
  return host;
}

std::optional<PathParams> Platform::path(int a, int b, int sending, int receiving) const {
  return std::visit(
      Overloaded{
          [&](const StarTopology& s) -> std::optional<PathParams> {
            const LinkSpec &la = s.link_of(a), &lb = s.link_of(b);
            PathParams p{la.delay() + lb.delay(), std::min(la.up() / sending, lb.down() / receiving)};
            const int site_a = s.site(a), site_b = s.site(b);
            if (site_a == site_b) return p;
            if (site_a >= 0) {  // out of a's site over its uplink
              const LinkSpec& u = s.sites[static_cast<std::size_t>(site_a)].uplink;
              p.latency += u.delay();
              p.bandwidth = std::min(p.bandwidth, u.up() / sending);
            }
            if (site_b >= 0) {  // into b's site over its uplink
              const LinkSpec& u = s.sites[static_cast<std::size_t>(site_b)].uplink;
              p.latency += u.delay();
              p.bandwidth = std::min(p.bandwidth, u.down() / receiving);
            }
            return p;
          },
          [&](const FatTreeTopology& f) -> std::optional<PathParams> {
            return tree_path(f.tree, f.host_link_of(a), f.host_link_of(b), a / f.tree.per_leaf,
                             b / f.tree.per_leaf, sending, receiving);
          },
          [&](const GpuNodesTopology& g) -> std::optional<PathParams> {
            const int node_a = a / g.gpus_per_node, node_b = b / g.gpus_per_node;
            if (node_a == node_b) {  // the ports into the node switch
              return PathParams{2 * g.nvlink.delay(),
                                std::min(g.nvlink.up() / sending, g.nvlink.down() / receiving)};
            }
            PathParams p = tree_path(g.fabric, g.nic, g.nic, node_a / g.fabric.per_leaf,
                                     node_b / g.fabric.per_leaf, sending, receiving);
            if (const LinkSpec* l = g.gpu_to_nic_link()) {  // at both ends, a GPU's own
              p.latency += 2 * l->delay();
              p.bandwidth = std::min({p.bandwidth, l->up(), l->down()});
            }
            return p;
          },
          [](const SimgridXmlTopology&) -> std::optional<PathParams> { return std::nullopt; },
      },
      topology);
}

std::vector<std::string_view> platform_fields() {
  std::vector<std::string_view> out;
  for (const auto fields :
       {std::span<const std::string_view>(kStarFields), std::span<const std::string_view>(kFatTreeFields),
        std::span<const std::string_view>(kGpuNodesFields),
        std::span<const std::string_view>(kSimgridXmlFields), edge_platform_fields()}) {
    out.insert(out.end(), fields.begin(), fields.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Platform parse_platform(const ConfigNode& node) {
  Platform p;
  p.source = node.file();
  const std::string type = node.string("topology");
  if (type == "edge") {
    parse_edge_platform(node, p);
    p.name = node.string_or("name", "edge");
    p.tcp_acks = node.boolean_or("tcp_acks", false);
    p.sources = parse_sources(node);
    return p;
  }
  if (type == "star") {
    node.expect_only(kStarFields);
    StarTopology s;
    s.hosts = static_cast<int>(node.integer_in("hosts", 1, kMaxHosts));
    s.link = parse_link(node.at("link"));
    s.host_links = parse_host_links(node, s.hosts);
    parse_star_sites(node, s);
    p.topology = s;
  } else if (type == "fat-tree") {
    node.expect_only(kFatTreeFields);
    FatTreeTopology f;
    const int hosts = static_cast<int>(node.integer_in("hosts", 1, kMaxHosts));
    f.host_link = parse_link(node.at("host_link"));
    f.host_links = parse_host_links(node, hosts);
    // What can leave a leaf is what its hosts send up.
    f.tree = parse_tree(node, "hosts_per_leaf", f.host_link.up(), hosts);
    p.topology = f;
  } else if (type == "gpu-nodes") {
    node.expect_only(kGpuNodesFields);
    GpuNodesTopology g;
    g.nodes = static_cast<int>(node.integer_in("nodes", 1, kMaxHosts));
    g.gpus_per_node = static_cast<int>(node.integer_in("gpus_per_node", 1, 1024));
    g.nics_per_node = static_cast<int>(node.integer_in_or("nics_per_node", 1, 1024, g.gpus_per_node));
    if (g.gpus_per_node % g.nics_per_node != 0) {
      node.at("nics_per_node")
          .fail(fmt::format("must divide gpus_per_node ({}): each NIC serves the same number of GPUs",
                            g.gpus_per_node));
    }
    g.nvlink = parse_link(node.at("nvlink"));
    g.nic = parse_link(node.at("nic"));
    g.gpu_to_nic = parse_gpu_to_nic(node);
    if (g.gpu_to_nic == GpuToNic::pcie) {
      g.pcie = parse_link(node.at("pcie"));
    } else if (node.has("pcie")) {
      node.at("pcie").fail("is used only with 'gpu_to_nic: pcie'");
    }
    if (const auto fabric = node.find("fabric")) {
      fabric->expect_only({"nodes_per_leaf", "spines", "spine_link", "oversubscription", "spine_latency"});
      g.fabric = parse_tree(*fabric, "nodes_per_leaf", g.nic.up() * g.nics_per_node, g.nodes);
    } else {
      g.fabric.per_leaf = g.nodes;  // one non-blocking switch
    }
    p.topology = g;
  } else if (type == "simgrid-xml") {
    node.expect_only(kSimgridXmlFields);
    SimgridXmlTopology x;
    const ConfigNode file = node.at("file");
    x.file = node.resolve_path(file.as_string());
    std::error_code ec;
    if (!std::filesystem::exists(x.file, ec)) file.fail(fmt::format("'{}' does not exist", x.file.string()));
    for (const ConfigNode& h : node.at("hosts").items()) x.hosts.push_back(h.as_string());
    if (x.hosts.empty()) node.at("hosts").fail("needs at least one host name");
    p.topology = x;
  } else {
    node.at("topology")
        .fail(
            fmt::format("unknown topology '{}' (known: star, fat-tree, gpu-nodes, simgrid-xml, edge)", type));
  }
  p.name = node.string_or("name", p.topology_name());
  p.device = load_device(node.at("device"));
  p.host_devices = parse_per_host<DeviceProfile>(node, "host_devices", p.host_count(), "a device",
                                                 [](const ConfigNode& value) { return load_device(value); });
  p.tcp_acks = node.boolean_or("tcp_acks", false);
  p.collective_launch = node.duration_or("collective_launch", 0.0);
  p.sources = parse_sources(node);
  p.shared_cores = static_cast<int>(node.integer_in_or("shared_cores", 1, 4096, 0));
  return p;
}

Platform load_platform(const std::filesystem::path& file) {
  const ConfigNode root = ConfigNode::load_file(file);
  root.expect_only({"platform"});
  return parse_platform(root.at("platform"));
}

}  // namespace dmlsim::core
