#include "strategies/jobs.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <map>

#include "core/config_node.hpp"
#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::strategies {

std::vector<int> parse_host_list(const std::string& text) {
  std::vector<int> hosts;
  const auto number = [&](const std::string& part) {
    std::size_t used = 0;
    int value = -1;
    try {
      value = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || value < 0)
      throw core::ValueError(fmt::format("'{}' in '{}' is not a host number", part, text));
    return value;
  };
  for (std::size_t begin = 0; begin <= text.size();) {
    const std::size_t comma = std::min(text.find(',', begin), text.size());
    std::string part = text.substr(begin, comma - begin);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    const std::size_t dash = part.find('-', 1);
    if (dash == std::string::npos) {
      hosts.push_back(number(part));
    } else {
      const int first = number(part.substr(0, dash)), last = number(part.substr(dash + 1));
      if (last < first) throw core::ValueError(fmt::format("'{}' in '{}' runs backwards", part, text));
      for (int h = first; h <= last; ++h) hosts.push_back(h);
    }
    begin = comma + 1;
  }
  return hosts;
}

bool has_jobs(const std::filesystem::path& file) {
  const core::ConfigNode root = core::ConfigNode::load_file(file);
  const auto experiment = root.find("experiment");
  return experiment && experiment->is_map() && experiment->has("jobs");
}

JobsExperiment load_jobs(const std::filesystem::path& file, const Overrides& overrides) {
  core::ConfigNode root = core::ConfigNode::load_file(file);
  // A field of the shared platform (platform.oversubscription=2) is every job's platform field.
  Overrides platform_fields;
  for (const auto& [path, value] : overrides) {
    if (path.starts_with("platform.")) {
      platform_fields.emplace_back(path, value);
    } else {
      root.set("experiment." + path, value);
    }
  }
  root.expect_only({"experiment"});
  const core::ConfigNode node = root.at("experiment");
  node.expect_only({"name", "platform", "jobs"});
  JobsExperiment out;
  out.source = file.string();
  out.name = core::name_or(node, file.stem().string());
  if (!core::valid_name(out.name)) out.name = "jobs";  // a file name that cannot name a directory
  // The shared platform, as each job's `platform` field: a file by its absolute path, a mapping as
  // itself.
  const core::ConfigNode platform = node.at("platform");
  const std::string shared_platform =
      platform.is_map() ? platform.as_flow_yaml()
                        : std::filesystem::absolute(platform.resolve_path(platform.as_string())).string();

  const core::ConfigNode jobs = node.at("jobs");
  if (!jobs.is_map() || jobs.keys().empty()) jobs.fail("expected a mapping of job names to jobs");
  std::map<int, std::string> host_owner;
  for (const std::string& name : jobs.keys()) {
    const core::ConfigNode entry = jobs.at(name);
    core::check_name(entry, name);
    if (!entry.is_map()) entry.fail("expected {experiment: FILE, hosts: [...], start: TIME, set: {...}}");
    entry.expect_only({"experiment", "hosts", "start", "set"});
    Job job;
    job.name = name;
    job.file = entry.resolve_path(entry.string("experiment"));
    const core::ConfigNode hosts = entry.at("hosts");
    if (hosts.is_sequence()) {
      for (const core::ConfigNode& h : hosts.items()) job.hosts.push_back(static_cast<int>(h.as_int()));
    } else {
      try {
        job.hosts = parse_host_list(hosts.as_string());
      } catch (const core::ValueError& e) {
        hosts.fail(e.what());
      }
    }
    if (job.hosts.empty()) hosts.fail("a job needs at least one host");
    for (const int h : job.hosts) {
      const auto [owner, added] = host_owner.emplace(h, name);
      if (!added) {
        hosts.fail(
            owner->second == name
                ? fmt::format("host {} is listed twice", h)
                : fmt::format("host {} belongs to job '{}' too: jobs do not share hosts", h, owner->second));
      }
    }
    job.start = entry.duration_or("start", 0);  // never negative: durations are not

    std::vector<std::string> placement;
    for (const int h : job.hosts) placement.push_back(std::to_string(h));
    job.overrides = {{"name", name},
                     {"platform", shared_platform},
                     {"placement", fmt::format("[{}]", fmt::join(placement, ", "))}};
    bool sets_ranks = false;
    Overrides sets;
    if (const auto set = entry.find("set")) {
      if (!set->is_map()) set->fail("expected a mapping of experiment fields to values");
      for (const std::string& field : set->keys()) {
        sets.emplace_back(field, set->at(field).as_flow_yaml());
        sets_ranks =
            sets_ranks || field == "ranks" || field == "parallelism" || field.starts_with("parallelism.");
      }
    }
    job.overrides.insert(job.overrides.end(), platform_fields.begin(), platform_fields.end());
    if (!sets_ranks) job.overrides.emplace_back("ranks", std::to_string(job.hosts.size()));
    job.overrides.insert(job.overrides.end(), sets.begin(), sets.end());
    try {
      if (has_jobs(job.file))
        entry.at("experiment").fail("a job is one experiment, not another list of jobs");
      job.experiment = load_experiment(job.file, job.overrides);
      make_strategy(job.experiment);  // the strategy's own options are checked as it is made
    } catch (const core::ConfigError& e) {
      throw core::ConfigError(fmt::format("{}:{}: job '{}': {}", entry.file(), entry.line(), name, e.what()));
    }
    if (!out.jobs.empty() && job.experiment.network != out.jobs.front().experiment.network) {
      entry.fail(
          fmt::format("its network model is not job '{}'s: one simulation has one", out.jobs.front().name));
    }
    out.jobs.push_back(std::move(job));
  }
  return out;
}

}  // namespace dmlsim::strategies
