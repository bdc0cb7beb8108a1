#pragma once
// Shared by the GUI tests: one QApplication per test process (each test case runs in its own
// process), the runs dmlsim made for the tests at build time, and an independent trace.csv reader.
#include <gtest/gtest.h>

#include <QApplication>
#include <QFont>
#include <QFontMetrics>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace dmlsim::testing {

inline QApplication& gui_app() {
  // ctest sets QT_QPA_PLATFORM=offscreen; run by hand without a display, do the same.
  if (!std::getenv("QT_QPA_PLATFORM") && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY"))
    setenv("QT_QPA_PLATFORM", "offscreen", 1);
  static int argc = 1;
  static char name[] = "dmlsim-gui-test";
  static char* argv[] = {name, nullptr};
  // Never destroyed: destroying it among the exit handlers, after Qt's own statics, crashes.
  static QApplication* app = new QApplication(argc, argv);
  return *app;
}

// Without fonts Qt draws empty boxes and pixel tests still pass: fail loudly instead.
inline bool fonts_work() {
  return QFontMetrics(QFont()).inFont(QChar(u'A'));
}

inline std::filesystem::path source_dir() {
  return DMLSIM_SOURCE_DIR;
}
inline std::filesystem::path binary_dir() {
  return DMLSIM_BINARY_DIR;
}
// Runs made by tests/CMakeLists.txt with `dmlsim run`: demo-ring, demo-tree (the demo experiment,
// 64 ranks, kernels), allreduce-star (16 ranks, messages), elastic-live (16 ranks, live rescaling),
// two-jobs (32 ranks), hybrid (GPT-1.3B as tp 8 × pp 4 × dp 2, 1F1B, one iteration), federated-traced (12
// phones) and federated-phones (1 000 phones in four classes, 4 over-selected rounds with a deadline and
// dropouts).
inline std::filesystem::path test_run(const std::string& name) {
  return binary_dir() / "gui-test-data" / name;
}
// Where tests leave files for inspection (PNG, SVG).
inline std::filesystem::path output_dir() {
  const auto dir = binary_dir() / "gui-test-output";
  std::filesystem::create_directories(dir);
  return dir;
}

// A fresh directory under the build tree for one test process, removed when the test ends.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(binary_dir() / "test-scratch" /
              (name + "-" + std::to_string(QCoreApplication::applicationPid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

// One row of trace.csv, read without any dmlsim code.
struct CsvEvent {
  int rank = 0;
  std::string lane, name, category;
  double start = 0, end = 0, duration = 0;
  std::uint64_t bytes = 0;
  double flops = 0;
  int peer = -1, iteration = -1, group_size = 0, tag = -1;
  std::uint64_t seq = 0;
  std::string comm;
  double value = 0;  // counters: the sample
};

inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

inline std::vector<CsvEvent> read_trace_csv(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);  // header
  // The columns this oracle reads by position come first; the rest (attributes) it skips.
  EXPECT_TRUE(
      line.starts_with("rank,lane,name,category,start_s,end_s,duration_s,bytes,flops,peer,iteration,group_"
                       "size,tag,seq,comm,value,"))
      << line;
  const std::size_t columns = split_csv_line(line).size();
  std::vector<CsvEvent> out;
  while (std::getline(in, line)) {
    const auto f = split_csv_line(line);
    EXPECT_EQ(f.size(), columns) << line;
    if (f.size() != columns) continue;
    CsvEvent e;
    e.rank = std::stoi(f[0]);
    e.lane = f[1];
    e.name = f[2];
    e.category = f[3];
    e.start = std::stod(f[4]);
    e.end = std::stod(f[5]);
    e.duration = std::stod(f[6]);
    e.bytes = std::stoull(f[7]);
    e.flops = std::stod(f[8]);
    e.peer = std::stoi(f[9]);
    e.iteration = std::stoi(f[10]);
    e.group_size = std::stoi(f[11]);
    e.tag = std::stoi(f[12]);
    e.seq = std::stoull(f[13]);
    e.comm = f[14];
    e.value = f[15].empty() ? 0 : std::stod(f[15]);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace dmlsim::testing
