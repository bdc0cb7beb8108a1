// `dmlsim calibrate PLATFORM --model MODEL --out DIR`: measures, on the real testbed of the
// platform, what the simulator needs — point-to-point latency and effective bandwidth (ping-pong,
// 1 KiB … 64 MiB) of the platform's link and of every other class of host link it has, and the
// time of every kernel shape of the model, one rank at a time by default — and writes
// DIR/platform.yaml, the platform with those figures (every host link kept, and the machine's
// cores as shared by the hosts), plus DIR/calibration.json
// with every measurement. notes/validation.md: calibrate on micro-benchmarks only, validate on
// other workloads.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "apps/commands.hpp"
#include "apps/output.hpp"
#include "apps/run_outputs.hpp"
#include "apps/statistics.hpp"
#include "core/errors.hpp"
#include "core/experiment.hpp"
#include "core/trace_csv_reader.hpp"
#include "core/units.hpp"
#ifdef DMLSIM_HAVE_REALRUN
#include "realrun/testbed.hpp"
#include "strategies/training/microbenchmarks.hpp"
#endif

namespace dmlsim::apps {

#ifdef DMLSIM_HAVE_REALRUN
namespace {

namespace fs = std::filesystem;

struct LinkFit {
  double bandwidth = 0;     // bytes/s, from the slope over large messages
  double path_latency = 0;  // s, one-way time of the smallest message less its transfer time
  double max_residual = 0;  // largest relative error of the fit over the sizes it was fitted on
};

// One-way time t(S) = α + S/B fitted by least squares on messages of 1 MiB and more: smaller ones
// fit in the tbf bucket and pass at line rate. α comes from the smallest message instead, since
// the large-message intercept mixes α with the bucket.
LinkFit fit_link(const std::map<std::uint64_t, double>& one_way) {
  std::vector<std::pair<double, double>> points;
  for (const auto& [bytes, t] : one_way) {
    if (bytes >= (std::uint64_t{1} << 20)) points.emplace_back(static_cast<double>(bytes), t);
  }
  if (points.size() < 2)
    throw core::BackendError("calibrate: need ping-pong sizes of 1 MiB and more to fit bandwidth");
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) sx += x, sy += y, sxx += x * x, sxy += x * y;
  const double n = static_cast<double>(points.size());
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double intercept = (sy - slope * sx) / n;
  LinkFit fit;
  fit.bandwidth = 1 / slope;
  // The latency: the faster of the two smallest sizes (≤ 4 KiB, which fit in one bucket of tbf
  // and few frames), less their transfer time; two, so that one size delayed by a busy scheduler
  // does not decide it.
  fit.path_latency = std::numeric_limits<double>::infinity();
  for (const auto& [bytes, t] : one_way) {
    if (bytes <= 4 * 1024)
      fit.path_latency = std::min(fit.path_latency, t - static_cast<double>(bytes) / fit.bandwidth);
  }
  fit.path_latency = std::max(1e-6, fit.path_latency);
  for (const auto& [x, y] : points)
    fit.max_residual = std::max(fit.max_residual, std::abs(intercept + slope * x - y) / y);
  return fit;
}

// The link every host gets on the testbed (real::testbed_host_link). --local measures this
// machine's loopback, the same between any two hosts: one class then, nominally the platform's
// path between hosts 0 and 1.
std::vector<core::LinkSpec> links_of_hosts(const core::Platform& p, bool local) {
  std::vector<core::LinkSpec> links;
  const core::PathParams path = p.path(0, 1).value_or(core::PathParams{0, 1});
  for (int h = 0; h < p.host_count(); ++h)
    links.push_back(local ? core::LinkSpec{path.bandwidth, path.latency / 2} : real::testbed_host_link(p, h));
  return links;
}

bool same_link(const core::LinkSpec& a, const core::LinkSpec& b) {
  return a.down() == b.down() && a.up() == b.up() && a.delay() == b.delay();
}

// The link at its line rate: what the testbed shapes (efficiency and overhead are the fit's).
core::LinkSpec line_rate(core::LinkSpec link) {
  link.efficiency = 1;
  link.overhead = 0;
  return link;
}

// The bandwidth a ping-pong between hosts with links a and b sees: each one-way message is bound
// by the sender's up and the receiver's down link, and the fit averages the two directions' times.
double pingpong_bandwidth(const core::LinkSpec& a, const core::LinkSpec& b) {
  const double ab = std::min(a.up(), b.down()), ba = std::min(b.up(), a.down());
  return 2 / (1 / ab + 1 / ba);
}

// A fitted link as the calibrated platform writes it: the line rates and the latency of `nominal`,
// with the efficiency and the per-message overhead that the measurement adds to them. A link
// measured faster than its line rate (--local: loopback against the platform's figures) gets the
// measured rate as its line rate; one measured quicker than its latency, the measured latency.
core::LinkSpec fitted_link(const core::LinkSpec& nominal, double efficiency, double delay) {
  core::LinkSpec link = line_rate(nominal);
  if (efficiency > 1) {
    link.bandwidth *= efficiency;
    link.up_bandwidth *= efficiency;
  } else {
    link.efficiency = efficiency;
  }
  link.latency = std::min(nominal.latency, delay);
  link.overhead = delay - link.latency;
  return link;
}

// One class of host links (hosts whose links are alike): its hosts, the ping-pong that measured it
// (between `member`, one of its hosts, and `peer`, a second host of the class when there is one,
// else one of the reference class: always two hosts of one site, so that no WAN is on the way),
// the fit, and the link written to the calibrated platform.
struct LinkClass {
  core::LinkSpec nominal;
  std::vector<int> hosts;
  int member = 0;
  int peer = 0;
  LinkFit fit;
  core::LinkSpec calibrated;
};

// The site of `host` (an edge platform's region with an aggregator), −1 in the core.
int site_of(const core::Platform& p, int host) {
  const auto* star = std::get_if<core::StarTopology>(&p.topology);
  return star ? star->site(host) : -1;
}

// Two hosts of one site, the first of `members`, the second of `peers`; nullopt when no two are.
std::optional<std::pair<int, int>> pair_in_one_site(const core::Platform& p, const std::vector<int>& members,
                                                    const std::vector<int>& peers) {
  for (const int m : members) {
    for (const int q : peers) {
      if (q != m && site_of(p, q) == site_of(p, m)) return std::pair{m, q};
    }
  }
  return std::nullopt;
}

// A site's uplink (a region's WAN path) as measured by a ping-pong between a host of the site
// (`inside`) and a host of the core (`outside`), whose calibrated links are known: its efficiency
// is the one the ping-pong shows against the whole path at line rate (where a host link is the
// narrower one, the uplink is assumed to be reached as efficiently), its delay what the path's
// latency has beyond the two host links' delays.
core::LinkSpec calibrated_uplink(const core::LinkSpec& nominal, const core::LinkSpec& inside_nominal,
                                 const core::LinkSpec& inside, const core::LinkSpec& outside_nominal,
                                 const core::LinkSpec& outside, const LinkFit& fit) {
  const core::LinkSpec wan = line_rate(nominal), a = line_rate(inside_nominal),
                       b = line_rate(outside_nominal);
  const double up = std::min({a.up(), wan.up(), b.down()}), down = std::min({b.up(), wan.down(), a.down()});
  const double efficiency = fit.bandwidth / (2 / (1 / up + 1 / down));
  return fitted_link(nominal, efficiency, std::max(0.0, fit.path_latency - inside.delay() - outside.delay()));
}

// A site's measured uplink.
struct SiteFit {
  int inside = 0;
  int outside = 0;
  LinkFit fit;
  core::LinkSpec calibrated;
};

// The class's link from its ping-pong: the delay is the path's less the peer's own link (the
// delay a delay line adds is measured, not assumed); the efficiency is the one the ping-pong shows
// against its path at line rate (TCP's goodput, the shaper). Where the peer's link is the narrower
// one the efficiency is the peer's; the class's own rate is then not seen, and is assumed to be
// reached as efficiently.
core::LinkSpec calibrated_class_link(const core::LinkSpec& nominal, const core::LinkSpec& peer_nominal,
                                     double peer_delay, const LinkFit& fit) {
  const double efficiency = fit.bandwidth / pingpong_bandwidth(line_rate(peer_nominal), line_rate(nominal));
  return fitted_link(nominal, efficiency, std::max(0.0, fit.path_latency - peer_delay));
}

// `{bandwidth | up, down, latency[, efficiency][, overhead]}`, the fields of core::parse_link.
void emit_link(YAML::Emitter& y, const core::LinkSpec& link) {
  y << YAML::Flow << YAML::BeginMap;
  if (link.asymmetric()) {
    y << YAML::Key << "up" << YAML::Value << fmt::format("{:.6g}Bps", link.nominal_up());
    y << YAML::Key << "down" << YAML::Value << fmt::format("{:.6g}Bps", link.bandwidth);
  } else {
    y << YAML::Key << "bandwidth" << YAML::Value << fmt::format("{:.6g}Bps", link.bandwidth);
  }
  y << YAML::Key << "latency" << YAML::Value << fmt::format("{:.6g}us", link.latency * 1e6);
  if (link.efficiency != 1)
    y << YAML::Key << "efficiency" << YAML::Value << fmt::format("{:.6g}", link.efficiency);
  if (link.overhead > 0)
    y << YAML::Key << "overhead" << YAML::Value << fmt::format("{:.6g}us", link.overhead * 1e6);
  y << YAML::EndMap;
}

nlohmann::json link_json(const core::LinkSpec& link) {
  return {{"down_Bps", link.down()},         {"up_Bps", link.up()},           {"latency_s", link.delay()},
          {"line_down_Bps", link.bandwidth}, {"efficiency", link.efficiency}, {"overhead_s", link.overhead}};
}

std::string experiment_yaml(const std::string& name, const fs::path& platform, const std::string& body) {
  return fmt::format("experiment:\n  name: {}\n  platform: {}\n{}", name, fs::absolute(platform).string(),
                     body);
}

}  // namespace
#endif

