#include "realrun/testbed.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "core/child_process.hpp"
#include "core/errors.hpp"

namespace dmlsim::real {
namespace {

namespace fs = std::filesystem;

// Latencies below this are left to the machine's own stack (a namespace hop costs ~10-30 µs
// already, and the userspace delay line adds ~15 µs of its own).
constexpr double kMinimumAddedLatency = 50e-6;
constexpr double kBurstSeconds = 1e-3;            // tbf bucket: 1 ms of data (notes/testbed.md) ...
constexpr double kMinimumBurstBytes = 32 * 1024;  // ... but at least 32 KiB
constexpr double kQueueSeconds = 50e-3;           // tbf queue: 50 ms of data on top of the burst
// A testbed with a path this long (one way) uses Reno congestion control (testbed_up).
constexpr double kRenoFromPathLatency = 3e-3;

fs::path state_root() {
  return "/run/dmlsim";
}
std::string netns_prefix(const std::string& name) {
  return fmt::format("dmlsim-{}-h", name);
}
std::string link_prefix(const std::string& name) {
  return fmt::format("dm{}", name);
}
std::string bridge_name(const std::string& name) {
  return fmt::format("dm{}br", name);
}
// The kinds of numbered interfaces a testbed makes: hosts' veth ends outside (h) and inside (p)
// their namespace, sites' bridges (s) and their uplink (u) and downlink (c) veth ends.
constexpr const char* kLinkKinds[] = {"h", "p", "s", "u", "c"};
// A site (a region of an edge platform) has a switch of its own, a bridge joined to the core
// bridge by a veth pair: its end in the site's bridge carries the site's uplink, its end in the
// core bridge the downlink.
std::string site_bridge_name(const std::string& name, int site) {
  return fmt::format("dm{}s{}", name, site);
}
std::string site_uplink_name(const std::string& name, int site) {
  return fmt::format("dm{}u{}", name, site);
}
std::string site_downlink_name(const std::string& name, int site) {
  return fmt::format("dm{}c{}", name, site);
}

// Whether `s` is `prefix` followed by a host number: dmlsim-tb-h3 (a namespace, its /tmp directory)
// or dmtbh3 (a veth) belongs to testbed "tb", dmlsim-tb1-h3 does not.
bool is_numbered(std::string_view s, std::string_view prefix) {
  return s.size() > prefix.size() && s.starts_with(prefix) &&
         std::all_of(s.begin() + static_cast<std::ptrdiff_t>(prefix.size()), s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}
std::string host_address(int octet, int i) {
  return fmt::format("10.{}.{}.{}", octet, i / 200, i % 200 + 10);
}
std::string bridge_address(int octet) {
  return fmt::format("10.{}.255.254", octet);
}

// The second octet of a /16 no interface of this machine uses yet.
// Held from choosing a free subnet until the testbed's bridge holds its address: two testbeds
// brought up at once would otherwise both find the same subnet free.
class SubnetLock {
 public:
  SubnetLock() {
    fs::create_directories(state_root());
    const fs::path file = state_root() / "subnet.lock";
    fd_ = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0)
      throw core::BackendError(
          fmt::format("testbed: cannot lock {}: {}", file.string(), std::strerror(errno)));
  }
  ~SubnetLock() { ::close(fd_); }  // releases the lock
  SubnetLock(const SubnetLock&) = delete;
  SubnetLock& operator=(const SubnetLock&) = delete;

 private:
  int fd_ = -1;
};

int free_subnet_octet() {
  const std::string addresses = core::run_command({"ip", "-o", "-4", "addr", "show"}).output;
  for (int octet = 77; octet <= 126; ++octet) {
    if (addresses.find(fmt::format(" 10.{}.", octet)) == std::string::npos) return octet;
  }
  throw core::BackendError("testbed: no free 10.x.0.0/16 subnet between 10.77 and 10.126");
}

void run(const std::vector<std::string>& argv) {
  const core::CommandResult r = core::run_command(argv);
  if (r.exit_code != 0) {
    std::string command;
    for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
    throw core::BackendError(fmt::format("testbed: `{}` failed ({}): {}", command, r.exit_code, r.output));
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> namespaces_of(const std::string& name) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(core::run_command({"ip", "netns", "list"}).output)) {
    const std::string ns = line.substr(0, line.find(' '));
    if (is_numbered(ns, netns_prefix(name))) out.push_back(ns);
  }
  return out;
}

std::vector<std::string> links_of(const std::string& name) {
  std::vector<std::string> out;
  // "12: dmtbh0@if11: <...>" → dmtbh0
  for (const std::string& line : lines_of(core::run_command({"ip", "-o", "link", "show"}).output)) {
    const std::size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string link = line.substr(colon + 2);
    link = link.substr(0, link.find_first_of("@:"));
    if (testbed_owns_link(name, link)) out.push_back(link);
  }
  return out;
}

std::vector<int> pids_in(const std::string& netns) {
  std::vector<int> out;
  for (const std::string& line : lines_of(core::run_command({"ip", "netns", "pids", netns}).output)) {
    try {
      out.push_back(std::stoi(line));
    } catch (const std::exception&) {
    }
  }
  return out;
}

// tc's tbf takes bits per second and bytes.
std::vector<std::string> tbf(const std::string& device, double bytes_per_second) {
  const double burst = std::max(kMinimumBurstBytes, bytes_per_second * kBurstSeconds);
  const double limit = burst + bytes_per_second * kQueueSeconds;
  return {"tc",
          "qdisc",
          "replace",
          "dev",
          device,
          "root",
          "tbf",
          "rate",
          fmt::format("{:.0f}bit", bytes_per_second * 8),
          "burst",
          fmt::format("{:.0f}", burst),
          "limit",
          fmt::format("{:.0f}", limit)};
}

std::vector<std::string> in_netns(const std::string& netns, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", netns});
  return argv;
}

void write_rsh_agent(const Testbed& t) {
  std::ofstream out(t.rsh_agent());
  out << "#!/bin/sh\n"
         "# Written by dmlsim testbed up: Open MPI runs this instead of ssh, as AGENT HOST COMMAND...;\n"
         "# it starts COMMAND inside HOST's network namespace, with a TMPDIR of its own (namespaces\n"
         "# share /tmp and PMIx session files would collide).\n"
         "while [ $# -gt 0 ]; do case \"$1\" in -*) shift ;; *) break ;; esac; done\n"
         "host=\"$1\"; shift\n"
         "case \"$host\" in\n";
  for (const TestbedHost& h : t.hosts) out << fmt::format("  {}) ns={} ;;\n", h.address, h.netns);
  out << "  *) echo \"rsh-agent: unknown host $host\" >&2; exit 1 ;;\n"
         "esac\n"
         "mkdir -p \"/tmp/$ns\"\n"
         "exec ip netns exec \"$ns\" env TMPDIR=\"/tmp/$ns\" /bin/sh -c \"$*\"\n";
  out.close();
  fs::permissions(t.rsh_agent(), fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
}

void save(const Testbed& t, const std::vector<int>& helper_pids) {
  nlohmann::json j;
  j["name"] = t.name;
  j["subnet"] = t.subnet;
  j["helpers"] = helper_pids;
  j["congestion_control"] = t.congestion_control;
  for (const TestbedHost& h : t.hosts) {
    j["hosts"].push_back({{"netns", h.netns},
                          {"address", h.address},
                          {"bandwidth", h.link.bandwidth},
                          {"up_bandwidth", h.link.up_bandwidth},
                          {"latency", h.link.latency},
                          {"added_latency", h.added_latency},
                          {"site", h.site},
                          {"site_exit_latency", h.site_exit_latency}});
  }
  std::ofstream(t.state_dir / "testbed.json") << j.dump(2) << "\n";
  std::ofstream hostfile(t.hostfile());
  for (const TestbedHost& h : t.hosts) hostfile << h.address << " slots=1\n";
}

}  // namespace

void check_testbed_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 6 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(c) || std::isdigit(c);
  });
  if (!ok)
    throw core::ConfigError(fmt::format("testbed name '{}': use 1 to 6 lower-case letters or digits", name));
}

