#pragma once
// What each rank does in a run, declared by the strategy: workers train (data-parallel replicas,
// parameter-server workers), servers only serve, pipeline stages and federated clients train their
// part, spares wait to join, aggregators (hierarchical FL's regions) average their clients' updates.
// The summary, compare and the GUI read it instead of assuming that the first ranks train;
// `samples_per_iteration` turns iteration times into throughput.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dmlsim::core {

enum class RoleKind : std::uint8_t { worker, server, stage, client, spare, aggregator };
std::string_view to_string(RoleKind kind);

struct Role {
  RoleKind kind = RoleKind::worker;
  int index = -1;  // which server, stage or client; -1 when the kind has no index

  bool trains() const {
    return kind == RoleKind::worker || kind == RoleKind::stage || kind == RoleKind::client;
  }
  // "worker", "server 1", "stage 3".
  std::string label() const;
  // Reads back what label() wrote; throws ValueError on anything else.
  static Role parse(std::string_view label);
};

struct Roles {
  std::vector<Role> ranks;                 // one per rank; empty: every rank is a worker
  std::int64_t samples_per_iteration = 0;  // all ranks together; 0: the run does not train samples

  static Roles workers(int ranks, std::int64_t samples_per_iteration);
  Role of(int rank) const;
  int training_ranks(int total_ranks) const;
  // "8 workers, 2 servers" (kinds in declaration order, plural by count).
  std::string describe(int total_ranks) const;
};

}  // namespace dmlsim::core
