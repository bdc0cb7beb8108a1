#include "sim/platform_builder.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>

#include "core/errors.hpp"

namespace dmlsim::sim {
namespace {

namespace sg = simgrid::s4u;
using Direction = sg::LinkInRoute::Direction;

// Compute is costed by the device model (SimRank sleeps), so a host's speed only labels it.
double host_speed(const core::DeviceProfile& device) {
  return device.peak(core::DType::fp32).value_or(1e9);
}

// Its UP half carries what the member sends, its DOWN half what it receives.
sg::SplitDuplexLink* make_link(sg::NetZone* zone, const std::string& name, const core::LinkSpec& spec) {
  auto* link = zone->create_split_duplex_link(name, spec.down());
  if (spec.asymmetric()) link->get_link_up()->set_bandwidth(spec.up());
  link->set_latency(spec.delay());
  link->seal();
  return link;
}

// A member of a star zone (host, router or sub-zone) whose private link is `link` (or none).
void attach(sg::NetZone* star, simgrid::kernel::routing::NetPoint* member,
            simgrid::kernel::routing::NetPoint* gateway, sg::SplitDuplexLink* link) {
  std::vector<sg::LinkInRoute> links;
  if (link != nullptr) links.emplace_back(link, Direction::UP);
  star->add_route(member, nullptr, gateway, nullptr, links, true);
}

// One GPU node: a full zone of G hosts and a gateway router standing for the node's NICs. GPU j
// leaves the node through NIC j / gpus_per_nic, reached directly or over its NVLink port or its own
// PCIe link (GpuToNic).
std::pair<sg::NetZone*, simgrid::kernel::routing::NetPoint*> build_gpu_node(sg::NetZone* parent,
                                                                            const core::GpuNodesTopology& g,
                                                                            int node,
                                                                            const core::Platform& platform,
                                                                            std::vector<sg::Host*>& hosts) {
  auto* zone = sg::create_full_zone(fmt::format("node{}", node));
  zone->set_parent(parent);
  auto* gateway = zone->create_router(fmt::format("node{}.nics", node));
  // The node's links belong to the root zone, not to the node's: SimGrid checks that a new link's
  // name is unused by searching every zone from the root, each zone's links by name, so links
  // spread over 2048 node zones made building a 16 384-GPU platform quadratic (8 of its 16 s).
  // Routes may use links of any zone, and a link's zone changes nothing in the simulation.
  sg::NetZone* link_zone = sg::Engine::get_instance()->get_netzone_root();
  std::vector<sg::Host*> gpus;
  std::vector<sg::SplitDuplexLink*> nvlinks, pcie, nics;
  for (int j = 0; j < g.gpus_per_node; ++j) {
    const double speed = host_speed(platform.device_of(node * g.gpus_per_node + j));
    gpus.push_back(zone->create_host(fmt::format("node{}.gpu{}", node, j), speed)->seal());
    nvlinks.push_back(make_link(link_zone, fmt::format("node{}.gpu{}.nvlink", node, j), g.nvlink));
    if (g.gpu_to_nic == core::GpuToNic::pcie)
      pcie.push_back(make_link(link_zone, fmt::format("node{}.gpu{}.pcie", node, j), g.pcie));
  }
  for (int k = 0; k < g.nics_per_node; ++k) {
    // One NIC per GPU keeps the name it always had.
    nics.push_back(make_link(link_zone,
                             g.gpus_per_nic() == 1 ? fmt::format("node{}.gpu{}.nic", node, k)
                                                   : fmt::format("node{}.nic{}", node, k),
                             g.nic));
  }
  for (int j = 0; j < g.gpus_per_node; ++j) {
    for (int k = 0; k < g.gpus_per_node; ++k) {
      if (j == k) continue;
      zone->add_route(gpus[j]->get_netpoint(), gpus[k]->get_netpoint(), nullptr, nullptr,
                      {{nvlinks[j], Direction::UP}, {nvlinks[k], Direction::DOWN}}, false);
    }
    sg::SplitDuplexLink* nic = nics[static_cast<std::size_t>(j / g.gpus_per_nic())];
    sg::SplitDuplexLink* to_nic = g.gpu_to_nic == core::GpuToNic::nvlink ? nvlinks[j]
                                  : g.gpu_to_nic == core::GpuToNic::pcie ? pcie[j]
                                                                         : nullptr;
    std::vector<sg::LinkInRoute> out, in;
    if (to_nic != nullptr) out.emplace_back(to_nic, Direction::UP);
    out.emplace_back(nic, Direction::UP);
    in.emplace_back(nic, Direction::DOWN);
    if (to_nic != nullptr) in.emplace_back(to_nic, Direction::DOWN);
    zone->add_route(gpus[j]->get_netpoint(), gateway, nullptr, nullptr, out, false);
    zone->add_route(gateway, gpus[j]->get_netpoint(), nullptr, nullptr, in, false);
  }
  zone->seal();
  hosts.insert(hosts.end(), gpus.begin(), gpus.end());
  return {zone, gateway};
}

// The router through which a leaf reaches the spines. SimGrid 3.32 resolves a route between zones
// only when the gateway sits in the same zone as the source, or in a sibling zone of the source's
// zone: hosts share the leaf zone with a plain router; GPU nodes (zones) need the router wrapped
// in a zone of its own beside them.
simgrid::kernel::routing::NetPoint* make_leaf_gateway(sg::NetZone* leaf, int l, bool members_are_zones) {
  const std::string name = fmt::format("leaf{}.switch", l);
  if (!members_are_zones) {
    auto* router = leaf->create_router(name);
    attach(leaf, router, nullptr, nullptr);
    return router;
  }
  auto* zone = sg::create_star_zone(name);
  zone->set_parent(leaf);
  auto* router = zone->create_router(name + ".port");
  attach(zone, router, nullptr, nullptr);
  zone->seal();
  attach(leaf, zone->get_netpoint(), router, nullptr);
  return router;
}

// Leaves of `members` each (hosts or GPU nodes, added by `add_member`), joined by spines when there
// is more than one leaf. `add_member(leaf_zone, index)` attaches member `index` to the leaf.
template <typename AddMember>
void build_leaves(const core::FatTreeSpec& tree, bool members_are_zones, AddMember add_member) {
  sg::NetZone* fabric = nullptr;
  if (tree.leaves > 1) fabric = sg::create_star_zone("fabric");
  for (int l = 0; l < tree.leaves; ++l) {
    auto* leaf = sg::create_star_zone(tree.leaves > 1 ? fmt::format("leaf{}", l) : "switch");
    if (fabric != nullptr) leaf->set_parent(fabric);
    for (int m = 0; m < tree.per_leaf; ++m) add_member(leaf, l * tree.per_leaf + m);
    if (fabric != nullptr) {
      auto* gateway = make_leaf_gateway(leaf, l, members_are_zones);
      leaf->seal();
      const core::LinkSpec uplink{tree.leaf_uplink_bandwidth(), tree.spine_link.delay()};
      attach(fabric, leaf->get_netpoint(), gateway,
             make_link(fabric, fmt::format("leaf{}.uplink", l), uplink));
    } else {
      leaf->seal();
    }
  }
  if (fabric != nullptr) fabric->seal();
}

// A two-level star: each site a star zone of its hosts and a router (its switch), joined to the core
// switch by the site's uplink; each host outside the sites a zone of its own, itself the gateway,
// joined by its link. (SimGrid 3.32 routes a star zone's members wrongly when hosts and zones are
// members of one zone — their netpoints' ids collide —, so the core zone has zones only.)
template <typename AddHost>
void build_sites(sg::NetZone* core, const core::StarTopology& s, const core::Platform& platform,
                 AddHost add_host, std::vector<sg::Host*>& hosts) {
  std::vector<sg::Host*> ordered(static_cast<std::size_t>(s.hosts), nullptr);
  const auto place = [&](int i) {  // add_host appends; keep host i at index i
    ordered[static_cast<std::size_t>(i)] = hosts.back();
    hosts.pop_back();
  };
  for (std::size_t k = 0; k < s.sites.size(); ++k) {
    auto* site = sg::create_star_zone(fmt::format("site{}", k));
    site->set_parent(core);
    for (int i = 0; i < s.hosts; ++i) {
      if (s.site(i) != static_cast<int>(k)) continue;
      add_host(site, i, s.link_of(i));
      place(i);
    }
    auto* router = site->create_router(fmt::format("site{}.switch", k));
    attach(site, router, nullptr, nullptr);
    site->seal();
    attach(core, site->get_netpoint(), router,
           make_link(core, fmt::format("site{}.uplink", k), s.sites[k].uplink));
  }
  for (int i = 0; i < s.hosts; ++i) {
    if (s.site(i) >= 0) continue;
    auto* zone = sg::create_star_zone(fmt::format("host{}.zone", i));
    zone->set_parent(core);
    auto* host = zone->create_host(fmt::format("host{}", i), host_speed(platform.device_of(i)))->seal();
    attach(zone, host->get_netpoint(), nullptr, nullptr);
    zone->seal();
    attach(core, zone->get_netpoint(), host->get_netpoint(),
           make_link(core, fmt::format("host{}", i), s.link_of(i)));
    ordered[static_cast<std::size_t>(i)] = host;
  }
  hosts.insert(hosts.end(), ordered.begin(), ordered.end());
}

}  // namespace

std::vector<sg::Host*> build_platform(sg::Engine& engine, const core::Platform& platform) {
  std::vector<sg::Host*> hosts;
  auto add_host = [&](sg::NetZone* zone, int i, const core::LinkSpec& spec) {
    auto* host = zone->create_host(fmt::format("host{}", i), host_speed(platform.device_of(i)))->seal();
    attach(zone, host->get_netpoint(), nullptr, make_link(zone, fmt::format("host{}", i), spec));
    hosts.push_back(host);
  };
  if (const auto* s = std::get_if<core::StarTopology>(&platform.topology)) {
    auto* zone = sg::create_star_zone("switch");
    if (!s->sites.empty()) {
      build_sites(zone, *s, platform, add_host, hosts);
    } else {
      for (int i = 0; i < s->hosts; ++i) add_host(zone, i, s->link_of(i));
    }
    if (platform.shared_cores > 0)
      zone->create_host(kSharedCoresHost, kSharedCoreFlops)->set_core_count(platform.shared_cores)->seal();
    zone->seal();
  } else if (const auto* f = std::get_if<core::FatTreeTopology>(&platform.topology)) {
    build_leaves(f->tree, false, [&](sg::NetZone* leaf, int i) { add_host(leaf, i, f->host_link_of(i)); });
  } else if (const auto* g = std::get_if<core::GpuNodesTopology>(&platform.topology)) {
    build_leaves(g->fabric, true, [&](sg::NetZone* leaf, int node) {
      const auto [zone, gateway] = build_gpu_node(leaf, *g, node, platform, hosts);
      attach(leaf, zone->get_netpoint(), gateway, nullptr);
    });
  } else {
    const auto& x = std::get<core::SimgridXmlTopology>(platform.topology);
    try {
      engine.load_platform(x.file.string());
    } catch (const simgrid::ParseError& e) {
      // SimGrid says "Parse error at FILE:LINE: what"; keep FILE:LINE: what, on one line.
      std::string what = e.what();
      constexpr std::string_view kPrefix = "Parse error at ";
      if (what.starts_with(kPrefix)) what.erase(0, kPrefix.size());
      std::replace(what.begin(), what.end(), '\n', ' ');
      throw core::ConfigError(
          fmt::format("{} (the SimGrid platform of {}, field 'platform.file')", what, platform.source));
    }
    for (const std::string& name : x.hosts) {
      sg::Host* h = engine.host_by_name_or_null(name);
      if (h == nullptr) {
        throw core::ConfigError(fmt::format("{}: field 'platform.hosts': host '{}' is not in {}",
                                            platform.source, name, x.file.string()));
      }
      hosts.push_back(h);
    }
  }
  return hosts;
}

}  // namespace dmlsim::sim
