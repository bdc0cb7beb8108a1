#include "realrun/launcher.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/child_process.hpp"
#include "core/errors.hpp"
#include "core/interrupts.hpp"

namespace dmlsim::real {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// mpirun names failed ranks as "process rank 3 with PID ..." or "Process name: [[x,y],3]".
std::set<int> failed_ranks(const std::string& log) {
  std::set<int> ranks;
  for (const std::regex& pattern :
       {std::regex(R"(process rank (\d+))"), std::regex(R"(Process name: \[\[\d+,\d+\],(\d+)\])")}) {
    for (std::sregex_iterator it(log.begin(), log.end(), pattern), end; it != end; ++it)
      ranks.insert(std::stoi((*it)[1]));
  }
  return ranks;
}

// Which ranks got least far, from their progress files ("I PHASE": iteration I began PHASE). The
// rank that hangs stops writing first; the others go on until they wait for it.
std::string least_progress(const fs::path& dir, int ranks) {
  struct Progress {
    int rank;
    int iteration;
    fs::file_time_type written;
    std::string text;
  };
  std::vector<Progress> all;
  for (int r = 0; r < ranks; ++r) {
    const fs::path file = progress_file(dir, r);
    std::error_code ec;
    const auto written = fs::last_write_time(file, ec);
    std::istringstream in(read_text(file));
    int iteration = -1;
    std::string phase;
    in >> iteration >> phase;
    all.push_back({r, ec ? -2 : iteration, ec ? fs::file_time_type::min() : written,
                   ec ? "had not started" : fmt::format("was in iteration {} ({})", iteration, phase)});
  }
  std::stable_sort(all.begin(), all.end(), [](const Progress& a, const Progress& b) {
    return std::tie(a.iteration, a.written) < std::tie(b.iteration, b.written);
  });
  std::string out = fmt::format("rank {} got least far: it {}", all.front().rank, all.front().text);
  for (std::size_t i = 1; i < all.size(); ++i) out += fmt::format("; rank {} {}", all[i].rank, all[i].text);
  return out;
}

void kill_strays(const Testbed& t) {
  // Everything in the namespaces but the testbed's own delay lines.
  for (const TestbedHost& h : t.hosts) {
    std::istringstream pids(core::run_command({"ip", "netns", "pids", h.netns}).output);
    for (std::string pid; std::getline(pids, pid);) {
      if (pid.empty()) continue;
      const std::string cmdline = read_text("/proc/" + pid + "/cmdline");
      if (cmdline.find("dmlsim-delayline") != std::string::npos) continue;
      ::kill(std::stoi(pid), SIGKILL);
    }
  }
}

}  // namespace

fs::path progress_file(const fs::path& progress_dir, int rank) {
  return progress_dir / fmt::format("rank{}", rank);
}

LaunchResult launch(const LaunchOptions& o) {
  fs::create_directories(o.work_dir / "progress");
  for (int r = 0; r < o.ranks; ++r) fs::remove(progress_file(o.work_dir / "progress", r));
  std::vector<std::string> args{
      "--allow-run-as-root",  "--oversubscribe", "--bind-to", "none", "--map-by", "slot", "-np",
      std::to_string(o.ranks)};
  // Without it, waiting ranks spin on the 2 shared cores and slow the others (notes/testbed.md).
  std::vector<std::pair<std::string, std::string>> mca{{"mpi_yield_when_idle", "1"}};
  if (o.testbed) {
    // Hosts in rank order: rank r runs in the namespace of host placement[r].
    const fs::path hostfile = o.work_dir / "hostfile";
    std::ofstream out(hostfile);
    for (int r = 0; r < o.ranks; ++r) {
      const int host = o.placement.empty() ? r : o.placement[static_cast<std::size_t>(r)];
      out << o.testbed->hosts.at(static_cast<std::size_t>(host)).address << " slots=1\n";
    }
    out.close();
    args.insert(args.end(), {"--hostfile", hostfile.string()});
    mca.insert(mca.end(), {{"plm_rsh_agent", o.testbed->rsh_agent().string()},
                           {"btl", "tcp,self"},
                           {"btl_tcp_if_include", o.testbed->subnet},
                           {"oob_tcp_if_include", o.testbed->subnet}});
  } else if (!o.hostfile.empty()) {
    args.insert(args.end(), {"--hostfile", o.hostfile.string()});
  } else {
    mca.emplace_back("btl", "self,vader,tcp");
  }
  mca.insert(mca.end(), o.mca.begin(), o.mca.end());
  for (const auto& [key, value] : mca) args.insert(args.end(), {"--mca", key, value});
  for (const std::string& env : o.environment) args.insert(args.end(), {"-x", env});
  args.push_back(o.program.string());
  args.insert(args.end(), o.arguments.begin(), o.arguments.end());

  LaunchResult result;
  result.log = o.work_dir / "mpirun.log";
  core::SpawnOptions spawn;
  spawn.log = result.log.string();
  spawn.own_process_group = true;
  core::ChildProcess mpirun = core::ChildProcess::spawn("mpirun", args, spawn);
  const core::InterruptCleanup stop("stopped the ranks", [&] {
    mpirun.kill(SIGKILL);
    if (o.testbed) kill_strays(*o.testbed);
  });
  std::optional<int> code = mpirun.wait_for(std::chrono::duration<double>(o.timeout_seconds));
  if (!code) {
    result.timed_out = true;
    const std::string behind = least_progress(o.work_dir / "progress", o.ranks);
    mpirun.kill(SIGTERM);
    code = mpirun.wait_for(std::chrono::seconds(3));
    if (!code) {
      mpirun.kill(SIGKILL);
      code = mpirun.wait();
    }
    result.problem =
        fmt::format("the run did not finish within {} s (a rank hung?): {}", o.timeout_seconds, behind);
  }
  if (o.testbed) kill_strays(*o.testbed);
  result.exit_code = *code;
  if (!result.timed_out && result.exit_code != 0) {
    const std::string log = read_text(result.log);
    const std::set<int> ranks = failed_ranks(log);
    result.problem = ranks.empty() ? fmt::format("mpirun exited with code {}", result.exit_code)
                                   : fmt::format("rank {} failed (mpirun exited with code {})",
                                                 fmt::join(ranks, ", "), result.exit_code);
    // What the ranks said themselves, first line of it.
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("dmlsim", 0) == 0) {
        result.problem += ": " + line;
        break;
      }
    }
  }
  return result;
}

}  // namespace dmlsim::real
