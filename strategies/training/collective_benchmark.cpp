#include "strategies/training/collective_benchmark.hpp"

#include <fmt/format.h>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "core/units.hpp"
#include "strategies/collectives/algorithm.hpp"
#include "strategies/collectives/cost.hpp"
#include "strategies/collectives/verify.hpp"
#include "strategies/paths.hpp"
#include "strategies/training/options.hpp"

namespace dmlsim::strategies {
namespace {

class CollectiveBenchmark final : public Strategy {
 public:
  explicit CollectiveBenchmark(const core::Experiment& e) : experiment_(e) {
    const core::ConfigNode& node = *e.strategy;
    node.expect_only(collective_benchmark_fields(), core::experiment_field_homes());
    const std::string name = node.string_or("collective", "all-reduce");
    const auto collective = parse_collective(name);
    if (!collective) {
      node.at("collective")
          .fail(fmt::format(
              "unknown collective '{}' (known: all-reduce, reduce-scatter, all-gather, broadcast, reduce)",
              name));
    }
    collective_ = *collective;
    groups_ = static_cast<int>(node.integer_in_or("groups", 1, e.ranks, 1));
    streams_ = static_cast<int>(node.integer_in_or("streams", 1, 64, 1));
    if (e.ranks % groups_ != 0) node.at("groups").fail(fmt::format("must divide the {} ranks", e.ranks));
    const std::string layout = node.string_or("group_layout", "blocked");
    if (layout != "blocked" && layout != "strided") {
      node.at("group_layout").fail(fmt::format("unknown layout '{}' (known: blocked, strided)", layout));
    }
    strided_ = layout == "strided";
    const std::string dtype = node.string_or("dtype", "fp32");
    try {
      element_bytes_ = core::dtype_bytes(core::parse_dtype(dtype));
    } catch (const core::ValueError& err) {
      node.at("dtype").fail(err.what());
    }
    if (e.payload && element_bytes_ != 4) node.at("dtype").fail("payload mode checks float sums: use fp32");
    const core::ConfigNode size = node.at("size");
    if (size.is_sequence()) {
      for (const core::ConfigNode& s : size.items()) sizes_.push_back(s.as_bytes());
      if (static_cast<int>(sizes_.size()) != groups_) {
        size.fail(fmt::format("lists {} sizes for {} groups", sizes_.size(), groups_));
      }
    } else {
      sizes_.assign(static_cast<std::size_t>(groups_), size.as_bytes());
    }
    for (std::uint64_t bytes : sizes_) {
      if (bytes % element_bytes_ != 0)
        size.fail(fmt::format("{} bytes is not a whole number of {}-byte elements", bytes, element_bytes_));
    }
    choice_ = read_collective_choice(node, e, collective_, "algorithm", "ring", e.ranks / groups_);
  }

  core::Group group_of(int rank) const {
    const int per_group = experiment_.ranks / groups_;
    if (strided_) return core::Group::strided(rank % groups_, per_group, groups_);
    return core::Group::strided(rank / per_group * per_group, per_group, 1);
  }
  int group_number(int rank) const {
    return strided_ ? rank % groups_ : rank / (experiment_.ranks / groups_);
  }

  // One stream: the collective on the rank's own control flow. `streams: N`: the same collective
  // on N communicators over the same group at once, each started on its own stream (as N jobs'
  // collectives would be), stream s carrying (s + 1) × the test input so that a message of one
  // landing in another is seen in payload mode.
  void run(core::Rank& rank) const override {
    std::vector<core::Communicator> comms;
    for (int s = 0; s < streams_; ++s) {
      comms.push_back(
          rank.communicator(group_of(rank.rank()), s == 0 ? "collective" : fmt::format("collective.{}", s)));
    }
    const core::Communicator& first = comms.front();
    const std::uint64_t count = sizes_[static_cast<std::size_t>(group_number(rank.rank()))] / element_bytes_;
    const core::SchedulePtr schedule = first.schedule(
        collective_, NamedAlgorithm(choice_.algorithm, choice_.options), count, element_bytes_);
    std::vector<std::vector<float>> data(comms.size());
    if (experiment_.payload) {
      for (auto& d : data) d.resize(count);
    }
    auto buffer = [&](std::size_t s) {
      return core::ElementBuffer{count, element_bytes_, experiment_.payload ? data[s].data() : nullptr};
    };
    for (int it = 0; it < experiment_.iterations; ++it) {
      core::Phase iteration(rank, "iteration", it);
      if (experiment_.payload) {
        for (std::size_t s = 0; s < data.size(); ++s) {
          fill_test_input(first.index(), data[s]);
          for (float& x : data[s]) x *= static_cast<float>(s + 1);
        }
      }
      if (comms.size() == 1) {
        comms.front().run(*schedule, buffer(0));
      } else {
        std::vector<core::CollectiveHandle> handles;
        for (std::size_t s = 0; s < comms.size(); ++s) handles.push_back(comms[s].start(schedule, buffer(s)));
        rank.wait_all(handles);
      }
      if (experiment_.payload) check(rank, first, data);
    }
  }

