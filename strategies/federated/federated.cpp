#include "strategies/federated/federated.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <span>
#include <vector>

#include "core/communicator.hpp"
#include "core/errors.hpp"
#include "core/summary.hpp"
#include "core/units.hpp"
#include "strategies/federated/federated_plan.hpp"

namespace dmlsim::strategies {
namespace {

constexpr std::string_view kChannel = "fl";
constexpr int kTaskTag = 1;    // server → client: the model to train on
constexpr int kUpdateTag = 2;  // client → server: the update
constexpr int kStopTag = 3;    // server → client: no more tasks
constexpr int kGoneTag = 4;    // client → server: its availability window closed mid-task (below)
constexpr int kWeightTag = 5;  // aggregator → server: the samples its region's change averaged

// The 8 bytes of a sample count that an aggregator sends its server (kWeightTag).
core::Buffer weight_buffer(double& weight) {
  return {sizeof weight, reinterpret_cast<std::byte*>(&weight)};
}

core::EventAttributes attributes(core::Attribute a, int value) {
  return core::EventAttributes{}.set(a, value);
}

// Payload mode: the update a client sends for model `base` (what its local training would change).
float update_value(int client, std::size_t k, float base) {
  return static_cast<float>(1 + (client * 7 + static_cast<int>(k % 1024)) % 11) * 0.125F - 0.25F * base;
}

// What the server waits for — updates, and with availability windows the notices of clients that
// went offline — and whose they are.
struct Inbox {
  enum class Kind : std::uint8_t { update, gone };
  std::vector<core::Request> requests;
  std::vector<int> owner;
  std::vector<Kind> kind;

  void add(core::Request r, int client, Kind k) {
    requests.push_back(std::move(r));
    owner.push_back(client);
    kind.push_back(k);
  }
  bool empty() const { return requests.empty(); }
  std::optional<std::size_t> find(int client, Kind k) const {
    for (std::size_t i = 0; i < owner.size(); ++i) {
      if (owner[i] == client && kind[i] == k) return i;
    }
    return std::nullopt;
  }
  // Forgets request i (completed or withdrawn) and returns its client and kind.
  std::pair<int, Kind> take(std::size_t i) {
    const std::pair<int, Kind> out{owner[i], kind[i]};
    std::swap(requests[i], requests.back());
    std::swap(owner[i], owner.back());
    std::swap(kind[i], kind.back());
    requests.pop_back();
    owner.pop_back();
    kind.pop_back();
    return out;
  }
};

class Federated final : public Strategy {
 public:
  explicit Federated(const core::Experiment& e)
      : experiment_(e), model_(e.require_model()), plan_(read_federated_plan(e)) {
    const core::ConfigNode& node = *e.strategy;
    parameters_ = model_.parameters();
    model_bytes_ = model_.gradient_bytes();
    upload_bytes_ = plan_.upload_bytes(parameters_, core::dtype_bytes(model_.dtype));
    if (e.payload) {
      if (model_.dtype != core::DType::fp32)
        node.fail("payload mode checks the averaged floats: give the model dtype fp32");
      if (node.has("compression"))
        node.at("compression").fail("payload mode sends the update itself: remove compression or payload");
    }
    for (const core::Layer& l : model_.layers) step_.insert(step_.end(), l.forward.begin(), l.forward.end());
    for (auto l = model_.layers.rbegin(); l != model_.layers.rend(); ++l)
      step_.insert(step_.end(), l->backward.begin(), l->backward.end());
    step_.push_back(
        core::optimizer_step("optimizer.step", parameters_, model_.dtype, core::OptimizerStep::Kind::sgd));
    for (const core::HostClass& c : e.platform.host_classes)
      availability_ = availability_ || (c.period > 0 && c.online < c.period);
    availability_ = availability_ || !e.platform.host_windows.empty();
    if (availability_ && plan_.mode != FederatedPlan::Mode::fedbuff && !plan_.deadline) {
      node.fail(
          "the platform's clients have availability windows: a client whose window closes mid-task "
          "never reports, so give the round a 'deadline'");
    }
    if (plan_.mode == FederatedPlan::Mode::hierarchical) assign_regions(node);
  }

  void run(core::Rank& rank) const override {
    if (rank.size() != plan_.server() + 1) {
      throw core::BackendError(
          fmt::format("federated run planned for {} clients, {} aggregators and a server runs on {} ranks",
                      plan_.clients, plan_.aggregators, rank.size()));
    }
    if (rank.rank() == plan_.server()) {
      std::vector<int> members(static_cast<std::size_t>(plan_.clients));  // the clients, or the aggregators
      std::iota(members.begin(), members.end(), 0);
      if (plan_.mode == FederatedPlan::Mode::hierarchical) {
        members.resize(static_cast<std::size_t>(plan_.aggregators));
        std::iota(members.begin(), members.end(), plan_.aggregator(0));
      }
      Server(*this, rank, std::move(members), "iteration").run();
    } else if (rank.rank() >= plan_.clients) {
      aggregator(rank, rank.rank() - plan_.clients);
    } else {
      client(rank, plan_.mode == FederatedPlan::Mode::hierarchical
                       ? plan_.aggregator(site_of_client_[static_cast<std::size_t>(rank.rank())])
                       : plan_.server());
    }
  }

  Prediction predict() const override;

  struct TaskTimes {
    double download = 0, compute = 0, upload = 0;
    double total() const { return download + compute + upload; }
  };
  // Each client's task with the model from `server_host` (the server, or its region's aggregator)
  // over a link shared by `downloads`; empty without analytic paths.
  std::vector<TaskTimes> task_times(int downloads, int server_host) const;
  double local_training_seconds(int client) const;
  void predict_hierarchical(Prediction& p) const;

  // The replay of FedAvg rounds behind predict(): each client's busy time and task count.
  struct ReplayState {
    std::vector<double> busy_until;
    std::vector<std::int64_t> task_count;
  };
  struct ReplayedRound {
    double close = 0;
    std::size_t reported = 0;
    const TaskTimes* last = nullptr;  // the task of the report that closed the round
  };
  // One round over `members` from `now` (moved on to when one of them is idle and online), drawn
  // with `draw`; `tasks_with(n)` gives every client's task when n downloads share the link.
  ReplayedRound replay_round(double& now, std::span<const int> members, std::uint64_t draw, int round,
                             const std::function<const std::vector<TaskTimes>&(int)>& tasks_with,
                             ReplayState& state) const;