int calibrate_command(const CalibrateArgs& args) {
#ifndef DMLSIM_HAVE_REALRUN
  (void)args;
  throw core::ConfigError(
      "dmlsim calibrate: this dmlsim was built without the real backend (Open MPI, OpenBLAS)");
#else
  const core::Platform platform = core::load_platform(args.platform);
  if (args.model.empty() && !args.network_only) {
    throw core::ConfigError(
        "dmlsim calibrate: give --model MODEL (its kernel shapes are timed) or --network-only");
  }
  // Kernels are timed one rank at a time by default, and the calibrated platform says that its
  // hosts share this machine's cores (`shared_cores`): the simulator then shares them among the
  // ranks computing at once, as the testbed does. Timed with more ranks at once, the measured
  // times include that sharing, and the platform does not model it a second time.
  const int compute_ranks = args.ranks > 0 ? args.ranks : 1;
  const int shared_cores = compute_ranks == 1 ? static_cast<int>(std::thread::hardware_concurrency()) : 0;
  if (compute_ranks > platform.host_count() || platform.host_count() < 2) {
    throw core::ConfigError(fmt::format("{}: calibration needs at least 2 hosts and --ranks ≤ {}",
                                        args.platform.string(), platform.host_count()));
  }
  // Every class of host link gets its own ping-pong. The first class with two hosts is the
  // reference: measured between two of its hosts, written as the platform's `link`; the others
  // become `host_links`.
  const std::vector<core::LinkSpec> links = links_of_hosts(platform, args.local);
  std::vector<LinkClass> classes;
  for (int h = 0; h < platform.host_count(); ++h) {
    const core::LinkSpec& l = links[static_cast<std::size_t>(h)];
    auto it = std::find_if(classes.begin(), classes.end(),
                           [&](const LinkClass& c) { return same_link(c.nominal, l); });
    if (it == classes.end()) it = classes.insert(classes.end(), LinkClass{l, {}, 0, 0, {}, {}});
    it->hosts.push_back(h);
  }
  const auto reference_class = std::find_if(classes.begin(), classes.end(), [&](const LinkClass& c) {
    return pair_in_one_site(platform, c.hosts, c.hosts).has_value();
  });
  if (reference_class == classes.end()) {
    throw core::ConfigError(fmt::format(
        "{}: calibration measures a link between two hosts that have it (in one site); every host's "
        "link differs",
        args.platform.string()));
  }
  LinkClass reference = *reference_class;
  std::tie(reference.member, reference.peer) = *pair_in_one_site(platform, reference.hosts, reference.hosts);
  classes.erase(reference_class);
  for (LinkClass& c : classes) {
    const auto pair = pair_in_one_site(platform, c.hosts, c.hosts);
    const auto with_reference = pair_in_one_site(platform, c.hosts, reference.hosts);
    if (!pair && !with_reference) {
      throw core::ConfigError(fmt::format(
          "{}: calibration measures host {}'s link against a host of its site with a link like its own "
          "or like host {}'s; its site has none",
          args.platform.string(), c.hosts[0], reference.member));
    }
    std::tie(c.member, c.peer) = pair ? *pair : *with_reference;
  }
  // Each site's uplink: a ping-pong from its aggregator to the first host of the core.
  const auto* star = std::get_if<core::StarTopology>(&platform.topology);
  std::vector<SiteFit> sites;
  if (star && !star->sites.empty()) {
    int core_host = -1;
    for (int h = 0; h < platform.host_count() && core_host < 0; ++h) {
      if (star->site(h) < 0) core_host = h;
    }
    if (core_host < 0) {
      throw core::ConfigError(fmt::format(
          "{}: calibration measures each site's uplink from a host outside the sites; every host is in one",
          args.platform.string()));
    }
    for (const core::StarTopology::Site& site : star->sites)
      sites.push_back({site.aggregator, core_host, {}, {}});
  }
  // The model's errors surface now, not after the testbed is up and the ping-pong has run.
  if (!args.network_only) {
    const core::Model model = core::load_model(args.model);
    for (const int t : args.tensor_parallel) {
      try {
        if (t > 1) (void)model.rebuilt(core::ModelShape{.tensor_parallel = t});
      } catch (const core::ValueError& e) {
        throw core::ConfigError(fmt::format("--tensor-parallel {}: {}", t, e.what()));
      }
    }
  }
  check_output_dir(args.out);
  fs::create_directories(args.out / "raw");

  // One testbed for both measurements.
  std::string testbed = args.testbed;
  std::optional<real::TemporaryTestbed> temporary;
  if (testbed.empty() && !args.local) {
    testbed = temporary.emplace(fmt::format("c{}", getpid() % 100000)).name();
    temporary->up(platform, fs::read_symlink("/proc/self/exe").parent_path() / "dmlsim-delayline");
  }
  auto measure = [&](const std::string& name, const std::string& yaml) {
    const fs::path file = args.out / "raw" / (name + ".yaml");
    write_outputs(file.parent_path(), {{file.filename().string(), [&](std::ostream& o) { o << yaml; }}});
    RunArgs run;
    run.experiment = file;
    run.out = args.out / "raw" / name;
    run.backend = "real";
    run.testbed = testbed;
    run.local = args.local;
    run.quiet = true;
    run.timeout_seconds = 900;
    std::cout << fmt::format("  measuring {} ...\n", name) << std::flush;
    if (run_command(run) != 0)
      throw core::BackendError(fmt::format("calibrate: the {} measurement failed", name));
    return core::read_csv_trace(run.out / "trace.csv");
  };

  // Network: rank 0's round trips between two hosts, per size, fitted.
  std::string sizes;
  for (std::uint64_t s = 1024; s <= args.max_size; s *= 4)
    sizes += fmt::format("{}{}B", sizes.empty() ? "" : ", ", s);
  nlohmann::json one_way_json;
  const auto pingpong_fit = [&](const std::string& name, int a, int b) {
    const auto pingpong = measure(
        name, experiment_yaml("calibrate-" + name, args.platform,
                              fmt::format("  ranks: 2\n  placement: [{}, {}]\n  strategy: {{type: pingpong, "
                                          "repeats: {}, sizes: [{}]}}\n  simulation: {{trace: phases}}\n",
                                          a, b, args.repeats, sizes)));
    std::map<std::uint64_t, std::vector<double>> trips;
    for (const core::TraceEvent& e : pingpong.events()) {
      if (e.rank == 0 && e.lane == core::Lane::phase && pingpong.text(e.name) == strategies::kPingPongPhase)
        trips[e.bytes].push_back(e.duration());
    }
    std::map<std::uint64_t, double> one_way;
    for (const auto& [bytes, t] : trips) {
      one_way[bytes] = median(t) / 2;
      one_way_json[name][std::to_string(bytes)] = one_way[bytes];
    }
    return fit_link(one_way);
  };
  const LinkFit link = pingpong_fit("pingpong", reference.member, reference.peer);
  // A star path crosses two links.
  const core::LinkSpec reference_link = fitted_link(
      line_rate(reference.nominal),
      link.bandwidth / pingpong_bandwidth(line_rate(reference.nominal), line_rate(reference.nominal)),
      link.path_latency / 2);
  for (LinkClass& c : classes) {
    const bool pair_in_class = std::find(c.hosts.begin(), c.hosts.end(), c.peer) != c.hosts.end();
    c.fit = pingpong_fit(fmt::format("pingpong-host{}", c.member), c.peer, c.member);
    const core::LinkSpec& peer = links[static_cast<std::size_t>(c.peer)];
    c.calibrated =
        calibrated_class_link(c.nominal, peer, (pair_in_class ? c.fit : link).path_latency / 2, c.fit);
  }
  const auto calibrated_link_of = [&](int host) {
    for (const LinkClass& c : classes) {
      if (std::find(c.hosts.begin(), c.hosts.end(), host) != c.hosts.end()) return c.calibrated;
    }
    return reference_link;
  };
  for (std::size_t k = 0; k < sites.size(); ++k) {
    SiteFit& s = sites[k];
    s.fit = pingpong_fit(fmt::format("pingpong-site{}", k), s.inside, s.outside);
    s.calibrated = calibrated_uplink(star->sites[k].uplink, links[static_cast<std::size_t>(s.inside)],
                                     calibrated_link_of(s.inside), links[static_cast<std::size_t>(s.outside)],
                                     calibrated_link_of(s.outside), s.fit);
  }

  std::string tensor_parallel_list;  // ", 2, 4": the degrees beyond 1 whose shapes are timed too
  for (const int t : args.tensor_parallel) {
    if (t > 1) tensor_parallel_list += fmt::format(", {}", t);
  }
  // Compute: every kernel shape (also cut for each --tensor-parallel degree), on --ranks ranks at
  // once (default one); the median of each rank's repeats, averaged.
  const auto kernels =
      args.network_only
          ? core::Trace{}
          : measure("kernels", experiment_yaml("calibrate-kernels", args.platform,
                                               fmt::format("  model: {}\n  ranks: {}\n  strategy: {{type: "
                                                           "kernels, repeats: {}, tensor_parallel: [1{}]}}\n",
                                                           fs::absolute(args.model).string(), compute_ranks,
                                                           args.repeats, tensor_parallel_list)));
  std::map<std::string, std::map<int, std::vector<double>>> times;
  for (const core::TraceEvent& e : kernels.events()) {
    const std::string name(kernels.text(e.name));
    if (e.lane == core::Lane::compute && name != "warm-up") times[name][e.rank].push_back(e.duration());
  }

  // The calibrated platform: the same topology with the fitted link, and a device that times
  // each measured shape as measured.
  const double nominal = pingpong_bandwidth(line_rate(reference.nominal), line_rate(reference.nominal));
  YAML::Emitter y;
  y << YAML::Comment(fmt::format(
      "Written by `dmlsim calibrate {} {}`; measurements in calibration.json.", args.platform.string(),
      args.network_only ? std::string("--network-only") : "--model " + args.model.string()));
  y << YAML::BeginMap << YAML::Key << "platform" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << platform.name + "-calibrated";
  y << YAML::Key << "topology" << YAML::Value << "star";
  y << YAML::Key << "hosts" << YAML::Value << platform.host_count();
  y << YAML::Key << "tcp_acks" << YAML::Value << true;  // the testbed's MPI runs over TCP
  if (shared_cores > 0) y << YAML::Key << "shared_cores" << YAML::Value << shared_cores;
  y << YAML::Key << "link" << YAML::Value;
  emit_link(y, reference_link);
  if (!classes.empty()) {
    y << YAML::Key << "host_links" << YAML::Value << YAML::BeginMap;
    for (int h = 0; h < platform.host_count(); ++h) {
      for (const LinkClass& c : classes) {
        if (std::find(c.hosts.begin(), c.hosts.end(), h) == c.hosts.end()) continue;
        y << YAML::Key << std::to_string(h) << YAML::Value;
        emit_link(y, c.calibrated);
      }
    }
    y << YAML::EndMap;
  }
  if (!sites.empty()) {
    y << YAML::Key << "sites" << YAML::Value << YAML::BeginMap;
    for (std::size_t k = 0; k < sites.size(); ++k) {
      const core::StarTopology::Site& site = star->sites[k];
      std::vector<int> hosts;
      for (int h = 0; h < platform.host_count(); ++h) {
        if (star->site(h) == static_cast<int>(k)) hosts.push_back(h);
      }
      y << YAML::Key << site.name << YAML::Value << YAML::Flow << YAML::BeginMap;
      y << YAML::Key << "uplink" << YAML::Value;
      emit_link(y, sites[k].calibrated);
      y << YAML::Key << "hosts" << YAML::Value << YAML::Flow << hosts;
      y << YAML::Key << "aggregator" << YAML::Value << site.aggregator << YAML::EndMap;
    }
    y << YAML::EndMap;
  }
  y << YAML::Key << "device" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << platform.device.name + "-calibrated";
  y << YAML::Key << "peak" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (core::DType d : core::kAllDTypes) {
    if (const auto rate = platform.device.peak(d)) {
      y << YAML::Key << std::string(core::to_string(d)) << YAML::Value
        << fmt::format("{:.6g}GFLOPS", *rate / 1e9);
    }
  }
  y << YAML::EndMap;
  y << YAML::Key << "memory_bandwidth" << YAML::Value
    << fmt::format("{:.6g}GBps", platform.device.memory_bandwidth / 1e9);
  y << YAML::Key << "memory" << YAML::Value << fmt::format("{}B", platform.device.memory_bytes);
  y << YAML::Key << "efficiency" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "compute"
    << YAML::Value << platform.device.compute_efficiency << YAML::Key << "memory" << YAML::Value
    << platform.device.memory_efficiency << YAML::EndMap;
  y << YAML::Key << "measured" << YAML::Value << YAML::BeginSeq;
  nlohmann::json kernel_json = nlohmann::json::array();
  for (const auto& [shape, per_rank] : times) {
    double sum = 0;
    for (const auto& [rank, samples] : per_rank) sum += median(samples);
    const double seconds = sum / static_cast<double>(per_rank.size());
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "shape" << YAML::Value << shape << YAML::Key
      << "seconds" << YAML::Value << fmt::format("{:.6g}us", seconds * 1e6) << YAML::EndMap;
    kernel_json.push_back({{"shape", shape}, {"seconds", seconds}, {"ranks", per_rank.size()}});
  }
  y << YAML::EndSeq << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  const std::string platform_yaml = std::string(y.c_str()) + "\n";

  nlohmann::json report;
  report["platform"] = args.platform.string();
  report["model"] = args.model.string();
  report["concurrent_compute_ranks"] = compute_ranks;
  report["shared_cores"] = shared_cores;
  report["machine"] = machine_facts();
  report["pingpong_one_way_s"] = one_way_json;
  report["link"] = {{"hosts", reference.hosts},
                    {"pingpong_hosts", {reference.member, reference.peer}},
                    {"bandwidth_Bps", link.bandwidth},
                    {"path_latency_s", link.path_latency},
                    {"max_relative_residual", link.max_residual},
                    {"nominal_bandwidth_Bps", nominal}};
  report["link_classes"] = nlohmann::json::array();
  for (const LinkClass& c : classes) {
    report["link_classes"].push_back({{"hosts", c.hosts},
                                      {"pingpong_hosts", {c.peer, c.member}},
                                      {"nominal", link_json(c.nominal)},
                                      {"path_bandwidth_Bps", c.fit.bandwidth},
                                      {"path_latency_s", c.fit.path_latency},
                                      {"max_relative_residual", c.fit.max_residual},
                                      {"calibrated", link_json(c.calibrated)}});
  }
  report["sites"] = nlohmann::json::array();
  for (std::size_t k = 0; k < sites.size(); ++k) {
    report["sites"].push_back({{"name", star->sites[k].name},
                               {"pingpong_hosts", {sites[k].inside, sites[k].outside}},
                               {"nominal", link_json(star->sites[k].uplink)},
                               {"path_bandwidth_Bps", sites[k].fit.bandwidth},
                               {"path_latency_s", sites[k].fit.path_latency},
                               {"max_relative_residual", sites[k].fit.max_residual},
                               {"calibrated", link_json(sites[k].calibrated)}});
  }
  report["kernels"] = kernel_json;
  write_outputs(args.out, {{"platform.yaml", [&](std::ostream& o) { o << platform_yaml; }},
                           {"calibration.json", [&](std::ostream& o) { o << report.dump(2) << "\n"; }}});

  std::cout << fmt::format(
      "calibrated {}: effective bandwidth {} ({:.1f} % of the nominal {}), path latency {}, fit residual "
      "≤ {:.2f} %; {} kernel shapes timed with {} ranks computing at once\n  wrote {} and {}\n",
      platform.name, core::format_bandwidth(link.bandwidth), 100 * link.bandwidth / nominal,
      core::format_bandwidth(nominal), core::format_duration(link.path_latency), 100 * link.max_residual,
      times.size(), compute_ranks, (args.out / "platform.yaml").string(),
      (args.out / "calibration.json").string());
  for (const LinkClass& c : classes) {
    std::cout << fmt::format("  hosts {}: link {} ({:.1f} % of the nominal {}), latency {} (nominal {})\n",
                             fmt::join(c.hosts, ", "), core::format_bandwidth(c.calibrated.down()),
                             100 * c.calibrated.down() / line_rate(c.nominal).down(),
                             core::format_bandwidth(line_rate(c.nominal).down()),
                             core::format_duration(c.calibrated.delay()),
                             core::format_duration(c.nominal.delay()));
  }
  for (std::size_t k = 0; k < sites.size(); ++k) {
    const core::LinkSpec& nominal_uplink = star->sites[k].uplink;
    std::cout << fmt::format("  {}'s uplink: {} ({:.1f} % of the nominal {}), latency {} (nominal {})\n",
                             star->sites[k].name, core::format_bandwidth(sites[k].calibrated.down()),
                             100 * sites[k].calibrated.down() / line_rate(nominal_uplink).down(),
                             core::format_bandwidth(line_rate(nominal_uplink).down()),
                             core::format_duration(sites[k].calibrated.delay()),
                             core::format_duration(nominal_uplink.delay()));
  }
  return 0;
#endif
}

}  // namespace dmlsim::apps
