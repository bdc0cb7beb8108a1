#pragma once
// Runs the dmlsim executable from tests (each simulation in its own process, as in real use).
#include <fmt/format.h>
#include <unistd.h>

#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace dmlsim::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Network namespaces need root; CI runs as root, a developer may not.
#define DMLSIM_REQUIRE_ROOT() \
  if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces (CI runs as root); skipped"

inline std::filesystem::path source_dir() {
  return DMLSIM_SOURCE_DIR;
}
inline std::filesystem::path dmlsim_binary() {
  return std::filesystem::path(DMLSIM_BINARY_DIR) / "dmlsim";
}

// A fresh directory under the build tree, removed when the object dies.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::path(DMLSIM_BINARY_DIR) / "test-scratch" /
              fmt::format("{}-{}", name, getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `dmlsim ARGS...` in the scratch directory (so default outputs such as dmlsim-out/ land
// there, where a test can look for them), capturing stdout and stderr.
inline CliResult run_dmlsim(const std::vector<std::string>& args, const ScratchDir& scratch) {
  std::string command = "cd " + quote(scratch.path().string()) + " && " + quote(dmlsim_binary().string());
  for (const std::string& a : args) command += " " + quote(a);
  const auto out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  command += " >" + quote(out.string()) + " 2>" + quote(err.string());
  const int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// Runs a shell command line and returns what it printed (stdout and stderr).
inline std::string read_file_of_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  pclose(pipe);
  return out;
}

// A trace.csv row's fields (no quoted commas in these tests), the last one even when empty.
inline std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> f(1);
  for (const char c : line) {
    if (c == ',') {
      f.emplace_back();
    } else {
      f.back() += c;
    }
  }
  return f;
}

// What a run did, whatever its timing: each trace.csv event as "rank,lane,name,peer,bytes,iteration,comm"
// (attributes left out: the measured staleness of an asynchronous update varies), with its count. Read
// without dmlsim code; names in these tests hold no commas.
inline std::map<std::string, int> events_of(const std::filesystem::path& csv) {
  std::map<std::string, int> out;
  std::istringstream in(read_file(csv));
  std::string line;
  std::getline(in, line);
  const std::size_t columns = split_row(line).size();  // 15 fixed columns, then the attributes
  while (std::getline(in, line)) {
    const std::vector<std::string> f = split_row(line);
    if (f.size() != columns) {
      out["bad row: " + line]++;
      continue;
    }
    out[fmt::format("{},{},{},{},{},{},{}", f[0], f[1], f[2], f[9], f[7], f[10], f[14])]++;
  }
  return out;
}

// The mpirun log a failed real run names on stderr (its work directory is kept); empty if none.
inline std::filesystem::path named_mpirun_log(const std::string& err) {
  const std::string marker = "mpirun's log: ";
  const std::size_t at = err.find(marker);
  if (at == std::string::npos) return {};
  return err.substr(at + marker.size(), err.find('\n', at) - at - marker.size());
}

// Removes the work directory a failed real run kept; returns its log's path (empty if none).
inline std::filesystem::path remove_kept_work_dir(const std::string& err) {
  const std::filesystem::path log = named_mpirun_log(err);
  if (!log.empty()) std::filesystem::remove_all(log.parent_path());
  return log;
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  return nlohmann::json::parse(read_file(p));
}

// Runs `experiment` in the simulator beside a real run already written to `real_out` and expects
// the same messages and the same events (events_of) on every rank, at least `ranks` of them.
inline void expect_same_events_as_simulated(const std::filesystem::path& experiment,
                                            const std::filesystem::path& real_out, int ranks,
                                            const ScratchDir& scratch) {
  const auto sim_out = scratch / "sim";
  const auto sim = run_dmlsim({"run", experiment.string(), "--quiet", "--out", sim_out.string()}, scratch);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  EXPECT_EQ(read_json(real_out / "summary.json")["messages"],
            read_json(sim_out / "summary.json")["messages"]);
  const auto events = events_of(real_out / "trace.csv");
  EXPECT_GE(events.size(), static_cast<std::size_t>(ranks)) << "events of every rank";
  EXPECT_EQ(events, events_of(sim_out / "trace.csv"));
}

}  // namespace dmlsim::testing
