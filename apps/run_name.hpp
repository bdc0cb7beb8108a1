#pragma once
// What a run is called, and so where it goes by default (dmlsim-out/<name>) and how its trace is
// labelled: the experiment's name, followed by the --set overrides that made this run differ from
// the file, so that `run e.yaml` and `run e.yaml --set strategy.allreduce=tree` are told apart.
#include <filesystem>
#include <string>
#include <string_view>

#include "apps/commands.hpp"

namespace dmlsim::apps {

// "e_allreduce-tree_ranks-8": each override as its field's last part and its value, characters a
// name cannot hold turned into '-'. The last override of `name` itself wins as it is; no overrides: the
// experiment's name.
std::string run_name(std::string_view experiment_name, const Overrides& overrides);

// `name`, or name-2, name-3, ... : the first whose directory under `parent` does not exist yet.
std::string unused_name(const std::filesystem::path& parent, const std::string& name);

}  // namespace dmlsim::apps
