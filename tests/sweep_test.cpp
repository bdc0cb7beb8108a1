// `dmlsim sweep` end to end: 200 points with two jobs, each row the point's own summary; an
// interrupted sweep resumed without redoing a point; shards merged into the unsharded CSV; failed
// and invalid points recorded while the sweep goes on; bad input with exit code 2.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::read_file;
using testing::read_json;
using testing::run_dmlsim;
using testing::ScratchDir;
using testing::write_file;

std::string experiment() {
  return (testing::source_dir() / "experiments" / "allreduce-star.yaml").string();
}

// Every point one all-reduce of 16 MiB, once, with phases only in its trace: quick to simulate.
const std::vector<std::string> kQuick = {"--set", "iterations=1",       "--set", "simulation.trace=phases",
                                         "--set", "strategy.size=16MiB"};

std::filesystem::path write_sweep(const ScratchDir& scratch, const std::string& axes,
                                  const std::string& more = "") {
  write_file(scratch / "sweep.yaml",
             fmt::format("sweep:\n  name: s\n  experiment: {}\n{}  axes:\n{}", experiment(), more, axes));
  return scratch / "sweep.yaml";
}

std::vector<std::string> args(std::vector<std::string> a, const std::vector<std::string>& more = kQuick) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// sweep.csv as rows of named fields (no quoted fields in these sweeps).
std::vector<std::map<std::string, std::string>> read_rows(const std::filesystem::path& csv) {
  std::istringstream in(read_file(csv));
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = testing::split_row(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = testing::split_row(line);
    EXPECT_EQ(f.size(), header.size()) << line;
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < f.size() && i < header.size(); ++i) row[header[i]] = f[i];
    rows.push_back(row);
  }
  return rows;
}

// The summary's figure a column names, found without dmlsim's code: a dotted path into
// summary.json, busiest_link.* in links[0], collective.* in collectives[0].
const nlohmann::json* figure(const nlohmann::json& summary, const std::string& column) {
  const nlohmann::json* node = &summary;
  std::string rest = column;
  for (const auto& [prefix, list] :
       {std::pair{"busiest_link.", "links"}, std::pair{"collective.", "collectives"}}) {
    if (rest.starts_with(prefix)) {
      node = &summary.at(list).at(0);
      rest = rest.substr(std::string(prefix).size());
    }
  }
  for (std::size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    if (!node->contains(rest.substr(0, dot))) return nullptr;
    node = &node->at(rest.substr(0, dot));
  }
  return node->contains(rest) ? &node->at(rest) : nullptr;
}

void expect_row_is_summary(const std::map<std::string, std::string>& row, const nlohmann::json& summary) {
  int checked = 0;
  for (const auto& [column, text] : row) {
    if (column.find('.') == std::string::npos && !summary.contains(column))
      continue;  // point, axes, status...
    const nlohmann::json* value = figure(summary, column);
    if (value == nullptr) continue;  // an axis such as strategy.algorithm
    ++checked;
    if (value->is_number()) {
      EXPECT_EQ(std::stod(text), value->get<double>()) << column;
    } else if (value->is_string()) {
      EXPECT_EQ(text, value->get<std::string>()) << column;
    } else if (value->is_null()) {
      EXPECT_EQ(text, "") << column;
    }
  }
  EXPECT_GE(checked, 30) << "figures per row";
}

