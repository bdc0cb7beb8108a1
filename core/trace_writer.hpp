#pragma once
// Writes a Trace as Chrome trace event JSON (ui.perfetto.dev and chrome://tracing open it) and as
// CSV. Layout: one process per rank; thread 0 holds phases, 1 compute, then one thread per
// concurrent stream of collectives, sends and receives (slices on one thread must nest, so
// overlapping events get their own thread). Messages are linked by flow arrows. Every event also
// carries its fields in "args", so dmlsim can read the JSON back without the CSV. Counter samples
// are Chrome counter events (ph C, their value the only arg, as a plotted series must be: they
// keep rank, name, time and value); marks are instant events (ph i) on the phases' thread.
#include <iosfwd>

#include "core/trace.hpp"

namespace dmlsim::core {

void write_chrome_trace(const Trace& trace, std::ostream& out);
void write_csv_trace(const Trace& trace, std::ostream& out);

}  // namespace dmlsim::core