  core::Roles roles() const override {
    core::Roles roles;
    for (int c = 0; c < plan_.clients; ++c) roles.ranks.push_back({core::RoleKind::client, c});
    for (int a = 0; a < plan_.aggregators; ++a) roles.ranks.push_back({core::RoleKind::aggregator, a});
    roles.ranks.push_back({core::RoleKind::server, 0});
    // Samples an iteration trains: the updates it averages, each of a client's epochs over its data.
    const double mean =
        std::accumulate(plan_.samples.begin(), plan_.samples.end(), 0.0) / static_cast<double>(plan_.clients);
    const int updates = plan_.mode == FederatedPlan::Mode::fedavg ? plan_.report_goal
                        : plan_.mode == FederatedPlan::Mode::fedbuff
                            ? plan_.buffer
                            : plan_.per_round * plan_.aggregators * plan_.edge_rounds;
    roles.samples_per_iteration = std::llround(updates * mean * plan_.local_epochs);
    return roles;
  }

 private:
  core::Buffer model_buffer(std::vector<float>& model) const {
    return {model_bytes_, model.empty() ? nullptr : reinterpret_cast<std::byte*>(model.data())};
  }
  core::Buffer update_buffer(std::vector<float>& update) const {
    return {upload_bytes_, update.empty() ? nullptr : reinterpret_cast<std::byte*>(update.data())};
  }
  std::size_t payload_elements() const {
    return experiment_.payload ? static_cast<std::size_t>(parameters_) : 0;
  }

  core::Communicator federation(core::Rank& rank) const {
    return rank.communicator(core::Group::world(plan_.server() + 1), kChannel);
  }

  // A client's side: its tasks come from `parent` (the server, or its region's aggregator).
  void client(core::Rank& rank, int parent) const {
    const int me = rank.rank();
    core::Communicator fl = federation(rank);
    std::vector<float> model(payload_elements()), update(payload_elements());
    std::byte stop_byte{};
    core::Request stop = fl.irecv(parent, {1, &stop_byte}, kStopTag);
    const std::int64_t steps = plan_.steps(me, model_.micro_batch);
    for (std::int64_t task = 0;; ++task) {
      std::array<core::Request, 2> waiting{fl.irecv(parent, model_buffer(model), kTaskTag), std::move(stop)};
      if (rank.wait_any(waiting) == 1) {
        rank.cancel(waiting[0]);
        return;
      }
      stop = std::move(waiting[1]);
      const std::optional<double> drop = dropout_point(plan_, me, task);
      // The end of the client's online window: it trains while online, and once the window has
      // closed it is gone (it tells the server, for the simulation's bookkeeping only: the server
      // does not wait for it and learns nothing it could act on sooner than its deadline).
      const double window_end =
          experiment_.platform.online_until(experiment_.placement[static_cast<std::size_t>(me)], rank.now())
              .value_or(rank.now());
      bool gone = false;
      {
        core::Phase work(rank, core::kLocalTrainingPhase, -1, attributes(core::Attribute::client, me));
        std::int64_t left = drop ? static_cast<std::int64_t>(*drop * static_cast<double>(steps)) : steps;
        // A step starts only while the window is open. The first shows how long a step takes; the
        // steps that can still start before the window closes then run as one block.
        while (left > 0 && rank.now() < window_end) {
          const double before = rank.now();
          rank.compute(step_);
          --left;
          const double step = rank.now() - before;
          const double open = window_end - rank.now();
          const std::int64_t fit = open <= 0 ? 0
                                   : step > 0 && std::isfinite(open)
                                       ? static_cast<std::int64_t>(std::ceil(open / step))
                                       : left;
          rank.compute_repeated(step_, std::min(fit, left));
          left -= std::min(fit, left);
        }
        gone = rank.now() >= window_end;
        if (drop) rank.mark(core::kTaskDropped);
        if (gone && !drop) rank.mark(core::kTaskOffline);
      }
      if (drop) continue;
      if (gone) {
        std::byte notice{};
        core::Request sent = fl.isend(parent, {1, &notice}, kGoneTag);
        rank.wait(sent);
        continue;
      }
      for (std::size_t k = 0; k < update.size(); ++k) update[k] = update_value(me, k, model[k]);
      core::Phase up(rank, "upload", -1, attributes(core::Attribute::client, me));
      core::Request sent = fl.isend(parent, update_buffer(update), kUpdateTag);
      rank.wait(sent);
    }
  }

  // Hierarchical FL: which region (site) each client is in, and each region's clients.
  void assign_regions(const core::ConfigNode& node) {
    const core::Platform& platform = experiment_.platform;
    const auto& star = std::get<core::StarTopology>(platform.topology);
    const std::vector<int> aggregator_hosts = platform.aggregator_hosts();
    region_clients_.resize(aggregator_hosts.size());
    const auto host_of = [&](int r) { return experiment_.placement[static_cast<std::size_t>(r)]; };
    for (int a = 0; a < plan_.aggregators; ++a) {
      if (host_of(plan_.aggregator(a)) != aggregator_hosts[static_cast<std::size_t>(a)]) {
        throw core::ConfigError(fmt::format(
            "{}: field 'experiment.placement': rank {} is the aggregator of {} and must be on its host {}",
            experiment_.source, plan_.aggregator(a), star.sites[static_cast<std::size_t>(a)].name,
            aggregator_hosts[static_cast<std::size_t>(a)]));
      }
    }
    for (int c = 0; c < plan_.clients; ++c) {
      const int site = star.site(host_of(c));
      if (site < 0 || host_of(c) == aggregator_hosts[static_cast<std::size_t>(site)]) {
        throw core::ConfigError(
            fmt::format("{}: field 'experiment.placement': client {} is on host {}, not a client's host",
                        experiment_.source, c, host_of(c)));
      }
      site_of_client_.push_back(site);
      region_clients_[static_cast<std::size_t>(site)].push_back(c);
    }
    for (std::size_t s = 0; s < region_clients_.size(); ++s) {
      if (static_cast<int>(region_clients_[s].size()) < plan_.per_round) {
        node.at("clients_per_round")
            .fail(fmt::format("{} clients per region and edge round, but {} has {}", plan_.per_round,
                              star.sites[s].name, region_clients_[s].size()));
      }
    }
  }