TEST(Sweep, TwoHundredPointsWithTwoJobsEachRowItsRunsSummary) {
  const ScratchDir scratch("sweep-200");
  const auto file = write_sweep(scratch,
                                "    strategy.algorithm: [ring, tree, halving-doubling, double-binary-tree]\n"
                                "    ranks: [2, 4, 8, 12, 16]\n"
                                "    platform.link.bandwidth: {from: 1Gbps, to: 512Gbps, factor: 2}\n");
  const auto out = scratch / "out";
  const auto r = run_dmlsim(args({"sweep", file.string(), "--jobs", "2", "--out", out.string()}), scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("200 point(s) over 3 axes; 200 to run, 2 at a time"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(100/200, "), std::string::npos) << "progress with the time left";
  const auto rows = read_rows(out / "sweep.csv");
  ASSERT_EQ(rows.size(), 200u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.at("point"), std::to_string(i));
    ASSERT_EQ(row.at("status"), "ok") << row.at("error");
    // The product's order: bandwidth fastest, then ranks, then the algorithm.
    EXPECT_EQ(row.at("platform.link.bandwidth"), fmt::format("{}Gbps", 1 << (i % 10)));
    const std::vector<std::string> ranks{"2", "4", "8", "12", "16"};
    EXPECT_EQ(row.at("ranks"), ranks[i / 10 % 5]);
    const nlohmann::json summary = read_json(out / row.at("output") / "summary.json");
    EXPECT_EQ(summary["ranks"], std::stoi(row.at("ranks")));
    expect_row_is_summary(row, summary);
  }
  // A ring's time is its closed form 2(n−1)(α + S/(nB)) on the star (α = 2 µs host to host).
  const auto& ring = rows[4 * 10 + 3];  // ring, 16 ranks, 8 Gbps
  EXPECT_NEAR(std::stod(ring.at("iteration_s")), 2 * 15 * (2e-6 + 16.0 * (1 << 20) / 16 / (8e9 / 8)), 1e-12);
  // A point's directory is what `dmlsim run` writes for the same inputs.
  for (const int point : {0, 57, 123, 199}) {
    const auto& row = rows[static_cast<std::size_t>(point)];
    const auto alone = scratch / fmt::format("alone-{}", point);
    const auto a = run_dmlsim(
        args({"run", experiment(), "--quiet", "--out", alone.string(), "--set",
              "strategy.algorithm=" + row.at("strategy.algorithm"), "--set", "ranks=" + row.at("ranks"),
              "--set", "platform.link.bandwidth=" + row.at("platform.link.bandwidth"), "--set",
              fmt::format("name=s-{:04}", point)}),
        scratch);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(read_json(alone / "summary.json"), read_json(out / row.at("output") / "summary.json"));
  }
}

// The shipped example: every point's simulated time is its closed form (a star: no contention).
TEST(Sweep, ShippedExampleMatchesTheClosedFormsAtEveryPoint) {
  const ScratchDir scratch("sweep-example");
  const auto r = run_dmlsim(
      {"sweep", (testing::source_dir() / "experiments" / "sweep-allreduce.yaml").string()}, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = read_rows(scratch / "dmlsim-out" / "sweep" / "allreduce" / "sweep.csv");
  ASSERT_EQ(rows.size(), 80u);
  std::set<std::string> algorithms;
  for (const auto& row : rows) {
    algorithms.insert(row.at("strategy.algorithm"));
    const double predicted = std::stod(row.at("predicted_iteration_s"));
    EXPECT_NEAR(std::stod(row.at("iteration_s")), predicted, 1e-9 * predicted) << row.at("point");
    EXPECT_EQ(row.at("collective.bytes"), std::to_string(64 << 20));
  }
  EXPECT_EQ(algorithms.size(), 4u);
}

// Starts `dmlsim ARGS` in the background with its output in `log`; returns its pid.
pid_t start_dmlsim(const std::vector<std::string>& a, const std::filesystem::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<std::string> storage{testing::dmlsim_binary().string()};
    storage.insert(storage.end(), a.begin(), a.end());
    std::vector<char*> argv;
    for (std::string& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

std::size_t lines_of(const std::filesystem::path& file) {
  const std::string text = read_file(file);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Sweep, InterruptedHalfWayAndResumedRedoesNoPoint) {
  const ScratchDir scratch("sweep-resume");
  // 48 points that each take a moment: every message in the trace, 16 ranks.
  const auto file = write_sweep(scratch,
                                "    strategy.algorithm: [ring, tree, halving-doubling]\n"
                                "    platform.link.bandwidth: {from: 1Gbps, to: 32768Gbps, factor: 2}\n");
  const std::vector<std::string> slow = {"--set", "iterations=2", "--set", "simulation.trace=messages"};
  const auto out = scratch / "out";
  const pid_t sweep = start_dmlsim(args({"sweep", file.string(), "--jobs", "1", "--out", out.string()}, slow),
                                   scratch / "first.log");
  // Half-way (at least 12 of 48 points finished), as a user's Ctrl-C would.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (lines_of(out / "points.jsonl") < 12 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(sweep, SIGINT);
  int status = 0;
  waitpid(sweep, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << read_file(scratch / "first.log");
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_file(scratch / "first.log");
  EXPECT_NE(read_file(scratch / "first.log").find("stopping the runs in progress"), std::string::npos);
  // Nothing of the sweep runs on, nothing half written is left.
  // ("[/]..." matches the path but not pgrep's own shell, whose command line holds the brackets.)
  EXPECT_EQ(testing::read_file_of_command("pgrep -f -- " +
                                          testing::quote("[/]" + (out / "points").string().substr(1))),
            "");
  const std::size_t done = lines_of(out / "points.jsonl");
  ASSERT_GE(done, 12u);
  ASSERT_LT(done, 48u) << "the sweep ended before the interrupt: make its points slower";
  for (const auto& entry : std::filesystem::directory_iterator(out / "points"))
    ASSERT_NE(entry.path().filename().string().front(), '.')
        << "a staging directory is left: " << entry.path();
  // The points the sweep recorded as finished, each with its summary.json's inode and mtime. (A
  // point may also have finished in the instant between its run's end and its line.)
  std::map<std::string, std::pair<ino_t, std::int64_t>> finished;
  std::istringstream lines(read_file(out / "points.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json entry = nlohmann::json::parse(line);
    ASSERT_EQ(entry["status"], "ok") << line;
    const auto dir = fmt::format("{:04}", entry["point"].get<int>());
    struct stat s {};
    ASSERT_EQ(stat((out / "points" / dir / "summary.json").c_str(), &s), 0) << dir << " has no summary";
    finished[dir] = {s.st_ino, s.st_mtim.tv_sec * 1'000'000'000 + s.st_mtim.tv_nsec};
  }
  EXPECT_EQ(finished.size(), done);

  const auto resumed = run_dmlsim(
      args({"sweep", file.string(), "--jobs", "2", "--out", out.string(), "--resume"}, slow), scratch);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find(fmt::format("{} done already; {} to run", done, 48 - done)), std::string::npos)
      << resumed.out;
  for (const auto& [dir, id] : finished) {
    struct stat s {};
    ASSERT_EQ(stat((out / "points" / dir / "summary.json").c_str(), &s), 0);
    EXPECT_EQ(id, std::make_pair(s.st_ino, s.st_mtim.tv_sec * 1'000'000'000 + s.st_mtim.tv_nsec))
        << dir << " ran again";
  }
  // The same CSV as the sweep run at one go.
  const auto whole =
      run_dmlsim(args({"sweep", file.string(), "--out", (scratch / "whole").string()}, slow), scratch);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(read_file(out / "sweep.csv"), read_file(scratch / "whole" / "sweep.csv"));

  // Resumed with other inputs, every point runs again.
  const auto changed = run_dmlsim(
      args({"sweep", file.string(), "--out", out.string(), "--resume", "--set", "strategy.size=1MiB"}, slow),
      scratch);
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_NE(changed.out.find("; 48 to run"), std::string::npos) << changed.out;
}

TEST(Sweep, ShardsMergedAreTheWholeSweep) {
  const ScratchDir scratch("sweep-shards");
  const auto file = write_sweep(scratch,
                                "    strategy.algorithm: [ring, tree]\n"
                                "    ranks: {from: 4, to: 16, step: 4}\n"
                                "    strategy.size: {from: 1MiB, to: 64MiB, count: 3, scale: log}\n",
                                "  combine: random\n  samples: 17\n  seed: 5\n");
  const auto out = scratch / "out";
  ASSERT_EQ(
      run_dmlsim(args({"sweep", file.string(), "--out", (scratch / "whole").string()}), scratch).exit_code,
      0);
  for (int i = 0; i < 3; ++i) {
    const auto r = run_dmlsim(
        args({"sweep", file.string(), "--out", out.string(), "--shard", fmt::format("{}/3", i)}), scratch);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(fmt::format("{} point(s) of 17 (shard {}/3)", i < 2 ? 6 : 5, i)), std::string::npos)
        << r.out;
  }
  const auto merged = run_dmlsim(
      {"sweep", "merge", (out / "sweep-shard-2-of-3.csv").string(), (out / "sweep-shard-0-of-3.csv").string(),
       (out / "sweep-shard-1-of-3.csv").string(), "-o", (scratch / "merged.csv").string()},
      scratch);
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(read_file(scratch / "merged.csv"), read_file(scratch / "whole" / "sweep.csv"));
  EXPECT_EQ(read_rows(scratch / "merged.csv").size(), 17u);
  // A shard given twice overlaps.
  const auto twice =
      run_dmlsim({"sweep", "merge", (out / "sweep-shard-0-of-3.csv").string(),
                  (out / "sweep-shard-0-of-3.csv").string(), "-o", (scratch / "bad.csv").string()},
                 scratch);
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("shards overlap"), std::string::npos) << twice.err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "bad.csv"));
}

TEST(Sweep, FailedAndInvalidPointsAreRecordedAndTheSweepGoesOn) {
  const ScratchDir scratch("sweep-failures");
  const auto file = write_sweep(scratch, "    ranks: [4, 20, 8]\n");
  const auto out = scratch / "out";
  // Point 2 cannot write its directory: a file is in the way.
  std::filesystem::create_directories(out / "points");
  write_file(out / "points" / "0002", "in the way\n");
  const auto r = run_dmlsim(args({"sweep", file.string(), "--out", out.string()}), scratch);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("3 point(s) over 1 axis, 1 with invalid input; 2 to run"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("2 of 3 point(s) failed"), std::string::npos) << r.err;
  const auto rows = read_rows(out / "sweep.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("status"), "ok");
  EXPECT_EQ(rows[0].at("ranks"), "4");
  EXPECT_EQ(rows[1].at("status"), "failed");
  EXPECT_NE(rows[1].at("error").find("20 ranks do not fit platform 'star-16'"), std::string::npos)
      << rows[1].at("error");
  EXPECT_EQ(rows[2].at("status"), "failed");
  EXPECT_NE(rows[2].at("error").find("is not a directory"), std::string::npos) << rows[2].at("error");
  EXPECT_EQ(rows[1].at("iteration_s"), "");
  EXPECT_NE(read_file(out / "logs" / "0002.log").find("is not a directory"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out / "logs" / "0000.log")) << "a successful point's log is removed";

  // A shard whose every point is invalid, in a sweep with valid points elsewhere: failed rows, exit 1.
  const auto shard_file = write_sweep(scratch, "    ranks: [4, 20, 8, 20]\n");
  const auto shard = run_dmlsim(
      args({"sweep", shard_file.string(), "--out", (scratch / "shard").string(), "--shard", "1/2"}), scratch);
  EXPECT_EQ(shard.exit_code, 1) << shard.err;
  const auto shard_rows = read_rows(scratch / "shard" / "sweep-shard-1-of-2.csv");
  ASSERT_EQ(shard_rows.size(), 2u);
  EXPECT_EQ(shard_rows[0].at("point"), "1");
  EXPECT_EQ(shard_rows[1].at("status"), "failed");
}

TEST(Sweep, BadInputIsOneErrorWithExitCodeTwoAndNoOutput) {
  const ScratchDir scratch("sweep-bad");
  const auto out = scratch / "out";
  // Every point invalid: an axis that is no field of the experiment.
  const auto file = write_sweep(scratch, "    strategy.algoritm: [ring, tree]\n");
  auto r = run_dmlsim({"sweep", file.string(), "--out", out.string()}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("every point's experiment is invalid"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("algoritm"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // A bad sweep file names its line and field.
  write_file(scratch / "bad.yaml",
             fmt::format("sweep:\n  experiment: {}\n  axes:\n    ranks: []\n", experiment()));
  r = run_dmlsim({"sweep", (scratch / "bad.yaml").string(), "--out", out.string()}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:4: field 'sweep.axes.ranks': no values"), std::string::npos) << r.err;
  for (const std::string shard : {"3/3", "1", "a/b", "-1/2", "1/0"}) {
    r = run_dmlsim({"sweep", file.string(), "--shard", shard}, scratch);
    EXPECT_EQ(r.exit_code, 2) << shard;
    EXPECT_NE(r.err.find("expected I/N"), std::string::npos) << r.err;
  }
  r = run_dmlsim({"sweep"}, scratch);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give a sweep FILE"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(scratch / "dmlsim-out"));
}

}  // namespace
}  // namespace dmlsim
