#pragma once
// Hand-made trace events for the tests of what reads traces (reader, phase statistics, summary).
#include <string_view>

#include "core/trace.hpp"

namespace dmlsim::testing {

inline core::TraceEvent make_event(core::Trace& t, int rank, core::Lane lane, std::string_view name,
                                   std::string_view category, double start, double end, int iteration = -1) {
  core::TraceEvent e;
  e.rank = rank;
  e.lane = lane;
  e.name = t.intern(name);
  e.category = t.intern(category);
  e.start = start;
  e.end = end;
  e.iteration = iteration;
  return e;
}

inline void add_event(core::Trace& t, int rank, core::Lane lane, std::string_view name,
                      std::string_view category, double start, double end, int iteration = -1) {
  t.add(make_event(t, rank, lane, name, category, start, end, iteration));
}

}  // namespace dmlsim::testing