  // The draw of aggregator `site`'s selection in edge round `e` of cloud round `round`.
  std::uint64_t edge_draw(int round, int site, int e) const {
    return (static_cast<std::uint64_t>(round) * static_cast<std::uint64_t>(plan_.aggregators) +
            static_cast<std::uint64_t>(site)) *
               static_cast<std::uint64_t>(plan_.edge_rounds) +
           static_cast<std::uint64_t>(e);
  }

  // The clients it selects then when every client of the region is idle and online (each edge
  // round waits for all it selected: no deadline or report goal below the selection).
  std::vector<int> edge_selection(int round, int site, int e) const {
    return sample_clients(plan_.seed, edge_draw(round, site, e),
                          region_clients_[static_cast<std::size_t>(site)], plan_.per_round);
  }
  bool every_selected_client_reports() const {
    return !plan_.deadline && plan_.report_goal == plan_.per_round && plan_.dropout == 0 && !availability_;
  }

  // An aggregator uploads its region's change as a client its update, and beside it (at once, on
  // its own tag) the samples the change averaged: a double, which the server needs to weigh it and
  // to count them. On one path the two finish as one message of 8 bytes more would.
  static constexpr std::uint64_t kWeightBytes = sizeof(double);

  // Payload mode: `model` after an edge round of `selected` whose updates are `updates` (one per
  // client, each of the model's size): their average weighted by samples, added.
  void apply_average(std::vector<float>& model, std::span<const int> selected,
                     const std::vector<std::vector<float>>& updates) const {
    std::vector<WeightedUpdate> weighted;
    for (std::size_t i = 0; i < selected.size(); ++i)
      weighted.push_back({selected[i],
                          static_cast<double>(plan_.samples[static_cast<std::size_t>(selected[i])]),
                          updates[i]});
    add_weighted_average(model, std::move(weighted));
  }

  // Payload mode: the change of region `site`'s model over cloud round `round` from `base`, as
  // its clients' updates make it (the server checks each aggregator's upload against it).
  std::vector<float> expected_region_change(const std::vector<float>& base, int round, int site) const {
    std::vector<float> model = base;
    for (int e = 0; e < plan_.edge_rounds; ++e) {
      const std::vector<int> selected = edge_selection(round, site, e);
      std::vector<std::vector<float>> updates;
      for (const int c : selected) {
        updates.emplace_back(model.size());
        for (std::size_t k = 0; k < model.size(); ++k) updates.back()[k] = update_value(c, k, model[k]);
      }
      apply_average(model, selected, updates);
    }
    for (std::size_t k = 0; k < model.size(); ++k) model[k] -= base[k];
    return model;
  }

  // A region's aggregator (hierarchical FL): the server's rounds over the region's clients.
  void aggregator(core::Rank& rank, int site) const {
    Server(*this, rank, region_clients_[static_cast<std::size_t>(site)], "edge-round").serve_region(site);
  }

  // The server's side of one run.
  class Server {
   public:
    // Serves `members` (ranks: clients, or the server's aggregators), its rounds named `round_phase`.
    Server(const Federated& s, core::Rank& rank, std::vector<int> members, std::string_view round_phase)
        : s_(s),
          plan_(s.plan_),
          rank_(rank),
          fl_(s.federation(rank)),
          members_(std::move(members)),
          round_phase_(round_phase),
          clients_(members_.size()) {
      versions_[0] = std::vector<float>(s.payload_elements(), 1.0F);
      if (!std::is_sorted(members_.begin(), members_.end()))
        throw core::BackendError("federated: a server's members must be in rank order");
    }

    void run() {
      if (plan_.mode == FederatedPlan::Mode::fedavg) {
        for (int r = 0; r < s_.experiment_.iterations; ++r) fedavg_round(r, static_cast<std::uint64_t>(r), r);
      } else if (plan_.mode == FederatedPlan::Mode::fedbuff) {
        fedbuff();
      } else {
        for (int r = 0; r < s_.experiment_.iterations; ++r) cloud_round(r);
      }
      finish();
    }

   private:
    struct Client {
      bool busy = false;
      int base = 0;  // the model version its task started from
      std::int64_t tasks = 0;
      std::vector<float> update;
      std::byte notice{};        // a "gone" notice's byte
      core::Request model_send;  // the model of its last task, until known delivered
    };

    int busy_clients() const {
      return static_cast<int>(
          std::count_if(clients_.begin(), clients_.end(), [](const Client& c) { return c.busy; }));
    }

    // The books of member `rank`: members_ is in rank order (the clients, a region's clients or the
    // aggregators), so that each aggregator keeps books for its own region only.
    std::size_t member_index(int rank) const {
      const auto it = std::lower_bound(members_.begin(), members_.end(), rank);
      if (it == members_.end() || *it != rank)
        throw core::BackendError(fmt::format("federated: rank {} is not served here", rank));
      return static_cast<std::size_t>(it - members_.begin());
    }
    Client& client_of(int rank) { return clients_[member_index(rank)]; }
    const Client& client_of(int rank) const { return clients_[member_index(rank)]; }

    std::vector<int> idle_clients() const {
      std::vector<int> idle;
      for (const int c : members_) {
        if (!client_of(c).busy) idle.push_back(c);
      }
      return idle;
    }

    int host_of(int c) const { return s_.experiment_.placement[static_cast<std::size_t>(c)]; }

    // The clients a round may select now: idle and online.
    std::vector<int> candidates() const {
      std::vector<int> out;
      const double now = rank_.now();
      for (const int c : idle_clients()) {
        if (s_.experiment_.platform.online_until(host_of(c), now)) out.push_back(c);
      }
      return out;
    }

