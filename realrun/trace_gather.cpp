#include "realrun/trace_gather.hpp"

#include <nlohmann/json.hpp>

#include "core/trace_fields.hpp"
#include "realrun/mpi_check.hpp"

namespace dmlsim::real {

namespace {

// Each event as a JSON array: the table's stored fields (trace_fields.hpp) in its order, text as
// text, then the attributes in trace_attributes.hpp's order. The rank is the sender's own.
nlohmann::json serialize(std::span<const core::Trace* const> local, const core::RankPlacement& placement) {
  nlohmann::json events = nlohmann::json::array();
  for (const core::Trace* t : local) {
    if (t == nullptr) continue;
    for (const core::TraceEvent& e : t->events()) {
      nlohmann::json fields = nlohmann::json::array();
      for (const core::TraceField& f : core::kTraceFields) {
        if (f.set == nullptr) continue;
        const core::FieldValue v = f.get(e);
        if (f.unit == core::FieldUnit::text) {
          fields.push_back(t->text(static_cast<std::uint32_t>(v.integer)));
        } else if (core::is_real(f.unit)) {
          fields.push_back(v.real);
        } else {
          fields.push_back(v.integer);
        }
      }
      nlohmann::json attributes = nlohmann::json::array();
      for (std::size_t i = 0; i < core::kAttributeCount; ++i) attributes.push_back(e.attributes.at(i));
      events.push_back({fields, attributes});
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
      std::size_t k = 0;
      for (const core::TraceField& f : core::kTraceFields) {
        if (f.set == nullptr) continue;
        const nlohmann::json& value = e[0][k++];
        core::FieldValue v;
        if (f.unit == core::FieldUnit::text) {
          v.integer = trace.intern(value.get<std::string>());
        } else if (core::is_real(f.unit)) {
          v.real = value.get<double>();
        } else {
          v.integer = value.get<std::int64_t>();
        }
        f.set(ev, v);
      }
      ev.rank = r;
      for (std::size_t i = 0; i < core::kAttributeCount; ++i) ev.attributes.set_at(i, e[1][i].get<int>());
      trace.add(ev);
    }
  }
  trace.sort();
  return trace;
}

}  // namespace dmlsim::real
