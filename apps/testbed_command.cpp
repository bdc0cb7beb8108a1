// `dmlsim testbed up PLATFORM | status | down [--name NAME]`: a real cluster of network namespaces
// shaped like the platform (see realrun/testbed.hpp).
#include <fmt/format.h>

#include <iostream>

#include "apps/commands.hpp"
#include "core/errors.hpp"
#include "core/platform.hpp"
#include "core/units.hpp"
#ifdef DMLSIM_HAVE_REALRUN
#include "realrun/testbed.hpp"
#endif

namespace dmlsim::apps {

int testbed_command(const TestbedArgs& args) {
#ifdef DMLSIM_HAVE_REALRUN
  if (args.action == "up") {
    if (args.platform.empty()) throw core::ConfigError("dmlsim testbed up: give a PLATFORM file");
    const core::Platform platform = core::load_platform(args.platform);
    const auto delay_line =
        std::filesystem::read_symlink("/proc/self/exe").parent_path() / "dmlsim-delayline";
    const real::Testbed t = real::testbed_up(platform, args.name, delay_line);
    std::cout << fmt::format(
        "testbed '{}' is up: {} hosts{}\n", t.name, t.hosts.size(),
        t.congestion_control.empty()
            ? ""
            : fmt::format(", TCP congestion control {} (long paths)", t.congestion_control));
    for (const real::TestbedHost& h : t.hosts) {
      const std::string rate = h.link.asymmetric()
                                   ? fmt::format("{} up, {} down", core::format_bandwidth(h.link.up()),
                                                 core::format_bandwidth(h.link.down()))
                                   : core::format_bandwidth(h.link.bandwidth) + " each way";
      std::string where;
      if (!h.site.empty()) {
        where = fmt::format(", in {}", h.site);
        if (h.site_exit_latency > 0)
          where += fmt::format(" (+{} to hosts outside it)", core::format_duration(h.site_exit_latency));
      }
      std::cout << fmt::format("  {:<16} {:<14} {}, {}{}\n", h.netns, h.address, rate,
                               h.added_latency > 0
                                   ? core::format_duration(h.added_latency) + " added latency each way"
                                   : "no added latency (the machine's own)",
                               where);
    }
    std::cout << fmt::format("  hostfile {}, rsh agent {}\n", t.hostfile().string(), t.rsh_agent().string());
    return 0;
  }
  if (args.action == "status") {
    const auto items = real::testbed_status(args.name);
    if (items.empty()) std::cout << fmt::format("testbed '{}' is down: nothing of it exists\n", args.name);
    for (const std::string& item : items) std::cout << item << "\n";
    return 0;
  }
  const auto removed = real::testbed_down(args.name);
  std::cout << fmt::format("testbed '{}' is down ({} items removed)\n", args.name, removed.size());
  return 0;
#else
  (void)args;
  throw core::ConfigError(
      "dmlsim testbed: this dmlsim was built without the real backend (Open MPI, OpenBLAS)");
#endif
}

}  // namespace dmlsim::apps
