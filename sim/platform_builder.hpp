#pragma once
// Builds the SimGrid platform of a core::Platform with the S4U zone API (SimGrid 3.32):
//   star        one star zone; host i has a split-duplex link "host<i>" into the switch.
//   fat-tree    a star zone per leaf (hosts with their links, plus a gateway router), joined in a
//               star "fabric" zone where each leaf has one split-duplex uplink "leaf<l>.uplink"
//               of spines × spine-link bandwidth (ideal ECMP over the spines).
//   gpu-nodes   a full zone per node: GPU j reaches GPU k over "node<n>.gpu<j>.nvlink" UP then
//               "node<n>.gpu<k>.nvlink" DOWN, and leaves the node through its own NIC
//               "node<n>.gpu<j>.nic"; nodes hang off leaves as in the fat-tree.
//   simgrid-xml the file is loaded as is.
// Zones keep routing O(hosts): a 16 384-GPU platform has no per-pair route table.
#include <vector>

#include "core/platform.hpp"

namespace simgrid::s4u {
class Engine;
class Host;
}  // namespace simgrid::s4u

namespace dmlsim::sim {

// The host whose cores the ranks of a `shared_cores` platform compute on (a star zone member with
// no link: it never communicates), and its speed per core.
inline constexpr const char* kSharedCoresHost = "shared-cores";
inline constexpr double kSharedCoreFlops = 1e9;

// Creates the platform in `engine` (before it runs) and returns the hosts in platform order.
std::vector<simgrid::s4u::Host*> build_platform(simgrid::s4u::Engine& engine, const core::Platform& platform);

}  // namespace dmlsim::sim
