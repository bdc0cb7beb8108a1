#pragma once
// Writes a run's files as a set: into a hidden staging directory beside the target, which then
// takes the target's place, so that an error (a full disk) never leaves a partial output, and an
// earlier run's directory is replaced only once every new file is written.
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

// Writes every file into `dir`, all or none; returns their paths. A `dir` that does not exist, or
// holds nothing but files a run writes (an earlier run's), is replaced whole; one that holds other
// things too (the user's) keeps them, and the run's files are renamed into it one by one.
std::vector<std::filesystem::path> write_outputs(const std::filesystem::path& dir,
                                                 const std::vector<OutputFile>& files);

}  // namespace dmlsim::apps