void check_testbed_platform(const core::Platform& p) {
  (void)testbed_host_link(p, 0);  // the topology
  if (p.host_count() > kMaxTestbedHosts) {
    throw core::ConfigError(fmt::format(
        "{}: platform '{}' has {} hosts; the testbed builds at most {} (a network namespace and a "
        "process each, all on this machine's cores)",
        p.source, p.name, p.host_count(), kMaxTestbedHosts));
  }
}

core::LinkSpec testbed_host_link(const core::Platform& p, int host) {
  if (const auto* s = std::get_if<core::StarTopology>(&p.topology)) return s->link_of(host);
  if (const auto* f = std::get_if<core::FatTreeTopology>(&p.topology); f && f->tree.leaves == 1) {
    return f->host_link_of(host);
  }
  throw core::ConfigError(
      fmt::format("{}: field 'platform.topology': the testbed builds one switch of hosts (a star, an edge "
                  "platform, or a one-leaf fat-tree); '{}' is not one",
                  p.source, p.topology_name()));
}

bool testbed_supported(std::string* why) {
  if (geteuid() != 0) {
    if (why) *why = "network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN); not running as root";
    return false;
  }
  const core::CommandResult r = core::run_command({"ip", "netns", "list"});
  if (r.exit_code != 0) {
    if (why) *why = "`ip netns` does not work here: " + r.output;
    return false;
  }
  return true;
}

