#include "realrun/trace_gather.hpp"

#include <nlohmann/json.hpp>

#include "realrun/mpi_check.hpp"

namespace dmlsim::real {

namespace {

// Events as JSON arrays [lane, name, category, start, end, bytes, flops, peer, iteration, tag, seq, group,
// comm, [attributes in trace_attributes.hpp's order]].
nlohmann::json serialize(std::span<const core::Trace* const> local, const core::RankPlacement& placement) {
  nlohmann::json events = nlohmann::json::array();
  for (const core::Trace* t : local) {
    if (t == nullptr) continue;
    for (const core::TraceEvent& e : t->events()) {
      nlohmann::json attributes = nlohmann::json::array();
      for (std::size_t i = 0; i < core::kAttributeCount; ++i) attributes.push_back(e.attributes.at(i));
      events.push_back({static_cast<int>(e.lane), t->text(e.name), t->text(e.category), e.start, e.end,
                        e.bytes, e.flops, e.peer, e.iteration, e.tag, e.seq, e.group_size, t->text(e.comm),
                        attributes});
    }
  }
  return {{"host", placement.host},
          {"node", placement.node},
          {"host_name", placement.host_name},
          {"events", events}};
}

}  // namespace

core::Trace gather_traces(MPI_Comm comm, std::span<const core::Trace* const> local,
                          const core::RankPlacement& placement) {
  int rank = 0, size = 1;
  DMLSIM_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  DMLSIM_CHECK_MPI(MPI_Comm_size(comm, &size));
  const std::vector<std::uint8_t> mine = nlohmann::json::to_cbor(serialize(local, placement));
  const int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(size));
  DMLSIM_CHECK_MPI(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm));
  std::vector<int> offsets(static_cast<std::size_t>(size), 0);
  std::vector<std::uint8_t> all;
  if (rank == 0) {
    for (int r = 1; r < size; ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
    all.resize(static_cast<std::size_t>(offsets.back() + lengths.back()));
  }
  DMLSIM_CHECK_MPI(MPI_Gatherv(mine.data(), length, MPI_BYTE, all.data(), lengths.data(), offsets.data(),
                               MPI_BYTE, 0, comm));
  core::Trace trace;
  if (rank != 0) return trace;
  for (int r = 0; r < size; ++r) {
    const auto begin = all.begin() + offsets[r];
    const nlohmann::json part = nlohmann::json::from_cbor(begin, begin + lengths[r]);
    trace.ranks.push_back(
        {part["host"].get<int>(), part["node"].get<int>(), part["host_name"].get<std::string>()});
    for (const auto& e : part["events"]) {
      core::TraceEvent ev;
      ev.rank = r;
      ev.lane = static_cast<core::Lane>(e[0].get<int>());
      ev.name = trace.intern(e[1].get<std::string>());
      ev.category = trace.intern(e[2].get<std::string>());
      ev.start = e[3].get<double>();
      ev.end = e[4].get<double>();
      ev.bytes = e[5].get<std::uint64_t>();
      ev.flops = e[6].get<double>();
      ev.peer = e[7].get<int>();
      ev.iteration = e[8].get<int>();
      ev.tag = e[9].get<int>();
      ev.seq = e[10].get<std::uint32_t>();
      const std::string comm_name = e[12].get<std::string>();
      ev.comm = comm_name.empty() ? 0 : trace.intern(comm_name);
      ev.group_size = e[11].get<int>();
      for (std::size_t i = 0; i < core::kAttributeCount; ++i) ev.attributes.set_at(i, e[13][i].get<int>());
      trace.add(ev);
    }
  }
  trace.sort();
  return trace;
}

}  // namespace dmlsim::real
