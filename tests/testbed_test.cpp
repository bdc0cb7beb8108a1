// The namespace testbed: it comes up shaped as asked, goes down without a trace (also after a run
// that was killed), and a rank that crashes or hangs makes the run fail fast, naming the rank.
// These need root (network namespaces): without it they are skipped, saying so. CI runs as root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "cli_helpers.hpp"
#include "core/config_node.hpp"
#include "core/errors.hpp"
#include "core/platform.hpp"
#include "realrun/testbed.hpp"

namespace dmlsim {
namespace {

using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

// `down` finds a testbed's interfaces by name: exactly its own, not those of a testbed whose name
// starts the same (runs' temporary testbeds "r123" and "r1234" may exist side by side).
TEST(Testbed, DownTakesOnlyItsOwnLinks) {
  for (const char* own : {"dmtbbr", "dmtbh0", "dmtbp0", "dmtbh12", "dmtbp3", "dmtbs0", "dmtbu1", "dmtbc12"})
    EXPECT_TRUE(real::testbed_owns_link("tb", own)) << own;
  for (const char* other :
       {"dmtb1br", "dmtb1h0", "dmtb1p0", "dmtbhh0", "dmtbh", "dmtbx0", "eth0", "dmtb", "dmtb1s0", "dmtbsh0"})
    EXPECT_FALSE(real::testbed_owns_link("tb", other)) << other;
}

const char* kPlatform = R"(platform:
  topology: star
  hosts: 3
  link: {bandwidth: 500Mbps, latency: 200us}
  device: cpu
)";

const char* kExperiment = R"(experiment:
  platform: platform.yaml
  iterations: 4
  strategy: {type: collective, algorithm: ring, size: 1MiB}
)";

// What of testbed `name` still exists: namespaces, links, tc rules and helper processes.
std::string leftovers(const std::string& name) {
  std::string out;
  const std::string netns = testing::read_file_of_command("ip netns list");
  if (netns.find("dmlsim-" + name + "-") != std::string::npos) out += "namespaces: " + netns;
  const std::string links = testing::read_file_of_command("ip -o link show");
  if (links.find(": dm" + name) != std::string::npos) out += "links: " + links;
  const std::string qdiscs = testing::read_file_of_command("tc qdisc show");
  if (qdiscs.find("dev dm" + name) != std::string::npos) out += "qdiscs: " + qdiscs;
  const std::string scratch =
      testing::read_file_of_command("ls -d /tmp/dmlsim-" + name + "-h* 2>/dev/null || true");
  if (!scratch.empty()) out += "temporary directories: " + scratch;
  // Processes by program name (the first word's last path part): a substring would also match,
  // say, a test named "...IsReported" running beside ("orted").
  const std::string processes = testing::read_file_of_command("ps -eo stat,args");
  std::istringstream lines(processes);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string stat, program;
    words >> stat >> program;
    program = std::filesystem::path(program).filename().string();
    if (stat.starts_with("Z")) continue;
    if (program == "dmlsim-rank" || program == "orted" || program == "dmlsim-delayline") {
      out += "process: " + line + "\n";
    }
  }
  return out;
}

// Takes testbed `name` down when the test ends, also when an assertion failed half-way.
struct TestbedGuard {
  std::string name;
  ~TestbedGuard() {
    std::system((testing::quote(testing::dmlsim_binary().string()) + " testbed down --name " + name +
                 " >/dev/null 2>&1")
                    .c_str());
  }
};