  void check(const core::Rank& rank, const core::Communicator& comm,
             std::vector<std::vector<float>>& data) const {
    for (std::size_t s = 0; s < data.size(); ++s) {
      for (float& x : data[s]) x /= static_cast<float>(s + 1);  // exact: small integers
      if (std::string problem = check_test_output(collective_, comm.size(), comm.index(), data[s]);
          !problem.empty()) {
        throw core::BackendError(fmt::format("rank {}: {} {}{}: {}", rank.rank(), to_string(collective_),
                                             choice_.algorithm,
                                             data.size() > 1 ? fmt::format(" (stream {})", s) : "", problem));
      }
    }
  }

  core::Roles roles() const override { return core::Roles::workers(experiment_.ranks, 0); }  // no samples

  Prediction predict() const override {
    Prediction p;
    p.summary = fmt::format("{} {} over {} group(s) of {} ranks", to_string(collective_), choice_.algorithm,
                            groups_, experiment_.ranks / groups_);
    for (int g = 0; g < groups_; ++g) {
      const int first_rank = strided_ ? g : g * (experiment_.ranks / groups_);
      const core::Group group = group_of(first_rank);
      const auto paths = path_classes(experiment_, group, choice_.options.local_size);
      if (!paths) {
        p.notes.push_back(
            "closed forms need the analytic paths of a YAML topology; this platform is SimGrid XML");
        return p;
      }
      const std::uint64_t bytes = sizes_[static_cast<std::size_t>(g)];
      const CostTerms cost = collective_cost(collective_, choice_.algorithm, group.size(),
                                             bytes / element_bytes_, element_bytes_, *paths, choice_.options);
      const AlphaBeta main = find_algorithm(collective_, choice_.algorithm)->main_path(*paths);
      p.terms.push_back({fmt::format("group {} latency (α terms)", g), cost.latency,
                         fmt::format("α = {} per message", core::format_duration(main.alpha))});
      p.terms.push_back({fmt::format("group {} transfer (β terms)", g), cost.transfer,
                         fmt::format("{} over {}", core::format_bytes(static_cast<double>(bytes)),
                                     core::format_bandwidth(main.bandwidth))});
      p.iteration_seconds = std::max(p.iteration_seconds, cost.total());
    }
    if (groups_ > 1)
      p.notes.push_back("groups are assumed not to share links; contention makes the real run slower");
    if (streams_ > 1) {
      p.notes.push_back(fmt::format(
          "closed form of one stream; the {} concurrent streams share the group's links", streams_));
    }
    return p;
  }

 private:
  const core::Experiment& experiment_;
  Collective collective_ = Collective::all_reduce;
  int groups_ = 1;
  int streams_ = 1;
  bool strided_ = false;
  std::uint32_t element_bytes_ = 4;
  std::vector<std::uint64_t> sizes_;
  CollectiveChoice choice_;
};

}  // namespace

std::span<const std::string_view> collective_benchmark_fields() {
  static constexpr std::string_view kFields[] = {"type",       "collective", "algorithm",     "size",
                                                 "dtype",      "groups",     "group_layout",  "tree_chunk",
                                                 "local_size", "inner",      "partner_order", "streams"};
  return kFields;
}

std::unique_ptr<Strategy> make_collective_benchmark(const core::Experiment& experiment) {
  return std::make_unique<CollectiveBenchmark>(experiment);
}

}  // namespace dmlsim::strategies