    // Until some client can be selected: takes what comes in (freeing busy clients) and waits for
    // the first idle client's window to open.
    std::vector<int> wait_for_candidates(int r) {
      for (;;) {
        while (const auto got = rank_.test_any(inbox_.requests)) handle(*got, r);
        std::vector<int> out = candidates();
        if (!out.empty()) return out;
        double wake = std::numeric_limits<double>::infinity();
        for (const int c : idle_clients())
          wake = std::min(wake, s_.experiment_.platform.next_online(host_of(c), rank_.now()));
        const double left = wake - rank_.now();
        if (inbox_.empty() && !std::isfinite(left)) no_client_online_again(s_.experiment_, rank_.now(), r);
        if (inbox_.empty()) {
          rank_.sleep(left);  // every client idle
        } else if (std::isfinite(left)) {
          if (const auto got = rank_.wait_any_for(inbox_.requests, left)) handle(*got, r);
        } else {
          handle(rank_.wait_any(inbox_.requests), r);
        }
      }
    }

    // Sends client c the model of `version_`; waits for its update unless it drops out.
    void dispatch(int c, int round) {
      Client& client = client_of(c);
      // A dropped client's last model may still be on its way (it is abandoning that task).
      if (client.model_send.pending()) sends_.push_back(std::move(client.model_send));
      client.model_send = fl_.isend(c, s_.model_buffer(versions_.at(version_)), kTaskTag);
      client.base = version_;
      const bool drops = dropout_point(plan_, c, client.tasks++).has_value();
      if (drops) {
        // The server cannot tell: the round waits for its deadline. The client is free again next
        // round (it only abandoned this task).
        core::Phase dropped(rank_, core::kTaskDropped, round, attributes(core::Attribute::client, c));
        return;
      }
      client.busy = true;
      client.update.resize(s_.payload_elements());
      inbox_.add(fl_.irecv(c, s_.update_buffer(client.update), kUpdateTag), c, Inbox::Kind::update);
      if (s_.availability_) inbox_.add(fl_.irecv(c, {1, &client.notice}, kGoneTag), c, Inbox::Kind::gone);
    }

    // Payload mode: the update must be the client's function of the model it was sent.
    void check_update(int c, const Client& client) const {
      const std::vector<float>& base = versions_.at(client.base);
      for (std::size_t k = 0; k < client.update.size(); ++k) {
        if (client.update[k] != update_value(c, k, base[k])) {
          throw core::BackendError(fmt::format(
              "federated server: client {}'s update, element {}, is {}; computed on model version {} it "
              "must be {}",
              c, k, client.update[k], client.base, update_value(c, k, base[k])));
        }
      }
    }

    // Averages `taken` (client, weight); the weighted sum divided by `denominator`, or by the
    // weights' sum when 0 (add_weighted_average).
    void aggregate(const std::vector<std::pair<int, double>>& taken, int round, double denominator = 0) {
      double samples = 0;  // what the averaged updates were trained on
      std::vector<WeightedUpdate> updates;
      for (const auto& [c, w] : taken) {
        samples += static_cast<double>(plan_.samples[static_cast<std::size_t>(c)]);
        updates.push_back({c, w, client_of(c).update});
      }
      averaged_samples_ += samples;
      average(std::move(updates), samples, round, denominator);
    }

    // The next model version: the current one plus the weighted average of `updates` (payload
    // mode), after the averaging's cost; `samples` is what they were trained on.
    void average(std::vector<WeightedUpdate> updates, double samples, int round, double denominator = 0) {
      if (counts_samples_) rank_.count(core::kSamplesTrained, samples * plan_.local_epochs);
      {
        core::Phase agg(rank_, "aggregate", round);
        const std::int64_t elements =
            s_.parameters_ * static_cast<std::int64_t>(std::max<std::size_t>(1, updates.size()));
        rank_.compute(core::elementwise("aggregate", elements, s_.model_.dtype, 2, 2));
      }
      std::vector<float> next = versions_.at(version_);
      if (!next.empty()) add_weighted_average(next, std::move(updates), denominator);
      versions_[++version_] = std::move(next);
    }

    // Hierarchical FL (Liu et al., ICC 2020): the model to every region's aggregator, its change
    // back after the region's edge rounds with the samples they averaged, and the changes averaged
    // weighted by those samples. (The aggregators count the samples trained.)
    void cloud_round(int r) {
      core::Phase round(rank_, round_phase_, r, attributes(core::Attribute::round, r));
      std::vector<core::Request> sends, uploads;
      double samples = 0;
      std::vector<std::vector<float>> changes(static_cast<std::size_t>(plan_.aggregators),
                                              std::vector<float>(s_.payload_elements()));
      std::vector<double> weights(static_cast<std::size_t>(plan_.aggregators), 0.0);
      for (int a = 0; a < plan_.aggregators; ++a) {
        const auto k = static_cast<std::size_t>(a);
        sends.push_back(fl_.isend(plan_.aggregator(a), s_.model_buffer(versions_.at(version_)), kTaskTag));
        uploads.push_back(fl_.irecv(plan_.aggregator(a), s_.update_buffer(changes[k]), kUpdateTag));
        uploads.push_back(fl_.irecv(plan_.aggregator(a), weight_buffer(weights[k]), kWeightTag));
      }
      rank_.wait_all(uploads);
      rank_.wait_all(sends);
      std::vector<WeightedUpdate> updates;
      for (int a = 0; a < plan_.aggregators; ++a) {
        const std::vector<float>& change = changes[static_cast<std::size_t>(a)];
        const double weight = weights[static_cast<std::size_t>(a)];
        if (s_.experiment_.payload && s_.every_selected_client_reports() &&
            change != s_.expected_region_change(versions_.at(version_), r, a)) {
          throw core::BackendError(
              fmt::format("federated server: aggregator {}'s model change in round {} is not what its "
                          "clients' updates make",
                          a, r));
        }
        updates.push_back({a, weight, change});
        samples += weight;
      }
      average(std::move(updates), samples, r);
    }

