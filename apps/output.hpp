#pragma once
// Writes a run's files all at once: into a hidden temporary directory beside the target, then
// renamed into place, so an error never leaves a partial trace behind.
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace dmlsim::apps {

struct OutputFile {
  std::string name;                          // e.g. "trace.json"
  std::function<void(std::ostream&)> write;  // fills the file
};

// Bad input (core::ConfigError), found before anything runs: `dir`, or the nearest part of it that
// exists, is not a directory, so no output could be written there.
void check_output_dir(const std::filesystem::path& dir);

// Creates `dir` if needed and writes every file; returns their paths.
std::vector<std::filesystem::path> write_outputs(const std::filesystem::path& dir,
                                                 const std::vector<OutputFile>& files);

}  // namespace dmlsim::apps
