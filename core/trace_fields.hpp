#pragma once
// The fixed fields of a trace event, in one table that every writer and reader walks: trace.csv's
// columns (in this order, before the attributes of trace_attributes.hpp), trace.json's args, the
// real backend's gathering, the JSON and CSV readers and the GUI's details. Adding a field is its
// member in TraceEvent and one line in kTraceFields.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "core/trace.hpp"

namespace dmlsim::core {

// What a field's value is, which says how it is written, read, checked and shown.
enum class FieldUnit : std::uint8_t {
  integer,  // a count or index; never below the field's unset value
  rank,     // a rank: at most kMaxTraceRank
  bytes,
  flops,    // floating point operations (a real number)
  number,   // any other real number
  seconds,  // a time on the run's clock
  text,     // interned in the Trace
  lane,     // core::Lane, written by name
};

// Where trace.json carries a field: in the event's "args", or in the Chrome event itself (name, ts,
// dur), which the Chrome writer and reader handle by the format's own keys.
enum class InChrome : std::uint8_t { args, frame };

// A field's value as the table hands it around: integral units in `integer` (text as its interned
// id, a lane as its enum value), the others in `real`.
struct FieldValue {
  std::int64_t integer = 0;
  double real = 0;
  friend constexpr bool operator==(const FieldValue&, const FieldValue&) = default;
};

constexpr bool is_real(FieldUnit unit) {
  return unit == FieldUnit::flops || unit == FieldUnit::number || unit == FieldUnit::seconds;
}

// Ranks beyond this are not from a trace dmlsim wrote (the reader refuses them rather than size a
// placement table by them).
inline constexpr std::int64_t kMaxTraceRank = (std::int64_t{1} << 23) - 1;

struct TraceField {
  std::string_view column;  // trace.csv header; trace.json args key
  std::string_view label;   // the GUI's details
  FieldUnit unit;
  InChrome chrome;
  bool required;  // written on every event (else only where it differs from TraceEvent{}); readers refuse a
                  // trace without it
  FieldValue (*get)(const TraceEvent&);
  void (*set)(TraceEvent&, FieldValue);  // null for a derived field (duration)
  std::int64_t max;                      // the largest value the member holds
  FieldValue unset;                      // its value in TraceEvent{}: where nothing set it
};

// The table line of member `Member`.
template <auto Member>
constexpr TraceField field(std::string_view column, std::string_view label, FieldUnit unit,
                           InChrome chrome = InChrome::args, bool required = false) {
  using T = std::remove_cvref_t<decltype(std::declval<TraceEvent&>().*Member)>;
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  if constexpr (std::is_enum_v<T>) {
    max = std::numeric_limits<std::underlying_type_t<T>>::max();
  } else if constexpr (std::is_integral_v<T> && sizeof(T) < sizeof(std::int64_t)) {
    max = std::numeric_limits<T>::max();
  }
  if (unit == FieldUnit::rank) max = kMaxTraceRank;
  FieldValue unset;
  if constexpr (std::is_floating_point_v<T>) {
    unset.real = TraceEvent{}.*Member;
  } else {
    unset.integer = static_cast<std::int64_t>(TraceEvent{}.*Member);
  }
  return {column,
          label,
          unit,
          chrome,
          required,
          [](const TraceEvent& e) -> FieldValue {
            if constexpr (std::is_floating_point_v<T>) {
              return {0, e.*Member};
            } else {
              return {static_cast<std::int64_t>(e.*Member), 0};
            }
          },
          [](TraceEvent& e, FieldValue v) {
            if constexpr (std::is_floating_point_v<T>) {
              e.*Member = v.real;
            } else {
              e.*Member = static_cast<T>(v.integer);
            }
          },
          max,
          unset};
}

// clang-format off
inline constexpr TraceField kTraceFields[] = {
    field<&TraceEvent::rank>      ("rank",       "rank",          FieldUnit::rank,    InChrome::args,  true),
    field<&TraceEvent::lane>      ("lane",       "lane",          FieldUnit::lane,    InChrome::args,  true),
    field<&TraceEvent::name>      ("name",       "name",          FieldUnit::text,    InChrome::frame, true),
    field<&TraceEvent::category>  ("category",   "category",      FieldUnit::text,    InChrome::args,  true),
    field<&TraceEvent::start>     ("start_s",    "start",         FieldUnit::seconds, InChrome::frame, true),
    field<&TraceEvent::end>       ("end_s",      "end",           FieldUnit::seconds, InChrome::frame, true),
    {"duration_s", "duration", FieldUnit::seconds, InChrome::frame, true,
     [](const TraceEvent& e) { return FieldValue{0, e.duration()}; }, nullptr, 0, {}},
    field<&TraceEvent::bytes>     ("bytes",      "bytes",         FieldUnit::bytes),
    field<&TraceEvent::flops>     ("flops",      "flops",         FieldUnit::flops),
    field<&TraceEvent::peer>      ("peer",       "peer rank",     FieldUnit::rank),
    field<&TraceEvent::iteration> ("iteration",  "iteration",     FieldUnit::integer),
    field<&TraceEvent::group_size>("group_size", "group size",    FieldUnit::integer),
    field<&TraceEvent::tag>       ("tag",        "tag",           FieldUnit::integer),
    field<&TraceEvent::seq>       ("seq",        "seq",           FieldUnit::integer),
    field<&TraceEvent::comm>      ("comm",       "communicator",  FieldUnit::text),
    field<&TraceEvent::value>     ("value",      "value",         FieldUnit::number),
};
// clang-format on
inline constexpr std::size_t kTraceFieldCount = std::size(kTraceFields);

// The field whose column is `column`, or kTraceFieldCount.
constexpr std::size_t trace_field_index(std::string_view column) {
  for (std::size_t i = 0; i < kTraceFieldCount; ++i) {
    if (kTraceFields[i].column == column) return i;
  }
  return kTraceFieldCount;
}

// A field's value where nothing set it (computed once, in the table).
constexpr FieldValue unset_value(const TraceField& f) {
  return f.unset;
}

}  // namespace dmlsim::core