   public:
    // A region's aggregator: for each model the server sends, `edge_rounds` FedAvg rounds over the
    // region's clients (with the server's selection, report goal, deadline, dropouts and windows),
    // then the change of the region's model and the samples it averaged go up to the server.
    void serve_region(int site) {
      counts_samples_ = false;
      std::byte stop_byte{};
      core::Request stop = fl_.irecv(plan_.server(), {1, &stop_byte}, kStopTag);
      std::vector<float> base(s_.payload_elements());
      for (int round = 0;; ++round) {
        std::array<core::Request, 2> waiting{fl_.irecv(plan_.server(), s_.model_buffer(base), kTaskTag),
                                             std::move(stop)};
        if (rank_.wait_any(waiting) == 1) {
          rank_.cancel(waiting[0]);
          finish();
          return;
        }
        stop = std::move(waiting[1]);
        // A new version: updates still on their way from the last cloud round are late now.
        versions_[++version_] = base;
        averaged_samples_ = 0;
        for (int e = 0; e < plan_.edge_rounds; ++e) fedavg_round(e, s_.edge_draw(round, site, e), round);
        std::vector<float> change = versions_.at(version_);
        for (std::size_t k = 0; k < change.size(); ++k) change[k] -= base[k];
        core::Phase up(rank_, "upload", round, attributes(core::Attribute::round, round));
        std::array<core::Request, 2> sent{
            fl_.isend(plan_.server(), s_.update_buffer(change), kUpdateTag),
            fl_.isend(plan_.server(), weight_buffer(averaged_samples_), kWeightTag)};
        rank_.wait_all(sent);
      }
    }

   private:
    // McMahan et al. 2017, with Bonawitz et al.'s over-selection: select, wait for report_goal
    // reports or the deadline, average the reports by samples. Round `index` of the server (or edge
    // round `index` of an aggregator in cloud round `r`), its selection drawn with `draw`.
    void fedavg_round(int index, std::uint64_t draw, int r) {
      core::Phase round(rank_, round_phase_, index, attributes(core::Attribute::round, r));
      const double start = rank_.now();
      // Late updates that came in since the last round closed free their clients for this one; with
      // no client idle and online, the round waits for the first.
      const std::vector<int> idle = wait_for_candidates(r);
      const std::vector<int> selected = sample_clients(plan_.seed, draw, idle, plan_.per_round);
      for (const int c : selected) dispatch(c, r);
      const int goal = std::min(plan_.report_goal, static_cast<int>(selected.size()));
      std::vector<std::pair<int, double>> reports;
      while (static_cast<int>(reports.size()) < goal && !inbox_.empty()) {
        std::optional<std::size_t> got;
        if (plan_.deadline) {
          const double left = start + *plan_.deadline - rank_.now();
          if (left <= 0) break;
          got = rank_.wait_any_for(inbox_.requests, left);
          if (!got) break;
        } else {
          got = rank_.wait_any(inbox_.requests);
        }
        const int c = handle(*got, r);
        if (c >= 0) reports.emplace_back(c, static_cast<double>(plan_.samples[static_cast<std::size_t>(c)]));
      }
      // Selected clients that dropped out never report, and the server cannot tell: it waits on.
      if (plan_.deadline && static_cast<int>(reports.size()) < goal) {
        const double left = start + *plan_.deadline - rank_.now();
        if (left > 0) rank_.sleep(left);
      }
      aggregate(reports, r);
    }

    // Takes inbox entry i in round r (−1: after the last): the client of an update of this round,
    // or −1 when the update is late (computed on an older model version: discarded) or the entry is
    // a client's notice that it went offline. Either way the client is free again, and the other
    // request of its task, which can never complete now, is withdrawn.
    int handle(std::size_t i, int r) {
      const auto [c, kind] = inbox_.take(i);
      Client& client = client_of(c);
      client.busy = false;
      // It answered, so it has the model: the send is complete and the wait returns at once. (Sends
      // left untested pile up in SimGrid's books and make long runs quadratic: 10 clients for 4 000
      // rounds took 4.2 s, now 0.35 s.)
      if (client.model_send.pending()) rank_.wait(client.model_send);
      if (s_.availability_)
        withdraw(c, kind == Inbox::Kind::update ? Inbox::Kind::gone : Inbox::Kind::update);
      if (kind == Inbox::Kind::gone) {
        core::Phase mark(rank_, core::kTaskOffline, r, attributes(core::Attribute::client, c));
        return -1;
      }
      const bool current = client.base == version_;
      {
        core::Phase mark(rank_, current ? core::kTaskReport : core::kTaskLate, r,
                         attributes(core::Attribute::client, c));
      }
      if (s_.experiment_.payload) check_update(c, client);
      return current ? c : -1;
    }

    void withdraw(int c, Inbox::Kind kind) {
      const auto i = inbox_.find(c, kind);
      if (!i) return;
      if (!rank_.cancel(inbox_.requests[*i])) {
        throw core::BackendError(fmt::format(
            "federated server: client {} sent both an update and an offline notice for one task", c));
      }
      inbox_.take(*i);
    }