std::vector<std::string> testbed_down(const std::string& name) {
  check_testbed_name(name);
  std::vector<std::string> removed;
  const fs::path state = state_root() / ("testbed-" + name);
  // Helper processes first (delay lines, stray ranks and orteds): everything inside our namespaces.
  for (const std::string& ns : namespaces_of(name)) {
    for (int pid : pids_in(ns)) {
      ::kill(pid, SIGKILL);
      removed.push_back(fmt::format("process {} in {}", pid, ns));
    }
  }
  for (const std::string& ns : namespaces_of(name)) {
    core::run_command({"ip", "netns", "delete", ns});
    removed.push_back("namespace " + ns);
  }
  for (const std::string& link : links_of(name)) {  // the bridge, and veths whose namespace is gone
    core::run_command({"ip", "link", "delete", link});
    removed.push_back("link " + link);
  }
  std::error_code ec;
  // What the ranks wrote in their namespace's TMPDIR (the rsh agent made /tmp/<namespace>).
  std::vector<fs::path> scratch;
  for (const fs::directory_entry& e : fs::directory_iterator("/tmp", ec)) {
    if (is_numbered(e.path().filename().string(), netns_prefix(name))) scratch.push_back(e.path());
  }
  for (const fs::path& dir : scratch) {
    fs::remove_all(dir, ec);
    removed.push_back("directory " + dir.string());
  }
  if (fs::exists(state, ec)) {
    fs::remove_all(state, ec);
    removed.push_back("state " + state.string());
  }
  return removed;
}

std::vector<std::string> testbed_status(const std::string& name) {
  check_testbed_name(name);
  std::vector<std::string> out;
  for (const std::string& ns : namespaces_of(name)) {
    out.push_back("namespace " + ns);
    for (int pid : pids_in(ns)) out.push_back(fmt::format("process {} in {}", pid, ns));
  }
  for (const std::string& link : links_of(name)) out.push_back("link " + link);
  return out;
}