TEST(Testbed, ComesUpShapedAndGoesDownCompletely) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-updown");
  TestbedGuard guard{"tu"};
  // 1 ms per link: far from both the machine's own round trip (0.1–0.8 ms, more when busy) and
  // twice the added latency, which a rule matching twice would give.
  std::string platform = kPlatform;
  platform.replace(platform.find("latency: 200us"), 14, "latency: 1ms");
  write_file(scratch / "platform.yaml", platform);
  const auto up =
      run_dmlsim({"testbed", "up", (scratch / "platform.yaml").string(), "--name", "tu"}, scratch);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("3 hosts"), std::string::npos) << up.out;
  EXPECT_EQ(up.out.find("congestion control"), std::string::npos)
      << "short paths keep the default: " << up.out;
  // Both directions shaped to 500 Mbit/s, the delay line holding 1 ms each way.
  const std::string inside =
      testing::read_file_of_command("ip netns exec dmlsim-tu-h1 tc qdisc show dev eth0");
  EXPECT_NE(inside.find("rate 500Mbit"), std::string::npos) << inside;
  const std::string outside = testing::read_file_of_command("tc qdisc show dev dmtuh1");
  EXPECT_NE(outside.find("rate 500Mbit"), std::string::npos) << outside;
  EXPECT_NE(testing::read_file_of_command("ps -eo args").find("dmlsim-delayline --queue 0 --delay-us 1000"),
            std::string::npos);
  // A ping between two hosts pays 4 × 1 ms of added latency per round trip (sender's and
  // receiver's link, both ways). -U times it in user space: by default ping uses the kernel's
  // receive timestamp, taken before the INPUT hook holds the reply. The fastest of five: a busy
  // machine delays some.
  const std::string ping = testing::read_file_of_command(
      "ip netns exec dmlsim-tu-h0 ping -U -c 5 -i 0.2 -q " +
      std::string("$(ip netns exec dmlsim-tu-h1 ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)"));
  const std::size_t at = ping.find("rtt min/avg/max");
  ASSERT_NE(at, std::string::npos) << ping;
  const double min_rtt_ms = std::stod(ping.substr(ping.find('=', at) + 2));
  EXPECT_GT(min_rtt_ms, 4.0) << ping;
  EXPECT_LT(min_rtt_ms, 6.0) << ping;

  const auto down = run_dmlsim({"testbed", "down", "--name", "tu"}, scratch);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(leftovers("tu"), "");
  const auto again = run_dmlsim({"testbed", "down", "--name", "tu"}, scratch);  // idempotent
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

// Two testbeds brought up at the same moment take different subnets (a lock is held from
// choosing a free one until the bridge has it); three pairs, since a race is a matter of timing.
TEST(Testbed, TwoBroughtUpAtOnceTakeDifferentSubnets) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-race");
  TestbedGuard guard_a{"ra"}, guard_b{"rb"};
  write_file(scratch / "platform.yaml", kPlatform);
  const std::string platform = (scratch / "platform.yaml").string();
  const std::string dmlsim = testing::quote(testing::dmlsim_binary().string());
  for (int pair = 0; pair < 3; ++pair) {
    (void)testing::read_file_of_command(dmlsim + " testbed up " + platform + " --name ra >/dev/null 2>&1 & " +
                                        dmlsim + " testbed up " + platform +
                                        " --name rb >/dev/null 2>&1; wait");
    const auto subnet = [](const std::string& name) {
      const nlohmann::json j = testing::read_json("/run/dmlsim/testbed-" + name + "/testbed.json");
      return j.at("subnet").get<std::string>();
    };
    EXPECT_NE(subnet("ra"), subnet("rb")) << "pair " << pair;
    EXPECT_EQ(run_dmlsim({"testbed", "down", "--name", "ra"}, scratch).exit_code, 0);
    EXPECT_EQ(run_dmlsim({"testbed", "down", "--name", "rb"}, scratch).exit_code, 0);
  }
  EXPECT_EQ(leftovers("ra"), "");
  EXPECT_EQ(leftovers("rb"), "");
}

