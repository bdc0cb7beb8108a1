#include "apps/output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "core/errors.hpp"
#include "core/interrupts.hpp"

namespace dmlsim::apps {

void check_output_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    std::error_code ec;
    if (fs::exists(p, ec)) {
      if (!fs::is_directory(p, ec)) {
        throw core::ConfigError(
            p == dir ? fmt::format("output directory {}: exists and is not a directory", dir.string())
                     : fmt::format("output directory {}: {} is not a directory", dir.string(), p.string()));
      }
      return;
    }
    if (p == p.parent_path()) return;
  }
}

namespace {

namespace fs = std::filesystem;

// Writes each file into `staging` (created); on any error removes it and throws.
void write_staged(const fs::path& staging, const fs::path& dir, const std::vector<OutputFile>& files) {
  // Interrupted while writing (a sweep stopped with Ctrl-C), the half-written files go too.
  const core::InterruptCleanup remove_staging("removed the files half written", [staging] {
    std::error_code ec;
    fs::remove_all(staging, ec);
  });
  fs::remove_all(staging);
  fs::create_directories(staging);
  try {
    for (const OutputFile& f : files) {
      std::ofstream out(staging / f.name, std::ios::binary);
      if (!out) throw core::BackendError(fmt::format("cannot write {}", (dir / f.name).string()));
      f.write(out);
      out.close();
      if (!out)
        throw core::BackendError(fmt::format("writing {} failed (disk full?)", (dir / f.name).string()));
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw;
  }
}

// Whether `dir` holds only regular files of the names a run writes.
bool holds_only_run_files(const fs::path& dir, const std::vector<OutputFile>& files) {
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const bool ours =
        std::any_of(files.begin(), files.end(), [&](const OutputFile& f) { return f.name == name; });
    if (!ours || !e.is_regular_file()) return false;
  }
  return true;
}

}  // namespace

std::vector<std::filesystem::path> write_outputs(const std::filesystem::path& dir,
                                                 const std::vector<OutputFile>& files) {
  // The target by its own name: "out/." and "out/" are "out".
  fs::path target = fs::absolute(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::vector<fs::path> written;
  for (const OutputFile& f : files) written.push_back(dir / f.name);
  const bool exists = fs::exists(target);
  if (exists && !holds_only_run_files(target, files)) {
    // The user's directory: stage inside it, on its file system, and rename file by file.
    const fs::path staging = target / fmt::format(".staging-{}", getpid());
    write_staged(staging, dir, files);
    for (const OutputFile& f : files) fs::rename(staging / f.name, target / f.name);
    fs::remove_all(staging);
    return written;
  }
  // Beside the target (the same file system: renames are atomic), then in its place.
  const fs::path parent = target.parent_path();
  fs::create_directories(parent);
  const std::string base = target.filename().string();
  const fs::path staging = parent / fmt::format(".{}.staging-{}", base, getpid());
  write_staged(staging, dir, files);
  if (exists) {
    const fs::path earlier = parent / fmt::format(".{}.earlier-{}", base, getpid());
    fs::rename(target, earlier);
    fs::rename(staging, target);
    fs::remove_all(earlier);
  } else {
    fs::rename(staging, target);
  }
  return written;
}

}  // namespace dmlsim::apps