Testbed testbed_up(const core::Platform& platform, const std::string& name, const fs::path& delay_line) {
  check_testbed_name(name);
  check_testbed_platform(platform);
  std::string why;
  if (!testbed_supported(&why)) throw core::BackendError("testbed: " + why);
  testbed_down(name);  // idempotent: start from nothing
  // Interrupted half-way, nothing of it stays.
  const core::InterruptCleanup half_built(fmt::format("removed the half-built testbed '{}'", name),
                                          [name] { testbed_down(name); });

  Testbed t;
  t.name = name;
  t.state_dir = state_root() / ("testbed-" + name);
  fs::create_directories(t.state_dir);
  std::vector<int> helpers;
  struct DelayLine {
    std::string netns;
    std::string log;
    core::ChildProcess process;
  };
  std::vector<DelayLine> delay_lines;
  try {
    std::optional<SubnetLock> subnet_lock(std::in_place);
    const int octet = free_subnet_octet();
    t.subnet = fmt::format("10.{}.0.0/16", octet);
    const std::string bridge = bridge_name(name);
    run({"ip", "link", "add", bridge, "type", "bridge"});
    run({"ip", "addr", "add", bridge_address(octet) + "/16", "dev", bridge});
    subnet_lock.reset();  // the subnet is taken now: `ip addr` shows it to the next one
    run({"ip", "link", "set", bridge, "up"});
    const auto* star = std::get_if<core::StarTopology>(&platform.topology);
    const std::vector<core::StarTopology::Site> no_sites;
    const std::vector<core::StarTopology::Site>& sites = star ? star->sites : no_sites;
    for (int k = 0; k < static_cast<int>(sites.size()); ++k) {
      const core::LinkSpec& wan = sites[static_cast<std::size_t>(k)].uplink;
      const std::string site_bridge = site_bridge_name(name, k), uplink = site_uplink_name(name, k),
                        downlink = site_downlink_name(name, k);
      run({"ip", "link", "add", site_bridge, "type", "bridge"});
      run({"ip", "link", "add", uplink, "type", "veth", "peer", "name", downlink});
      run({"ip", "link", "set", uplink, "master", site_bridge});
      run({"ip", "link", "set", downlink, "master", bridge});
      for (const std::string& link : {site_bridge, uplink, downlink}) run({"ip", "link", "set", link, "up"});
      run(tbf(uplink, wan.up()));
      run(tbf(downlink, wan.down()));
    }
    const auto site_of = [&](int host) { return star ? star->site(host) : -1; };
    // What each host's delay lines add each way (below): `near` to hosts of its own site (to every
    // host when it is in none), `far` to the others.
    std::vector<double> near_of, far_of;
    for (int i = 0; i < platform.host_count(); ++i) {
      const double latency = testbed_host_link(platform, i).latency;
      near_of.push_back(latency >= kMinimumAddedLatency ? latency : 0.0);
      far_of.push_back(near_of.back() +
                       (site_of(i) < 0 ? 0.0 : sites[static_cast<std::size_t>(site_of(i))].uplink.latency));
    }
    // The machine's default congestion control, BBR, misreads the delay lines' long paths: it sent
    // 9 Mbit/s over a 50 Mbit/s WAN path of 5 ms one way, and 36 Mbit/s over a 50 Mbit/s star path
    // of 5 ms, where Reno filled both. On short paths it is the better one (a 1 Gbit/s host behind
    // 1 ms validated −3 % with BBR, −15 % with Reno), so a testbed takes Reno, the one a namespace
    // may choose besides BBR, when a path is that long.
    double longest = 0;
    for (int i = 0; i < platform.host_count(); ++i) {
      for (int j = i + 1; j < platform.host_count(); ++j) {
        const auto k = [](int host) { return static_cast<std::size_t>(host); };
        longest = std::max(
            longest, site_of(i) == site_of(j) ? near_of[k(i)] + near_of[k(j)] : far_of[k(i)] + far_of[k(j)]);
      }
    }
    if (longest >= kRenoFromPathLatency) t.congestion_control = "reno";
    for (int i = 0; i < platform.host_count(); ++i) {
      TestbedHost h{netns_prefix(name) + std::to_string(i),
                    host_address(octet, i),
                    testbed_host_link(platform, i),
                    0,
                    "",
                    0};
      const int site = site_of(i);
      const std::string outside = fmt::format("{}h{}", link_prefix(name), i);
      const std::string inside = fmt::format("{}p{}", link_prefix(name), i);
      run({"ip", "netns", "add", h.netns});
      run({"ip", "link", "add", outside, "type", "veth", "peer", "name", inside});
      run({"ip", "link", "set", inside, "netns", h.netns});
      run(in_netns(h.netns, {"ip", "link", "set", inside, "name", "eth0"}));
      run(in_netns(h.netns, {"ip", "addr", "add", h.address + "/16", "dev", "eth0"}));
      run(in_netns(h.netns, {"ip", "link", "set", "eth0", "up"}));
      run(in_netns(h.netns, {"ip", "link", "set", "lo", "up"}));
      // A datacenter fabric does not forget its congestion window between messages: without this,
      // every ping-pong message after an idle gap restarts TCP slow start.
      run(in_netns(h.netns, {"sysctl", "-q", "-w", "net.ipv4.tcp_slow_start_after_idle=0"}));
      // Nor does it hold acknowledgements back: delayed ACKs stall a sender that waits for one by
      // the kernel's ACK timer (~4 ms), which turns a 64 KiB ping-pong into 8 ms.
      run(in_netns(h.netns, {"ip", "route", "replace", t.subnet, "dev", "eth0", "quickack", "1"}));
      if (!t.congestion_control.empty()) {
        run(in_netns(h.netns,
                     {"sysctl", "-q", "-w", "net.ipv4.tcp_congestion_control=" + t.congestion_control}));
      }
      run({"ip", "link", "set", outside, "master", site < 0 ? bridge : site_bridge_name(name, site)});
      run({"ip", "link", "set", outside, "up"});
      // The host's uplink is what leaves eth0; its downlink is what the bridge sends into it.
      run(in_netns(h.netns, tbf("eth0", h.link.up())));
      run(tbf(outside, h.link.down()));
      // Each direction crosses the sender's and the receiver's link: each host delays what it
      // sends and what it receives by its link's latency L (a small L is the machine's own). A host
      // in a site delays its traffic with hosts outside the site by the site's WAN latency more,
      // both ways: a path leaving one site and entering another then pays both sites' WAN
      // latencies once, as in the platform.
      const double near = near_of[static_cast<std::size_t>(i)], far = far_of[static_cast<std::size_t>(i)];
      const auto add_delay_line = [&](int queue, double delay) {
        core::SpawnOptions options;
        options.log = (t.state_dir / fmt::format("{}.delayline{}.log", h.netns, queue)).string();
        core::ChildProcess helper = core::ChildProcess::spawn(
            "ip",
            {"netns", "exec", h.netns, delay_line.string(), "--queue", std::to_string(queue), "--delay-us",
             fmt::format("{:.0f}", delay * 1e6)},
            options);
        helpers.push_back(helper.pid());
        delay_lines.push_back({h.netns, options.log, std::move(helper)});
      };
      const auto delay_rule = [&](const std::string& chain, std::vector<std::string> match, double delay,
                                  int queue) {
        std::vector<std::string> rule{"iptables", "-A", chain, chain == "OUTPUT" ? "-o" : "-i", "eth0"};
        rule.insert(rule.end(), match.begin(), match.end());
        if (delay >= kMinimumAddedLatency) {
          rule.insert(rule.end(), {"-j", "NFQUEUE", "--queue-num", std::to_string(queue)});
        } else {
          rule.insert(rule.end(), {"-j", "ACCEPT"});
        }
        run(in_netns(h.netns, rule));
      };
      if (far != near) {  // the site's hosts first, at L; everyone else at L + WAN latency
        for (int j = 0; j < platform.host_count(); ++j) {
          if (j == i || site_of(j) != site) continue;
          delay_rule("OUTPUT", {"-d", host_address(octet, j)}, near, 0);
          delay_rule("INPUT", {"-s", host_address(octet, j)}, near, 0);
        }
        if (far >= kMinimumAddedLatency) {
          delay_rule("OUTPUT", {}, far, 1);
          delay_rule("INPUT", {}, far, 1);
          add_delay_line(1, far);
          h.site_exit_latency = far - near;
        }
      } else if (near >= kMinimumAddedLatency) {
        delay_rule("OUTPUT", {}, near, 0);
        delay_rule("INPUT", {}, near, 0);
      }
      if (near >= kMinimumAddedLatency) {
        add_delay_line(0, near);
        h.added_latency = near;
      }
      if (site >= 0) h.site = sites[static_cast<std::size_t>(site)].name;
      t.hosts.push_back(h);
    }
    write_rsh_agent(t);
    save(t, helpers);
    // Give delay lines a moment to bind their queues before traffic flows. One that has already
    // exited would leave its namespace's packets queued for nobody: the run would hang.
    if (!helpers.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (DelayLine& d : delay_lines) {
      if (const std::optional<int> code = d.process.wait_for(std::chrono::seconds(0))) {
        std::ifstream log(d.log);
        const std::string said((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        throw core::BackendError(fmt::format("testbed: the delay line of {} exited ({}): {}", d.netns, *code,
                                             said.empty() ? "no output" : said));
      }
    }
  } catch (...) {
    testbed_down(name);
    throw;
  }
  return t;
}

Testbed testbed_load(const std::string& name) {
  check_testbed_name(name);
  const fs::path file = state_root() / ("testbed-" + name) / "testbed.json";
  std::ifstream in(file);
  if (!in) throw core::BackendError(fmt::format("testbed '{}' is not up (no {})", name, file.string()));
  const nlohmann::json j = nlohmann::json::parse(in);
  Testbed t;
  t.name = name;
  t.state_dir = file.parent_path();
  t.subnet = j["subnet"].get<std::string>();
  t.congestion_control = j.value("congestion_control", std::string());
  for (const auto& h : j["hosts"]) {
    t.hosts.push_back(
        {h["netns"].get<std::string>(),
         h["address"].get<std::string>(),
         {h["bandwidth"].get<double>(), h["latency"].get<double>(), h.value("up_bandwidth", 0.0)},
         h["added_latency"].get<double>(),
         h.value("site", std::string()),
         h.value("site_exit_latency", 0.0)});
  }
  return t;
}

// Exactly this testbed's links: a plain prefix match would take testbed "tb1"'s for testbed "tb"'s.
bool testbed_owns_link(const std::string& name, const std::string& link) {
  const std::string prefix = link_prefix(name);
  return link == bridge_name(name) ||
         std::any_of(std::begin(kLinkKinds), std::end(kLinkKinds),
                     [&](const char* kind) { return is_numbered(link, prefix + kind); });
}

TemporaryTestbed::TemporaryTestbed(std::string name)
    : name_(std::move(name)),
      on_interrupt_(fmt::format("took testbed '{}' down", name_), [n = name_] { testbed_down(n); }) {
  check_testbed_name(name_);
}

TemporaryTestbed::~TemporaryTestbed() {
  try {
    testbed_down(name_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dmlsim: taking testbed '%s' down failed: %s\n", name_.c_str(), e.what());
  }
}

Testbed TemporaryTestbed::up(const core::Platform& platform, const std::filesystem::path& delay_line) {
  return testbed_up(platform, name_, delay_line);
}

}  // namespace dmlsim::real