// `dmlsim validate --max-error`: a prediction further off than that is a failed check, exit code 1
// (not bad input), with one line saying by how much. The platform as written stands in for a
// calibrated one: no prediction is within 0.001 % of a measured run.
TEST(Testbed, ValidateAboveMaxErrorExitsOne) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-max-error");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  const auto r = run_dmlsim(
      {"validate", (scratch / "e.yaml").string(), "--calibrated", (scratch / "platform.yaml").string(),
       "--repeat", "1", "--max-error", "0.001", "--out", (scratch / "v").string()},
      scratch);
  EXPECT_NE(r.err.find("exceeds --max-error 0.001 %"), std::string::npos) << r.err;
  if (r.err.find("not a finding") != std::string::npos) {
    // Other processes kept the machine busy around the measurement (ctest runs this test alone, so
    // something outside it did): reported, not a failure.
    std::cout << "the machine was busy: " << r.err;
    EXPECT_EQ(r.exit_code, 0) << r.err;
  } else {
    EXPECT_EQ(r.exit_code, 1) << r.err;
  }
  EXPECT_TRUE(std::filesystem::exists(scratch / "v" / "validation.json"))
      << "the report is written all the same";
}

// A host whose uplink and downlink differ is shaped that way: what leaves its eth0 at the uplink's
// rate, what the bridge sends into it at the downlink's; `up` says both.
TEST(Testbed, AnAsymmetricLinkIsShapedEachWay) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-asymmetric");
  TestbedGuard guard{"ta"};
  write_file(scratch / "platform.yaml", R"(platform:
  topology: star
  hosts: 2
  link: {bandwidth: 800Mbps, latency: 0us}
  host_links: {1: {up: 100Mbps, down: 400Mbps, latency: 0us}}
  device: cpu
)");
  const auto up =
      run_dmlsim({"testbed", "up", (scratch / "platform.yaml").string(), "--name", "ta"}, scratch);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("100 Mbps up, 400 Mbps down"), std::string::npos) << up.out;
  const std::string inside =
      testing::read_file_of_command("ip netns exec dmlsim-ta-h1 tc qdisc show dev eth0");
  EXPECT_NE(inside.find("rate 100Mbit"), std::string::npos) << inside;
  const std::string outside = testing::read_file_of_command("tc qdisc show dev dmtah1");
  EXPECT_NE(outside.find("rate 400Mbit"), std::string::npos) << outside;
  const std::string other = testing::read_file_of_command("tc qdisc show dev dmtah0");
  EXPECT_NE(other.find("rate 800Mbit"), std::string::npos) << other;
  const auto down = run_dmlsim({"testbed", "down", "--name", "ta"}, scratch);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(leftovers("ta"), "");
}

// A delay line that dies at once would leave its namespace's packets queued for nobody (the run
// would hang until its timeout): `up` must notice, say so, and leave nothing behind.
TEST(Testbed, ADelayLineThatExitsFailsUpAndLeavesNothing) {
  DMLSIM_REQUIRE_ROOT();
  TestbedGuard guard{"tdl"};
  const core::Platform p =
      core::parse_platform(core::ConfigNode::load_string(kPlatform, "platform.yaml").at("platform"));
  try {
    real::testbed_up(p, "tdl", "/bin/false");
    FAIL() << "expected the dead delay line to be reported";
  } catch (const core::BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("the delay line of dmlsim-tdl-h0 exited (1)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(leftovers("tdl"), "");
}

TEST(Testbed, AHungRankIsNamedAndTheKilledRunLeavesNothingAfterDown) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-hang");
  TestbedGuard guard{"th"};
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  ASSERT_EQ(
      run_dmlsim({"testbed", "up", (scratch / "platform.yaml").string(), "--name", "th"}, scratch).exit_code,
      0);
  setenv("DMLSIM_FAULT", "rank=1,kind=hang,iteration=2", 1);
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--testbed", "th",
                             "--timeout", "6", "--out", (scratch / "out").string()},
                            scratch);
  unsetenv("DMLSIM_FAULT");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << "a failed run, not bad input";
  EXPECT_NE(r.err.find("did not finish within 6 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rank 1 got least far"), std::string::npos) << r.err;
  EXPECT_LT(took, 20) << "the timeout did not stop the run";
  // The failed run's log is kept and named, inside the testbed's state: `testbed down` removes it.
  const std::filesystem::path log = testing::named_mpirun_log(r.err);
  ASSERT_FALSE(log.empty()) << r.err;
  EXPECT_EQ(log.string().rfind("/run/dmlsim/testbed-th/runs/", 0), 0u) << log;
  EXPECT_TRUE(std::filesystem::exists(log)) << log;
  EXPECT_FALSE(std::filesystem::exists(scratch / "out"));
  ASSERT_EQ(run_dmlsim({"testbed", "down", "--name", "th"}, scratch).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(log.parent_path())) << "testbed down left the run's log directory";
  EXPECT_EQ(leftovers("th"), "");
}