    // Nguyen et al. 2022: `per_round` clients always training; every `buffer` fresh-enough updates
    // make one aggregation (one iteration). With availability windows the clients drawn are idle and
    // online; a client whose window closes mid-task says so, and its slot goes to another; while
    // fewer than `per_round` are online, the free slots wait for windows to open.
    void fedbuff() {
      std::uint64_t draws = 0;
      if (s_.availability_) {
        fill_slots(0, draws);
      } else {
        for (const int c : sample_clients(plan_.seed, draws++, members_, plan_.per_round)) dispatch(c, 0);
      }
      for (int a = 0; a < s_.experiment_.iterations; ++a) {
        core::Phase iteration(rank_, "iteration", a, attributes(core::Attribute::round, a));
        std::vector<std::pair<int, double>> buffered;
        while (static_cast<int>(buffered.size()) < plan_.buffer) {
          const std::optional<std::size_t> got = next_fedbuff_event(a);
          if (!got) {  // a window opened
            fill_slots(a, draws);
            continue;
          }
          const auto [c, kind] = inbox_.take(*got);
          Client& client = client_of(c);
          client.busy = false;
          if (s_.availability_) {
            if (client.model_send.pending()) rank_.wait(client.model_send);
            withdraw(c, kind == Inbox::Kind::update ? Inbox::Kind::gone : Inbox::Kind::update);
          }
          if (kind == Inbox::Kind::gone) {
            { core::Phase mark(rank_, core::kTaskOffline, a, attributes(core::Attribute::client, c)); }
            fill_slots(a, draws);
            continue;
          }
          const int staleness = version_ - client.base;
          const bool fresh = staleness <= plan_.max_staleness;
          {
            core::EventAttributes at = attributes(core::Attribute::client, c);
            at.set(core::Attribute::staleness, staleness);
            core::Phase mark(rank_, fresh ? core::kTaskUpdate : core::kTaskStale, a, at);
          }
          if (s_.experiment_.payload) check_update(c, client);
          if (fresh) buffered.emplace_back(c, plan_.staleness_weight(staleness));
          if (s_.availability_) {
            fill_slots(a, draws);
          } else {
            const std::vector<int> next = sample_clients(plan_.seed, draws++, idle_clients(), 1);
            dispatch(next.at(0), a);
          }
        }
        // Nguyen et al.: the sum of the buffer's staleness-scaled updates over its size.
        aggregate(buffered, a, static_cast<double>(buffered.size()));
      }
    }

    // Gives every free slot of FedBuff's `per_round` a task, drawn among the idle online clients.
    void fill_slots(int a, std::uint64_t& draws) {
      for (int free = plan_.per_round - busy_clients(); free > 0; --free) {
        const std::vector<int> online = candidates();
        if (online.empty()) return;
        dispatch(sample_clients(plan_.seed, draws++, online, 1).at(0), a);
      }
    }

    // FedBuff's next inbox entry; with availability windows and a slot free, nullopt when the first
    // window of an idle client opens before anything comes in.
    std::optional<std::size_t> next_fedbuff_event(int a) {
      if (!s_.availability_) return rank_.wait_any(inbox_.requests);
      double wake = std::numeric_limits<double>::infinity();
      if (busy_clients() < plan_.per_round) {
        for (const int c : idle_clients())
          wake = std::min(wake, s_.experiment_.platform.next_online(host_of(c), rank_.now()));
      }
      const double left = wake - rank_.now();
      if (inbox_.empty()) {
        if (!std::isfinite(left)) no_client_online_again(s_.experiment_, rank_.now(), a);
        rank_.sleep(left);
        return std::nullopt;
      }
      if (std::isfinite(left)) return rank_.wait_any_for(inbox_.requests, left);
      return rank_.wait_any(inbox_.requests);
    }

    // Takes the updates still on their way (late: never averaged), then stops every client.
    void finish() {
      core::Phase drain(rank_, "drain");
      while (!inbox_.empty()) handle(rank_.wait_any(inbox_.requests), -1);
      std::byte stop{};
      for (Client& client : clients_) {
        if (client.model_send.pending()) sends_.push_back(std::move(client.model_send));
      }
      for (const int c : members_) sends_.push_back(fl_.isend(c, {1, &stop}, kStopTag));
      rank_.wait_all(sends_);
    }

    const Federated& s_;
    const FederatedPlan& plan_;
    core::Rank& rank_;
    core::Communicator fl_;
    std::vector<int> members_;
    std::string_view round_phase_;
    std::vector<Client> clients_;  // one per member, in members_' order
    double averaged_samples_ = 0;  // an aggregator's, since its cloud round began
    bool counts_samples_ = true;   // the server counts what it averages; an aggregator tells it
    Inbox inbox_;
    std::vector<core::Request> sends_;
    int version_ = 0;
    // Every model version sent (payload mode: the floats; kept so that sends in flight and the
    // checks of late updates have them).
    std::map<int, std::vector<float>> versions_;
  };

