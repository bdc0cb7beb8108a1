#include "apps/output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>

#include "core/errors.hpp"

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

std::vector<std::filesystem::path> write_outputs(const std::filesystem::path& dir,
                                                 const std::vector<OutputFile>& files) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const fs::path staging = dir / fmt::format(".staging-{}", getpid());
  fs::remove_all(staging);
  fs::create_directories(staging);
  std::vector<fs::path> written;
  try {
    for (const OutputFile& f : files) {
      std::ofstream out(staging / f.name, std::ios::binary);
      if (!out) throw core::BackendError(fmt::format("cannot write {}", (staging / f.name).string()));
      f.write(out);
      out.close();
      if (!out)
        throw core::BackendError(fmt::format("writing {} failed (disk full?)", (dir / f.name).string()));
    }
    for (const OutputFile& f : files) {
      fs::rename(staging / f.name, dir / f.name);
      written.push_back(dir / f.name);
    }
  } catch (...) {
    fs::remove_all(staging);
    throw;
  }
  fs::remove_all(staging);
  return written;
}

}  // namespace dmlsim::apps