TEST(Testbed, ACrashedRankIsNamedAndATemporaryTestbedIsRemoved) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-crash");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  setenv("DMLSIM_FAULT", "rank=2,kind=crash,iteration=1", 1);
  const auto r = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--timeout", "60",
                             "--out", (scratch / "out").string()},
                            scratch);
  unsetenv("DMLSIM_FAULT");
  EXPECT_EQ(r.exit_code, 1) << "a failed run, not bad input";
  EXPECT_NE(r.err.find("rank 2 failed"), std::string::npos) << r.err;
  testing::remove_kept_work_dir(r.err);
  EXPECT_FALSE(std::filesystem::exists(scratch / "out"));
  // The run brought up a temporary testbed ("r" + its pid) and must have removed it.
  EXPECT_EQ(testing::read_file_of_command("ip netns list | grep '^dmlsim-r' || true"), "");
  EXPECT_EQ(testing::read_file_of_command("ip -o link show | grep ': dmr' || true"), "");
}

// Ctrl-C (or SIGTERM from a job scheduler) in the middle of a real run on a temporary testbed:
// the ranks are stopped and the testbed is taken down before dmlsim exits with 128 + signal.
TEST(Testbed, AnInterruptedRunLeavesNothing) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-interrupt");
  write_file(scratch / "platform.yaml", kPlatform);
  write_file(scratch / "e.yaml", kExperiment);
  // A rank that hangs keeps the run going until the signal; once a rank has started, the testbed
  // is up (its name is "r" and dmlsim's pid, last five digits).
  const std::string script = fmt::format(
      "cd {dir} && DMLSIM_FAULT=rank=1,kind=hang,iteration=1 {dmlsim} run e.yaml --backend real --timeout 60 "
      "--out out 2>err.txt & pid=$!; "
      "for i in $(seq 100); do pgrep -x dmlsim-rank >/dev/null && break; sleep 0.2; done; sleep 1; "
      "echo r$((pid % 100000)); kill -INT $pid; wait $pid; echo $?; "
      "test -e /tmp/dmlsim-real-$pid && echo work-dir-left || echo clean",
      fmt::arg("dir", testing::quote(scratch.path().string())),
      fmt::arg("dmlsim", testing::quote(testing::dmlsim_binary().string())));
  std::istringstream said(testing::read_file_of_command(script));
  std::string name;
  int exit_code = -1;
  std::string work_dir;
  said >> name >> exit_code >> work_dir;
  const std::string err = testing::read_file(scratch / "err.txt");
  EXPECT_EQ(exit_code, 130) << err;
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  EXPECT_NE(err.find(fmt::format("took testbed '{}' down", name)), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "out"));
  EXPECT_EQ(work_dir, "clean") << "the run's work directory";
  EXPECT_EQ(leftovers(name), "");
}

// The minimum round trip of five pings from host `from` to host `to` of testbed `name`, in ms. -U
// times it in user space (see ComesUpShapedAndGoesDownCompletely).
double ping_ms(const std::string& name, int from, int to) {
  const nlohmann::json t = testing::read_json("/run/dmlsim/testbed-" + name + "/testbed.json");
  const std::string ping = testing::read_file_of_command(
      fmt::format("ip netns exec {} ping -U -c 5 -i 0.2 -q {}", t["hosts"][from]["netns"].get<std::string>(),
                  t["hosts"][to]["address"].get<std::string>()));
  const std::size_t at = ping.find("rtt min/avg/max");
  if (at == std::string::npos) {
    ADD_FAILURE() << ping;
    return 0;
  }
  return std::stod(ping.substr(ping.find('=', at) + 2));
}

