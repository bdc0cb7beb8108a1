#pragma once
// The machine a run happens on: its network topology and the device in every host. Parsed from
// platforms/*.yaml; the simulator builds a SimGrid platform from it, the real testbed shapes its
// links from it, and the closed forms read path latency and bandwidth from it.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/config_node.hpp"
#include "core/device.hpp"

namespace dmlsim::core {

// A full-duplex link between a member (host, GPU, leaf) and the switch above it. Its two
// directions may differ (an edge client's uplink is slower than its downlink): `up` is from the
// member toward the switch, `down` toward the member.
//
// `bandwidth` and `latency` are the hardware's (a datasheet's line rate, what `tc` shapes on the
// testbed); `efficiency` and `overhead` are what the communication library makes of them, fitted
// to measurements (NCCL's ring on a DGX A100's 300 GB/s NVLink ports moves about 78 % of that).
// Every transfer — in the simulator and in the closed forms — sees `up()`/`down()` and `delay()`.
struct LinkSpec {
  double bandwidth = 0;     // bytes/s down, and up too unless `up_bandwidth` is set
  double latency = 0;       // seconds, each direction
  double up_bandwidth = 0;  // bytes/s up; 0: the same as `bandwidth`
  double efficiency = 1;    // fraction of the line rate that transfers reach, in (0, 1]
  double overhead = 0;      // seconds every message crossing the link pays on top of `latency`

  double nominal_up() const { return up_bandwidth > 0 ? up_bandwidth : bandwidth; }
  double up() const { return nominal_up() * efficiency; }
  double down() const { return bandwidth * efficiency; }
  double delay() const { return latency + overhead; }
  bool asymmetric() const { return up() != down(); }
};

// Leaf switches joined by spines. Hosts (or GPU nodes) hang off leaves. Every leaf has one link to
// every spine; routing spreads traffic evenly over the spines (ideal ECMP), so the spines of a leaf
// act as one uplink of spines × spine_link.bandwidth. Oversubscription = downlink / uplink capacity.
struct FatTreeSpec {
  int leaves = 1;
  int per_leaf = 1;  // hosts (or GPU nodes) per leaf
  int spines = 0;
  LinkSpec spine_link;  // one leaf–spine link

  double leaf_uplink_bandwidth() const { return spines * spine_link.down(); }
};

// Per-host exceptions to a topology's host link (`host_links: {3: {bandwidth: 1Gbps, latency:
// 10us}}`, or a range of hosts `"4-7": {...}`): a worker behind a slower or longer link, to study
// stragglers.
using HostLinks = std::map<int, LinkSpec>;

// N hosts, each with a private full-duplex link into one non-blocking switch; or two levels of
// stars (an edge platform with regional aggregators): the hosts of a site sit behind the site's own
// switch and reach the hosts outside it over the site's uplink into the core switch.
struct StarTopology {
  struct Site {
    std::string name;     // "region eu"
    LinkSpec uplink;      // between the site's switch and the core (a region's WAN path)
    int aggregator = -1;  // the host that aggregates the site's clients (edge platforms)
  };
  int hosts = 0;
  LinkSpec link;
  HostLinks host_links;
  std::vector<Site> sites;   // empty: one switch
  std::vector<int> site_of;  // per host when there are sites: its site, or −1 in the core
  const LinkSpec& link_of(int host) const;
  int site(int host) const { return site_of.empty() ? -1 : site_of[static_cast<std::size_t>(host)]; }
};

// Two-level fat-tree of single-device hosts. Oversubscription given as a ratio is computed from
// `host_link` (the default), not from per-host exceptions.
struct FatTreeTopology {
  FatTreeSpec tree;
  LinkSpec host_link;
  HostLinks host_links;
  int hosts() const { return tree.leaves * tree.per_leaf; }
  const LinkSpec& host_link_of(int host) const;
};

// How a GPU reaches its NIC: `direct` (the NIC is the GPU's own port; nothing else on the way),
// `nvlink` (through the GPU's port into the node switch, which intra-node traffic also uses) or
// `pcie` (through a PCIe link of the GPU's own).
enum class GpuToNic { direct, nvlink, pcie };

// Nodes of several GPUs joined by an NVLink-class switch (one link per GPU into it), and NICs into
// a fat-tree: one per GPU (rail-style: GPU j of a node uses NIC j, no PXN forwarding), or fewer
// shared by the node's GPUs (GPU j uses NIC j / gpus_per_nic(), the GPUs nearest to it).
struct GpuNodesTopology {
  int nodes = 0;
  int gpus_per_node = 0;
  int nics_per_node = 0;  // divides gpus_per_node
  LinkSpec nvlink;        // one GPU's port into the node switch
  LinkSpec nic;           // one NIC into its leaf
  GpuToNic gpu_to_nic = GpuToNic::direct;
  LinkSpec pcie;  // one GPU's link to its NIC, when gpu_to_nic is pcie
  FatTreeSpec fabric;
  int hosts() const { return nodes * gpus_per_node; }
  int gpus_per_nic() const { return gpus_per_node / nics_per_node; }
  // The link a GPU's traffic to and from its NIC crosses before the NIC; nullptr for `direct`.
  const LinkSpec* gpu_to_nic_link() const;
};

// A raw SimGrid platform file; ranks go to `hosts` in order.
struct SimgridXmlTopology {
  std::filesystem::path file;
  std::vector<std::string> hosts;
};

using Topology = std::variant<StarTopology, FatTreeTopology, GpuNodesTopology, SimgridXmlTopology>;

// The latency and bottleneck bandwidth of the path from one host to another when nothing else uses
// it (the sender's uplink and the receiver's downlink where they differ).
struct PathParams {
  double latency = 0;
  double bandwidth = 0;
};

// Hosts first..first+count−1 of a platform form a class (an edge topology's client classes).
struct HostClass {
  std::string name;
  int first = 0;
  int count = 0;
  std::string region;  // empty when the platform has no regions
  LinkSpec link;       // as the class gives it (each host's own may be spread around it)
  // When its hosts are online: `online` seconds of every `period`, each host's window opening at
  // its own time: uniformly within `jitter` around `start` (phones that charge overnight in one time
  // zone), or anywhere in the period when `start` is negative. period 0: always online.
  double period = 0;
  double online = 0;
  double start = -1;
  double jitter = 0;
};

struct Platform {
  std::string name;
  std::string source;  // file it came from
  Topology topology;
  DeviceProfile device;  // of every host but those in host_devices
  // Hosts of another device class (`host_devices: {"8-15": cpu}`): a platform may mix GPUs, CPUs
  // and edge devices.
  std::map<int, DeviceProfile> host_devices;
  // The network runs over TCP: every flow also loads its reverse path with its acknowledgements.
  // The simulator then turns on SimGrid's cross-traffic (the reverse path carries 5 % of each
  // flow); `dmlsim calibrate` sets it for the testbed it measured.
  bool tcp_acks = false;
  // The hosts are network namespaces of one machine with this many cores (the testbed): ranks
  // computing at once share them, each kernel on at most one core (OpenBLAS on one thread), as
  // SimGrid shares a multicore host. 0: every host computes on its own device. A star only;
  // `dmlsim calibrate` sets it, with kernels timed one rank at a time.
  int shared_cores = 0;
  // Seconds every collective over two or more ranks costs before its first message: the
  // communication library's kernel launch and setup, once per call whatever the size (NCCL on a
  // DGX: 6–10 µs, most of a small all-reduce). Simulator and closed forms both charge it.
  double collective_launch = 0;
  std::vector<FigureSource> sources;  // where its figures come from (sources.hpp)
  // Named classes of hosts (`topology: edge`, edge_platform.hpp); empty for other topologies.
  std::vector<HostClass> host_classes;
  std::uint64_t population_seed = 1;  // an edge platform's `seed`: spreads and availability offsets
  // Online windows [from, to) of the hosts whose class reads them from an availability trace
  // (availability_trace.hpp), in time order; a host of such a class that the trace does not list
  // is always online.
  std::map<int, std::vector<std::pair<double, double>>> host_windows;

