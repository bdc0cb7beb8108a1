#pragma once
// A real cluster on one Linux machine (notes/testbed.md): one network namespace per host of a
// small platform, a veth pair from each into one bridge, both directions rate-shaped with tbf to
// the host's link bandwidth, latency added by a userspace delay line on an NFQUEUE (this kernel
// has no netem), and what mpirun needs to start one rank per namespace (a hostfile and an rsh
// agent that enters the namespace). An edge platform's regions with aggregators (sites) get a
// bridge each, joined to the core bridge by a veth pair shaped to the region's WAN bandwidth; its
// hosts add the WAN latency to their traffic with hosts outside the site. Only addresses of its own
// namespaces are used (a free /16 of 10.77.0.0-10.126.255.255 per testbed, so several can coexist). Needs
// root (CAP_NET_ADMIN, CAP_SYS_ADMIN). `up` is idempotent; `down` removes every namespace, link, rule and
// helper process it made, also after a failed or killed run.
#include <filesystem>
#include <string>
#include <vector>

#include "core/interrupts.hpp"
#include "core/platform.hpp"

namespace dmlsim::real {

struct TestbedHost {
  std::string netns;             // e.g. dmlsim-tb-h0
  std::string address;           // e.g. 10.77.0.10
  core::LinkSpec link;           // what it is shaped to
  double added_latency = 0;      // what the delay line adds each way (0: the machine's own latency)
  std::string site;              // its site's name ("region eu") on an edge platform with regions
  double site_exit_latency = 0;  // what is added beyond added_latency to hosts outside its site
};

struct Testbed {
  std::string name;
  std::vector<TestbedHost> hosts;
  std::filesystem::path state_dir;  // hostfile, rsh agent, helper pids
  std::string subnet;               // e.g. 10.77.0.0/16: one free /16 of 10.77-10.126 per testbed
  std::string congestion_control;   // TCP's in every namespace: "reno" on long paths, else empty
                                    // (the machine's default)

  std::filesystem::path hostfile() const { return state_dir / "hostfile"; }
  std::filesystem::path rsh_agent() const { return state_dir / "rsh-agent.sh"; }
};

// The link host `host` of `platform` gets on its testbed: a star's (an edge platform's access
// link), or a one-leaf fat-tree's host link (with its `host_links` exception). ConfigError, naming
// the field, for any other topology.
core::LinkSpec testbed_host_link(const core::Platform& platform, int host);

// The most hosts a testbed builds.
constexpr int kMaxTestbedHosts = 64;
// ConfigError, naming the platform's file, unless the testbed can build `platform`: its topology
// (testbed_host_link) and at most kMaxTestbedHosts hosts.
void check_testbed_platform(const core::Platform& platform);

// Whether this process may build a testbed (root with network namespaces available); if not,
// `why` says what is missing.
bool testbed_supported(std::string* why);

// Creates (or re-creates) the testbed of `platform` (star topologies; or any topology with
// per-host links of its hosts). `delay_line` is the path of the dmlsim-delayline helper.
Testbed testbed_up(const core::Platform& platform, const std::string& name,
                   const std::filesystem::path& delay_line);
// Removes everything of testbed `name`; safe to call when nothing exists. Returns what it removed.
std::vector<std::string> testbed_down(const std::string& name);
// Namespaces, links and helper processes of testbed `name` that exist now.
std::vector<std::string> testbed_status(const std::string& name);
// Reads the description written by testbed_up.
Testbed testbed_load(const std::string& name);

// Testbed names are short (interface names are limited to 15 characters).
void check_testbed_name(const std::string& name);

// A testbed for the length of one command (a run, a calibration): up() brings it up; the
// destructor takes it down, and so does Ctrl-C, SIGTERM or SIGHUP at any moment before.
class TemporaryTestbed {
 public:
  explicit TemporaryTestbed(std::string name);
  ~TemporaryTestbed();
  TemporaryTestbed(const TemporaryTestbed&) = delete;
  TemporaryTestbed& operator=(const TemporaryTestbed&) = delete;

  Testbed up(const core::Platform& platform, const std::filesystem::path& delay_line);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  core::InterruptCleanup on_interrupt_;
};

// Whether network interface `link` belongs to testbed `name` (its bridge dm<name>br, veths
// dm<name>h<i>, dm<name>p<i>, sites' bridges dm<name>s<k> and veths dm<name>u<k>, dm<name>c<k>):
// `down` of testbed "tb" must leave testbed "tb1" alone.
bool testbed_owns_link(const std::string& name, const std::string& link);

}  // namespace dmlsim::real