// An edge platform with regional aggregators (hierarchical FL): each region is a switch of its own
// behind its WAN link, shaped each way; a path out of a region pays the region's WAN latency, one
// between two regions both; and hierarchical FedAvg runs on it for real, moving the updates the
// simulator moves.
TEST(Testbed, ARegionWithAnAggregatorIsASwitchBehindItsWanLink) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-regions");
  TestbedGuard guard{"tr"};
  // Hosts: 0 (north), 1 (south), the aggregators 2 (north) and 3 (south), the server 4.
  write_file(scratch / "platform.yaml", R"(platform:
  topology: edge
  server: {link: {bandwidth: 1Gbps, latency: 10us}, device: cpu}
  regions:
    north: {wan: {bandwidth: 100Mbps, latency: 2ms}, aggregator: {link: {bandwidth: 1Gbps, latency: 10us}, device: cpu}}
    south: {wan: {bandwidth: 50Mbps, latency: 3ms}, aggregator: {link: {bandwidth: 1Gbps, latency: 10us}, device: cpu}}
  classes:
    fast: {count: 1, link: {down: 400Mbps, up: 200Mbps, latency: 10us}, device: cpu, region: north}
    slow: {count: 1, link: {down: 100Mbps, up: 20Mbps, latency: 1ms}, device: cpu, region: south}
)");
  const auto up =
      run_dmlsim({"testbed", "up", (scratch / "platform.yaml").string(), "--name", "tr"}, scratch);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("in region south (+3 ms to hosts outside it)"), std::string::npos) << up.out;
  // South's clients are 1 + 3 ms from the server: Reno, not BBR (realrun/testbed.cpp).
  EXPECT_NE(up.out.find("TCP congestion control reno (long paths)"), std::string::npos) << up.out;
  EXPECT_NE(testing::read_file_of_command("ip netns exec dmlsim-tr-h4 sysctl net.ipv4.tcp_congestion_control")
                .find("= reno"),
            std::string::npos);
  EXPECT_NE(testing::read_file_of_command("ip -o link show dmtrh0").find("master dmtrs0"), std::string::npos);
  EXPECT_NE(testing::read_file_of_command("ip -o link show dmtrh3").find("master dmtrs1"), std::string::npos);
  EXPECT_NE(testing::read_file_of_command("ip -o link show dmtrh4").find("master dmtrbr"), std::string::npos);
  for (const auto& [device, rate] : std::vector<std::pair<std::string, std::string>>{
           {"dmtru0", "100Mbit"}, {"dmtrc0", "100Mbit"}, {"dmtru1", "50Mbit"}, {"dmtrc1", "50Mbit"}}) {
    const std::string qdisc = testing::read_file_of_command("tc qdisc show dev " + device);
    EXPECT_NE(qdisc.find("rate " + rate), std::string::npos) << device << ": " << qdisc;
  }
  // Round trips: inside north nothing is added; north → server 2 × 2 ms; south's client to its
  // aggregator 2 × 1 ms; north → south 2 × (2 + 3 + 1) ms (each delay line passed adds tens of µs).
  EXPECT_LT(ping_ms("tr", 0, 2), 1.0);
  const double north_to_server = ping_ms("tr", 0, 4);
  EXPECT_GT(north_to_server, 4.0);
  EXPECT_LT(north_to_server, 5.5);
  const double south_inside = ping_ms("tr", 1, 3);
  EXPECT_GT(south_inside, 2.0);
  EXPECT_LT(south_inside, 3.5);
  const double across = ping_ms("tr", 0, 1);
  EXPECT_GT(across, 12.0);
  EXPECT_LT(across, 14.0);

  write_file(scratch / "e.yaml", R"(experiment:
  platform: platform.yaml
  model: {type: mlp, widths: [64, 128, 10], batch: 8, dtype: fp32}
  iterations: 3
  strategy: {type: federated, mode: hierarchical, clients_per_round: 1, edge_rounds: 2, samples: 64, seed: 1}
  simulation: {payload: true, trace: phases}
)");
  const auto real = run_dmlsim({"run", (scratch / "e.yaml").string(), "--backend", "real", "--testbed", "tr",
                                "--timeout", "120", "--out", (scratch / "real").string()},
                               scratch);
  ASSERT_EQ(real.exit_code, 0) << real.err << real.out;
  testing::expect_same_events_as_simulated(scratch / "e.yaml", scratch / "real", 5, scratch);

  ASSERT_EQ(run_dmlsim({"testbed", "down", "--name", "tr"}, scratch).exit_code, 0);
  EXPECT_EQ(leftovers("tr"), "");
}