  int host_count() const;
  // The hosts of an edge platform's regional aggregators, in region order (empty without them).
  std::vector<int> aggregator_hosts() const;
  // The class of `host`, or nullptr.
  const HostClass* class_of(int host) const;
  // The end of the online window `host` is in at time `t` (infinity for hosts always online), or
  // nullopt when it is offline then; and the first time from `t` on when it is online.
  std::optional<double> online_until(int host, double t) const;
  double next_online(int host, double t) const;
  // The figures of the platform and of its devices that their files say are assumed
  // ("platform.nic.efficiency", "device.efficiency.compute"); empty when none is.
  std::vector<std::string> assumed_figures() const;
  // "platform NAME: …" (describe()), and on a second line the assumed figures when there are.
  std::string header() const;
  const DeviceProfile& device_of(int host) const;
  // "H100-SXM5-80GB", or with several classes "H100-SXM5-80GB ×6, generic-cpu-2core ×2".
  std::string describe_devices() const;
  // The key figures in one line, in the units a user checks (so that 100GBps written for 100Gbps
  // shows as 800 Gbps at a glance): topology, hosts, link rates and latencies, devices.
  std::string describe() const;
  std::string topology_name() const;
  // Ranks per node for hierarchical algorithms (1 where the topology has no nodes).
  int devices_per_node() const;
  int node_of(int host) const { return host / devices_per_node(); }
  // The NIC a host's traffic to other nodes leaves by: the host's own link on a star or fat-tree,
  // one of its node's NICs on GPU nodes. Numbered over the platform; -1 for SimGrid XML.
  int nic_of(int host) const;
  // Analytic path parameters from host a to host b != a; nullopt for SimGrid XML (only the
  // simulator knows those routes). `sending` flows (this one included) share a's port on the way
  // out and `receiving` flows share b's port on the way in, each getting an equal share (SimGrid's
  // max-min sharing of equal flows): the NICs where the path leaves a's node, the GPUs' ports into
  // the node switch inside a node.
  std::optional<PathParams> path(int a, int b, int sending = 1, int receiving = 1) const;
};

// A link mapping: `{bandwidth, latency}` or `{up, down, latency}`, with optional `efficiency` and
// `overhead`.
LinkSpec parse_link(const ConfigNode& node);

// Every field a platform of some topology may have.
std::vector<std::string_view> platform_fields();

// Reads the `platform:` mapping of a platform file.
Platform parse_platform(const ConfigNode& node);
Platform load_platform(const std::filesystem::path& file);

}  // namespace dmlsim::core
