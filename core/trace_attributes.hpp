#pragma once
// Typed attributes of trace events: what a strategy knows about an event beyond its lane and name
// (which micro-batch, which pipeline stage, which job...), instead of encoding it in phase names.
// This one list drives every writer and reader — trace.json (args), trace.csv (one column each,
// after the fixed ones), the real backend's gathering, the trace reader and the GUI's details:
// adding an attribute is one line here.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

// One line per attribute: X(name, label) — the name in trace.json's args and trace.csv's header,
// the label in the GUI's details. New ones go at the end (the CSV columns keep their order).
// clang-format off
#define DMLSIM_TRACE_ATTRIBUTES(X)   \
  X(micro_batch, "micro-batch")      \
  X(stage,       "pipeline stage")   \
  X(chunk,       "model chunk")      \
  X(job,         "job")              \
  X(round,       "round")            \
  X(client,      "client")           \
  X(epoch,       "membership epoch") \
  X(staleness,   "staleness")        \
  X(part,        "part of collective") \
  /* the end of the list */
// clang-format on

namespace dmlsim::core {

enum class Attribute : std::uint8_t {
#define DMLSIM_ATTRIBUTE_ENUM(name, label) name,
  DMLSIM_TRACE_ATTRIBUTES(DMLSIM_ATTRIBUTE_ENUM)
#undef DMLSIM_ATTRIBUTE_ENUM
};

struct AttributeSpec {
  std::string_view name;   // JSON args key and CSV column
  std::string_view label;  // for people
};

inline constexpr AttributeSpec kAttributes[] = {
#define DMLSIM_ATTRIBUTE_SPEC(name, label) {#name, label},
    DMLSIM_TRACE_ATTRIBUTES(DMLSIM_ATTRIBUTE_SPEC)
#undef DMLSIM_ATTRIBUTE_SPEC
};
inline constexpr std::size_t kAttributeCount = std::size(kAttributes);

// The attribute named `name`, or kAttributeCount.
constexpr std::size_t attribute_index(std::string_view name) {
  for (std::size_t i = 0; i < kAttributeCount; ++i) {
    if (kAttributes[i].name == name) return i;
  }
  return kAttributeCount;
}

// Each attribute's value, -1 where unset. Small integers: indices and counts.
class EventAttributes {
 public:
  constexpr EventAttributes() { values_.fill(-1); }
  constexpr int get(Attribute a) const { return values_[static_cast<std::size_t>(a)]; }
  constexpr int at(std::size_t i) const { return values_[i]; }
  constexpr EventAttributes& set(Attribute a, int value) {
    values_[static_cast<std::size_t>(a)] = value;
    return *this;
  }
  constexpr void set_at(std::size_t i, int value) { values_[i] = value; }
  constexpr bool empty() const {
    for (const int v : values_) {
      if (v >= 0) return false;
    }
    return true;
  }
  // These values, with `outer`'s where these are unset (a phase inside another inherits its marks).
  constexpr EventAttributes over(const EventAttributes& outer) const {
    EventAttributes merged = *this;
    for (std::size_t i = 0; i < kAttributeCount; ++i) {
      if (merged.values_[i] < 0) merged.values_[i] = outer.values_[i];
    }
    return merged;
  }
  friend constexpr bool operator==(const EventAttributes&, const EventAttributes&) = default;

 private:
  std::array<int, kAttributeCount> values_{};
};

}  // namespace dmlsim::core