// `dmlsim sweep` under mpirun across the testbed's hosts (the testbed as a cluster): the ranks split
// the points, each in its own host's network namespace, and rank 0 writes the CSV the sweep run
// at one go writes.
TEST(Testbed, SweepUnderMpirunAcrossTheHostsEqualsTheWholeSweep) {
  DMLSIM_REQUIRE_ROOT();
  ScratchDir scratch("testbed-sweep");
  TestbedGuard guard{"sw"};
  write_file(scratch / "platform.yaml",
             std::string(kPlatform).replace(std::string(kPlatform).find("hosts: 3"), 8, "hosts: 4"));
  const auto up =
      run_dmlsim({"testbed", "up", (scratch / "platform.yaml").string(), "--name", "sw"}, scratch);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  write_file(scratch / "sweep.yaml",
             fmt::format("sweep:\n  experiment: {}\n  set: {{iterations: 1, strategy.size: 4MiB}}\n  axes:\n"
                         "    strategy.algorithm: [ring, tree, halving-doubling]\n    ranks: [2, 4, 8, 16]\n",
                         (testing::source_dir() / "experiments" / "allreduce-star.yaml").string()));
  const auto whole = run_dmlsim(
      {"sweep", (scratch / "sweep.yaml").string(), "--out", (scratch / "whole").string()}, scratch);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  const std::filesystem::path state = "/run/dmlsim/testbed-sw";
  const std::string subnet = testing::read_json(state / "testbed.json")["subnet"];
  const auto out = scratch / "mpi";
  const std::string command = fmt::format(
      "cd {} && mpirun --allow-run-as-root -np 4 --hostfile {} --mca plm_rsh_agent {} --mca "
      "oob_tcp_if_include {} "
      "{} sweep {} --out {} --jobs 1 > mpirun.log 2>&1",
      testing::quote(scratch.path().string()), testing::quote((state / "hostfile").string()),
      testing::quote((state / "rsh-agent.sh").string()), subnet,
      testing::quote(testing::dmlsim_binary().string()), testing::quote((scratch / "sweep.yaml").string()),
      testing::quote(out.string()));
  ASSERT_EQ(std::system(command.c_str()), 0) << testing::read_file(scratch / "mpirun.log");
  EXPECT_NE(testing::read_file(scratch / "mpirun.log").find("4 shards merged"), std::string::npos)
      << testing::read_file(scratch / "mpirun.log");
  EXPECT_EQ(testing::read_file(out / "sweep.csv"), testing::read_file(scratch / "whole" / "sweep.csv"));
  // Each shard ran in its own host's namespace, none in this test's.
  std::set<std::string> namespaces;
  for (int i = 0; i < 4; ++i) {
    const nlohmann::json mark = testing::read_json(out / fmt::format("shard-{}-of-4.done", i));
    EXPECT_EQ(mark["shard"], i);
    namespaces.insert(mark["net_namespace"].get<std::string>());
  }
  EXPECT_EQ(namespaces.size(), 4u);
  EXPECT_EQ(namespaces.count(std::filesystem::read_symlink("/proc/self/ns/net").string()), 0u);
  ASSERT_EQ(run_dmlsim({"testbed", "down", "--name", "sw"}, scratch).exit_code, 0);
  EXPECT_EQ(leftovers("sw"), "");
}

}  // namespace
}  // namespace dmlsim
