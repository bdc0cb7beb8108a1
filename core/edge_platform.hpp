#pragma once
// `topology: edge` — a federated population: clients in classes (a phone on 4G, a laptop on home
// broadband, a hospital's server on a leased line), each class with its count, access link (up and
// down rates, latency), device and region, and one server in a data centre. The WAN core adds a
// latency per region to the path between the server and a region's clients.
//
//   platform:
//     topology: edge
//     server: {link: {bandwidth: 10Gbps, latency: 1ms}, device: cpu}
//     regions: {eu: 10ms, asia: 90ms}          # optional: one-way core latency to the server
//     classes:
//       phone-4g:   {count: 600, link: {down: 20Mbps, up: 5Mbps, latency: 40ms}, device: phone, region: eu}
//       laptop-wifi: {count: 400, link: {down: 100Mbps, up: 20Mbps, latency: 15ms}, device: cpu,
//                     spread: {compute: 0.3, bandwidth: 0.5}, availability: {period: 24h, online: 8h}}
//     seed: 1                                  # the spreads' draws
//
// The clients are hosts 0..N−1 in class order and the server is host N, so that a federated
// experiment's clients (ranks 0..N−1) and server (the last rank) land there by default.
//
// Regions may instead each have an aggregator (an edge server for hierarchical FL):
//     regions: {eu: {wan: {bandwidth: 1Gbps, latency: 10ms}, aggregator: {link: {...}, device: cpu}}}
// Then the platform has two levels: a region's clients and its aggregator sit behind the region's
// switch, which reaches the core (and the server) over the region's `wan` link; every class needs a
// region, and every region an aggregator. Hosts: the clients, the aggregators N..N+R−1 in region
// order, the server last. `spread`
// gives each client of a class its own speed: its device's rates and its link's rates multiplied
// by a log-normal factor of median 1 and the given σ, drawn from the seed and the host.
// `availability: {period: 24h, online: 8h, start: 22h, jitter: 2h}` puts each client of the class
// online for `online` of every `period`, its window opening at a time drawn uniformly within
// `jitter` around `start` (without `start`: anywhere in the period) from the seed and the host — a
// diurnal pattern per class, time zones as classes with their own start. A federated server
// selects only online clients, and a client whose window closes mid-task drops.
//
// It is built as a star (StarTopology with a link and a device per host; with aggregators, its
// sites), so the simulator and the closed forms need nothing new, and the namespace testbed takes
// the one-level star; Platform::host_classes keeps the classes.
#include "core/config_node.hpp"
#include "core/platform.hpp"

namespace dmlsim::core {

std::span<const std::string_view> edge_platform_fields();
// Fills `platform`'s topology, device, host devices and host classes from `node`.
void parse_edge_platform(const ConfigNode& node, Platform& platform);

// A log-normal factor of median 1 and parameter `sigma`, from a seed and a key (portable).
double lognormal_factor(std::uint64_t seed, std::uint64_t key, double sigma);
// Where host `key`'s online window starts, as a fraction of its class's period, in [0, 1).
double availability_offset(std::uint64_t seed, std::uint64_t key);

}  // namespace dmlsim::core