  const core::Experiment& experiment_;
  const core::Model& model_;
  FederatedPlan plan_;
  std::int64_t parameters_ = 0;
  std::uint64_t model_bytes_ = 0;
  std::uint64_t upload_bytes_ = 0;
  std::vector<core::Kernel> step_;  // one local step: forward, backward, SGD
  bool availability_ = false;       // the platform's clients have online windows
  // Hierarchical FL: each client's region (site), and each region's clients in rank order.
  std::vector<int> site_of_client_;
  std::vector<std::vector<int>> region_clients_;
};

// One task of each client when nothing else loads its path: the model down (the server's uplink
// shared by the `downloads` that start together), local training at its device's roofline and
// slowdown, its update up.
std::vector<Federated::TaskTimes> Federated::task_times(int downloads, int server_host) const {
  std::vector<TaskTimes> out;
  const core::Platform& platform = experiment_.platform;
  for (int c = 0; c < plan_.clients; ++c) {
    const int host = experiment_.placement[static_cast<std::size_t>(c)];
    const auto down = platform.path(server_host, host, downloads, 1);
    const auto up = platform.path(host, server_host, 1, 1);
    if (!down || !up) return {};
    TaskTimes t;
    t.download = down->latency + static_cast<double>(model_bytes_) / down->bandwidth;
    t.compute = local_training_seconds(c);
    t.upload = up->latency + static_cast<double>(upload_bytes_) / up->bandwidth;
    out.push_back(t);
  }
  return out;
}

double Federated::local_training_seconds(int client) const {
  const int host = experiment_.placement[static_cast<std::size_t>(client)];
  double step = 0;
  for (const core::Kernel& k : step_) step += experiment_.platform.device_of(host).kernel_seconds(k);
  return step * static_cast<double>(plan_.steps(client, model_.micro_batch)) *
         experiment_.slowdown_of(client);
}

// A round as the server (or an aggregator) runs it, replayed with the same draws: it waits for a
// member idle and online, selects, and closes at its report_goal-th report (the order statistic of
// the selected clients' task times) or at the deadline; dropped clients never report, a client whose
// window closes before it has trained is offline until it reopens, and clients still working when
// the round closes are late: not selected again until their update has come in.
Federated::ReplayedRound Federated::replay_round(
    double& now, std::span<const int> members, std::uint64_t draw, int round,
    const std::function<const std::vector<TaskTimes>&(int)>& tasks_with, ReplayState& state) const {
  const core::Platform& platform = experiment_.platform;
  const auto host = [&](int c) { return experiment_.placement[static_cast<std::size_t>(c)]; };
  if (state.busy_until.empty()) {
    state.busy_until.assign(static_cast<std::size_t>(plan_.clients), 0.0);
    state.task_count.assign(static_cast<std::size_t>(plan_.clients), 0);
  }
  std::vector<int> idle;
  for (;;) {
    double wake = std::numeric_limits<double>::infinity();
    for (const int c : members) {
      const double free = state.busy_until[static_cast<std::size_t>(c)];
      if (free <= now && platform.online_until(host(c), now)) idle.push_back(c);
      wake = std::min(wake, free > now ? free : platform.next_online(host(c), now));
    }
    if (!idle.empty()) break;
    if (!std::isfinite(wake)) no_client_online_again(experiment_, now, round);
    now = wake;
  }
  const std::vector<int> selected = sample_clients(plan_.seed, draw, idle, plan_.per_round);
  const std::vector<TaskTimes>& tasks = tasks_with(std::max<int>(1, static_cast<int>(selected.size())));
  std::vector<std::pair<double, int>> finishes;
  for (const int c : selected) {
    if (dropout_point(plan_, c, state.task_count[static_cast<std::size_t>(c)]++)) continue;
    const TaskTimes& t = tasks[static_cast<std::size_t>(c)];
    // Gone if its window closes before it has trained: offline until its window opens again.
    const double window_end = platform.online_until(host(c), now).value_or(now);
    if (now + t.download + t.compute >= window_end) {
      state.busy_until[static_cast<std::size_t>(c)] = window_end;
      continue;
    }
    finishes.emplace_back(now + t.total(), c);
  }
  std::sort(finishes.begin(), finishes.end());
  const std::size_t goal =
      static_cast<std::size_t>(std::min<int>(plan_.report_goal, static_cast<int>(selected.size())));
  ReplayedRound out;
  out.close = finishes.size() >= goal && goal > 0 ? finishes[goal - 1].first
              : finishes.empty()                  ? now
                                                  : finishes.back().first;
  if (finishes.size() < goal && plan_.deadline) out.close = now + *plan_.deadline;
  if (plan_.deadline) out.close = std::min(out.close, now + *plan_.deadline);
  for (const auto& [finish, c] : finishes) {
    if (finish <= out.close) {
      ++out.reported;
    } else {
      state.busy_until[static_cast<std::size_t>(c)] = finish;
    }
  }
  if (out.reported > 0) out.last = &tasks[static_cast<std::size_t>(finishes[out.reported - 1].second)];
  return out;
}

// Hierarchical FL, replaying the seeded selections: a cloud round lasts as long as its slowest
// region — the model down its WAN path (the server's link shared by every region), each edge round
// (the model from the aggregator to the selected clients sharing its link, their training and
// uploads, the slowest closing it, then the aggregator's average), the region's change up — and
// then the server's average.
void Federated::predict_hierarchical(Prediction& p) const {
  const core::Platform& platform = experiment_.platform;
  const auto host = [&](int r) { return experiment_.placement[static_cast<std::size_t>(r)]; };
  const int server_host = host(plan_.server());
  const auto transfer = [&](int from, int to, int sending, std::uint64_t bytes) {
    const core::PathParams path = platform.path(from, to, sending, 1).value();
    return path.latency + static_cast<double>(bytes) / path.bandwidth;
  };
  const auto average_seconds = [&](int at_host, std::size_t updates) {
    return platform.device_of(at_host).kernel_seconds(
        core::elementwise("aggregate", parameters_ * static_cast<std::int64_t>(updates), model_.dtype, 2, 2));
  };
  // Task times by aggregator and by how many downloads share its link.
  std::map<std::pair<int, int>, std::vector<TaskTimes>> tasks;
  const auto tasks_from = [&](int agg) {
    return std::function<const std::vector<TaskTimes>&(int)>(
        [&, agg](int downloads) -> const std::vector<TaskTimes>& {
          auto it = tasks.find({agg, downloads});
          if (it == tasks.end())
            it = tasks.emplace(std::pair{agg, downloads}, task_times(downloads, agg)).first;
          return it->second;
        });
  };
  ReplayState state;
  double now = 0, wan = 0, edge = 0, cloud = 0;
  const int rounds = experiment_.iterations;
  for (int r = 0; r < rounds; ++r) {
    double close = now, slowest_wan = 0, slowest_edge = 0;
    for (int a = 0; a < plan_.aggregators; ++a) {
      const int agg = host(plan_.aggregator(a));
      const double wan_down = transfer(server_host, agg, plan_.aggregators, model_bytes_);
      const double wan_up = transfer(agg, server_host, 1, upload_bytes_ + kWeightBytes);
      const auto with = tasks_from(agg);
      double t = now + wan_down;
      for (int e = 0; e < plan_.edge_rounds; ++e) {
        const ReplayedRound round =
            replay_round(t, region_clients_[static_cast<std::size_t>(a)], edge_draw(r, a, e), r, with, state);
        t = round.close + average_seconds(agg, std::max<std::size_t>(1, round.reported));
      }
      if (t + wan_up > close) {
        close = t + wan_up;
        slowest_wan = wan_down + wan_up;
        slowest_edge = t - (now + wan_down);
      }
    }
    const double server_average = average_seconds(server_host, static_cast<std::size_t>(plan_.aggregators));
    wan += slowest_wan;
    edge += slowest_edge;
    cloud += server_average;
    now = close + server_average;
  }
  const double n = rounds;
  p.terms.push_back({"model down and change up the WAN (slowest region)", wan / n,
                     "α + M / min(server up / regions, WAN, aggregator down), and back with the update"});
  p.terms.push_back({"edge rounds (slowest region)", edge / n,
                     fmt::format("{} × (the closing report's download, training and upload, or the "
                                 "deadline, + the aggregator's average)",
                                 plan_.edge_rounds)});
  p.terms.push_back(
      {"aggregation at the server", cloud / n, "average of the regions' changes on its device"});
  p.iteration_seconds = now / n;
  p.notes.push_back(
      fmt::format("mean over the {} cloud round(s), replaying each aggregator's seeded selection of {} of "
                  "its region's idle, "
                  "online clients per edge round, closed at the {}-th report{}",
                  rounds, plan_.per_round, plan_.report_goal,
                  plan_.deadline ? fmt::format(" or after {}", core::format_duration(*plan_.deadline)) : ""));
  p.notes.push_back(
      "uploads are costed one at a time on the aggregator's and the server's links (exact when client links "
      "and WAN paths are the bottleneck)");
}

Prediction Federated::predict() const {
  Prediction p;
  const bool avg = plan_.mode == FederatedPlan::Mode::fedavg;
  p.summary =
      fmt::format("federated ({}) for {}: {} clients, {} {}, {} local epoch(s), update {} (model {})",
                  to_string(plan_.mode), model_.name, plan_.clients, plan_.per_round,
                  plan_.mode == FederatedPlan::Mode::hierarchical
                      ? fmt::format("selected per region and edge round ({} regions, {} edge round(s) per "
                                    "cloud round)",
                                    plan_.aggregators, plan_.edge_rounds)
                  : avg ? "selected per round"
                        : "training at once",
                  plan_.local_epochs, core::format_bytes(static_cast<double>(upload_bytes_)),
                  core::format_bytes(static_cast<double>(model_bytes_)));
  // Task times by how many downloads share the server's link (a round's selection).
  std::map<int, std::vector<TaskTimes>> by_sharing;
  const std::function<const std::vector<TaskTimes>&(int)> tasks_with =
      [&](int downloads) -> const std::vector<TaskTimes>& {
    auto it = by_sharing.find(downloads);
    if (it == by_sharing.end()) {
      const int server_host = experiment_.placement[static_cast<std::size_t>(plan_.server())];
      it = by_sharing.emplace(downloads, task_times(downloads, server_host)).first;
    }
    return it->second;
  };
  if (plan_.mode == FederatedPlan::Mode::hierarchical) {
    predict_hierarchical(p);
    return p;
  }
  const std::vector<TaskTimes>& tasks = tasks_with(plan_.per_round);
  if (tasks.empty()) {
    p.notes.push_back("closed forms need the analytic paths of a YAML topology");
    return p;
  }
  const int server_host = experiment_.placement[static_cast<std::size_t>(plan_.server())];
  const core::DeviceProfile& server_device = experiment_.platform.device_of(server_host);
  const auto aggregation = [&](std::size_t updates) {
    return server_device.kernel_seconds(core::elementwise(
        "aggregate", parameters_ * static_cast<std::int64_t>(std::max<std::size_t>(1, updates)), model_.dtype,
        2, 2));
  };

  if (!avg) {
    // Rate argument: per_round clients each return an update every mean task time T̄ (clients are
    // drawn uniformly), so `buffer` updates take buffer · T̄ / per_round.
    double mean = 0;
    for (const TaskTimes& t : tasks) mean += t.total();
    mean /= static_cast<double>(tasks.size());
    const double wait = plan_.buffer * mean / plan_.per_round;
    p.terms.push_back(
        {"mean task (download + training + upload)", mean, "over the population, uniform draws"});
    p.terms.push_back({"updates of one aggregation", wait,
                       fmt::format("buffer · T̄ / concurrency = {} · T̄ / {}", plan_.buffer, plan_.per_round)});
    p.terms.push_back({"aggregation", aggregation(static_cast<std::size_t>(plan_.buffer)),
                       "average of the buffer on the server's device"});
    p.iteration_seconds = wait + p.terms.back().seconds;
    p.notes.push_back(
        "fedbuff: a rate estimate (steady state, no staleness discards); the simulation draws the actual "
        "clients");
    if (availability_) {
      p.notes.push_back(
          "fedbuff: the estimate assumes every client online; the simulation draws among the online ones and "
          "leaves slots empty while too few are");
    }
    return p;
  }

  // FedAvg: replay the server's rounds with the same draws. A round closes at its report_goal-th
  // report (the order statistic of the selected clients' task times) or at the deadline; clients
  // still working are late and are not selected again until their update has come in.
  ReplayState state;
  std::vector<int> everyone(static_cast<std::size_t>(plan_.clients));
  std::iota(everyone.begin(), everyone.end(), 0);
  double now = 0, down = 0, train = 0, up = 0, agg = 0, waited = 0;
  const int rounds = experiment_.iterations;
  for (int r = 0; r < rounds; ++r) {
    const ReplayedRound round =
        replay_round(now, everyone, static_cast<std::uint64_t>(r), r, tasks_with, state);
    if (round.last != nullptr) {
      down += round.last->download;
      train += round.last->compute;
      up += round.last->upload;
    }
    waited += round.close - (now + (round.last != nullptr ? round.last->total() : 0.0));
    const double a = aggregation(round.reported);
    agg += a;
    now = round.close + a;
  }
  const double n = rounds;
  p.terms.push_back({"download (client that closes the round)", down / n,
                     "α + M / min(server up / selected, client down)"});
  p.terms.push_back(
      {"local training", train / n, "epochs · ⌈samples / batch⌉ steps at its device's roofline"});
  p.terms.push_back({"upload", up / n, "α + update bytes / client up"});
  if (waited > 0)
    p.terms.push_back({"waiting for the deadline", waited / n, "no report_goal-th report before it"});
  p.terms.push_back({"aggregation", agg / n, "weighted average on the server's device"});
  p.iteration_seconds = now / n;
  p.notes.push_back(
      fmt::format("mean over the {} round(s), replaying the server's seeded selection among the idle, online "
                  "clients: each round closes at the {}-th report{}",
                  rounds, plan_.report_goal,
                  plan_.deadline ? fmt::format(" or after {}", core::format_duration(*plan_.deadline)) : ""));
  p.notes.push_back(
      "uploads are costed one at a time on the server's link (exact when client links are the bottleneck)");
  return p;
}

}  // namespace

std::unique_ptr<Strategy> make_federated(const core::Experiment& experiment) {
  return std::make_unique<Federated>(experiment);
}

}  // namespace dmlsim::strategies
