#include "core/trace_reader.hpp"

#include "core/json_scanner.hpp"
#include "core/trace_fields.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

namespace dmlsim::core {
namespace {

constexpr double kMicrosecondsPerSecond = 1e6;

// What a key of a traceEvents entry is: one of the Chrome event's own keys, one of the table's
// fields (trace_fields.hpp) in args, an attribute (trace_attributes.hpp) in args, process_name
// metadata's args.name, or something the reader skips.
enum class KeyKind : std::uint8_t { none, ph, name, pid, ts, dur, args, field, attribute, meta_name };

struct Key {
  KeyKind kind = KeyKind::none;
  std::size_t index = 0;  // which field or attribute
};

Key event_key(std::string_view key) {
  if (key == "ph") return {KeyKind::ph};
  if (key == "name") return {KeyKind::name};
  if (key == "pid") return {KeyKind::pid};
  if (key == "ts") return {KeyKind::ts};
  if (key == "dur") return {KeyKind::dur};
  if (key == "args") return {KeyKind::args};
  return {};
}

Key args_key(std::string_view key) {
  for (std::size_t i = 0; i < kTraceFieldCount; ++i) {
    if (kTraceFields[i].chrome == InChrome::args && kTraceFields[i].column == key) return {KeyKind::field, i};
  }
  if (const std::size_t a = attribute_index(key); a < kAttributeCount) return {KeyKind::attribute, a};
  if (key == "name") return {KeyKind::meta_name};
  return {};
}

enum class Kind : std::uint8_t { string, integer, number, object };

Kind expected_kind(Key key) {
  switch (key.kind) {
    case KeyKind::ph:
    case KeyKind::name:
    case KeyKind::meta_name:
      return Kind::string;
    case KeyKind::ts:
    case KeyKind::dur:
      return Kind::number;
    case KeyKind::args:
      return Kind::object;
    case KeyKind::field: {
      const FieldUnit unit = kTraceFields[key.index].unit;
      if (unit == FieldUnit::text || unit == FieldUnit::lane) return Kind::string;
      return is_real(unit) ? Kind::number : Kind::integer;
    }
    default:
      return Kind::integer;
  }
}

std::string_view describe(Kind k) {
  switch (k) {
    case Kind::string:
      return "a string";
    case Kind::integer:
      return "an integer";
    case Kind::number:
      return "a number";
    case Kind::object:
      return "an object";
  }
  return "?";
}

// One traceEvents entry as it is read; converted when its object closes.
struct RawEvent {
  std::uint32_t frame_present = 0;   // bit per KeyKind
  std::uint64_t fields_present = 0;  // bit per table field
  std::string ph, name, meta_name;
  std::int64_t pid = 0;
  double ts = 0, dur = 0;
  std::array<FieldValue, kTraceFieldCount> values{};
  std::array<std::string, kTraceFieldCount> texts;  // text and lane fields, interned at the end
  EventAttributes attributes;
  static_assert(kTraceFieldCount <= 64);

  // Back to the defaults of an absent field (the strings keep their capacity).
  void reset() {
    frame_present = 0;
    fields_present = 0;
    pid = 0;
    ts = dur = 0;
    for (std::size_t i = 0; i < kTraceFieldCount; ++i) values[i] = unset_value(kTraceFields[i]);
    attributes = {};
  }
  bool has(KeyKind k) const { return (frame_present >> static_cast<unsigned>(k)) & 1u; }
  bool has_field(std::size_t i) const { return (fields_present >> i) & 1u; }
  void mark(Key key) {
    if (key.kind == KeyKind::field) {
      fields_present |= std::uint64_t{1} << key.index;
    } else {
      frame_present |= 1u << static_cast<unsigned>(key.kind);
    }
  }
};

// "rank 3 (node 0, node0.gpu3)" → placement; false if the name is not in that form.
bool parse_process_name(std::string_view text, RankPlacement& placement) {
  constexpr std::string_view kNode = " (node ", kComma = ", ";
  if (!text.starts_with("rank ")) return false;
  const std::size_t node_at = text.find(kNode);
  if (node_at == std::string_view::npos || !text.ends_with(")")) return false;
  const std::string_view rest = text.substr(node_at + kNode.size());
  int node = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), node);
  if (ec != std::errc() ||
      !std::string_view(end, static_cast<std::size_t>(rest.end() - end)).starts_with(kComma))
    return false;
  placement.node = node;
  const std::string_view host = std::string_view(end, static_cast<std::size_t>(rest.end() - end));
  placement.host_name = std::string(host.substr(kComma.size(), host.size() - kComma.size() - 1));
  return true;
}

// Walks {"otherData": {"label": ...}, "traceEvents": [...]} and turns X events and process_name
// metadata into a Trace; everything else is skipped (but must be valid JSON).
class TraceParser {
 public:
  // A dmlsim trace holds about one X event per 250 bytes: reserve rather than grow a vector of
  // a million events by doubling.
  static constexpr std::size_t kBytesPerEvent = 250;

  TraceParser(std::string_view text, std::string_view source) : in_(text, source), source_(source) {
    trace_.events().reserve(text.size() / kBytesPerEvent);
  }

  Trace parse() {
    const char first = in_.peek();
    if (first == '[') fail_top("the file is a JSON array, not a Chrome trace object with \"traceEvents\"");
    if (first == '"' || first == 't' || first == 'f' || first == 'n' || first == '-' ||
        (first >= '0' && first <= '9')) {
      fail_top(fmt::format("the file holds {}, not a JSON object with \"traceEvents\"", in_.next_kind()));
    }
    in_.expect('{', "at the start of the trace");
    if (!in_.consume('}')) {
      do {
        const std::string key(in_.string());
        in_.expect(':', "after an object key");
        if (key == "traceEvents") {
          const char c = in_.peek();
          in_.expect_value();
          if (c != '[') fail_top(fmt::format("\"traceEvents\" must be an array, found {}", in_.next_kind()));
          events();
        } else if (key == "otherData" && in_.peek() == '{') {
          other_data();
        } else {
          in_.skip_value();
        }
      } while (in_.next_in('}', "in the trace object"));
    }
    if (!in_.at_end()) in_.fail("unexpected content after the end of the trace object");
    if (!seen_events_) fail_top("no \"traceEvents\" array");

    std::size_t ranks = placements_.size();
    for (const TraceEvent& e : trace_.events()) ranks = std::max(ranks, static_cast<std::size_t>(e.rank) + 1);
    placements_.resize(ranks, RankPlacement{-1, 0, ""});
    trace_.ranks = std::move(placements_);
    return std::move(trace_);
  }

 private:
  void other_data() {
    in_.expect('{', "");
    if (in_.consume('}')) return;
    do {
      const std::string key(in_.string());
      in_.expect(':', "after an object key");
      if (key == "label" && in_.peek() == '"') {
        trace_.label = std::string(in_.string());
      } else {
        in_.skip_value();
      }
    } while (in_.next_in('}', "in otherData"));
  }

  void events() {
    seen_events_ = true;
    in_.expect('[', "after \"traceEvents\"");
    if (in_.consume(']')) return;
    do {
      in_.expect_value();
      event_start_ = in_.position();
      if (in_.peek() != '{') fail_event(fmt::format("must be an object, found {}", in_.next_kind()));
      event();
      ++event_index_;
    } while (in_.next_in(']', "in traceEvents"));
  }

  void event() {
    event_.reset();
    in_.expect('{', "");
    if (!in_.consume('}')) {
      do {
        key_ = event_key(in_.string());
        in_.expect(':', "after an object key");
        if (key_.kind == KeyKind::args) {
          if (in_.peek() != '{') wrong_type();
          args();
        } else {
          value();
        }
      } while (in_.next_in('}', "in a trace event"));
    }
    finish_event();
  }

  void args() {
    event_.mark(key_);
    in_.expect('{', "");
    if (in_.consume('}')) return;
    do {
      key_ = args_key(in_.string());
      in_.expect(':', "after an object key");
      value();
    } while (in_.next_in('}', "in args"));
  }

  // The value of key_: stored if it is one we read, checked against the type it must have.
  void value() {
    if (key_.kind == KeyKind::none) return in_.skip_value();
    const Kind want = expected_kind(key_);
    const char c = in_.peek();
    if (want == Kind::string) {
      if (c != '"') wrong_type();
      store_string(in_.string());
      return;
    }
    if (c != '-' && (c < '0' || c > '9')) wrong_type();
    const json::Scanner::Number n = in_.number();
    const char* first = n.text.data();
    const char* last = first + n.text.size();
    if (want == Kind::number) {
      double v = 0;
      if (std::from_chars(first, last, v).ec != std::errc()) out_of_range(n.text);
      store_number(v);
      return;
    }
    if (!n.integral) fail_event(fmt::format("field '{}' must be an integer, found {}", key_name(), n.text));
    std::int64_t v = 0;
    if (std::from_chars(first, last, v).ec != std::errc()) out_of_range(n.text);
    store_integer(v);
  }

  void store_string(std::string_view v) {
    switch (key_.kind) {
      case KeyKind::ph:
        event_.ph.assign(v);
        break;
      case KeyKind::name:
        event_.name.assign(v);
        break;
      case KeyKind::meta_name:
        event_.meta_name.assign(v);
        break;
      case KeyKind::field:
        event_.texts[key_.index].assign(v);
        break;
      default:
        break;
    }
    event_.mark(key_);
  }

  void store_number(double v) {
    if (key_.kind == KeyKind::ts) event_.ts = v;
    if (key_.kind == KeyKind::dur) event_.dur = v;
    if (key_.kind == KeyKind::field) event_.values[key_.index].real = v;
    event_.mark(key_);
  }

  void store_integer(std::int64_t v) {
    switch (key_.kind) {
      case KeyKind::pid:
        event_.pid = v;
        break;
      case KeyKind::field: {
        const TraceField& f = kTraceFields[key_.index];
        const std::int64_t lowest = unset_value(f).integer;
        if (v < lowest && f.unit == FieldUnit::bytes)
          fail_event(fmt::format("field '{}' must not be negative: {}", key_name(), v));
        if (v < lowest || v > f.max)
          fail_event(
              fmt::format("field '{}' out of range: {} (expected {} to {})", key_name(), v, lowest, f.max));
        event_.values[key_.index].integer = v;
        break;
      }
      case KeyKind::attribute:
        if (v < -1 || v > std::numeric_limits<int>::max())
          fail_event(fmt::format("field '{}' out of range: {} (expected -1 to {})", key_name(), v,
                                 std::numeric_limits<int>::max()));
        event_.attributes.set_at(key_.index, static_cast<int>(v));
        break;
      default:
        break;
    }
    event_.mark(key_);
  }

  void finish_event() {
    if (!event_.has(KeyKind::ph)) fail_event("missing field 'ph'");
    if (event_.ph == "X") {
      add_complete_event(false);
    } else if (event_.ph == "i") {
      add_complete_event(true);
    } else if (event_.ph == "C") {
      add_counter_event();
    } else if (event_.ph == "M" && event_.has(KeyKind::name) && event_.name == "process_name") {
      add_process_name();
    }
    // Flow ("s", "f") and other events carry nothing the Trace keeps.
  }

  void require(KeyKind k, std::string_view name) {
    if (!event_.has(k))
      fail_event(fmt::format("missing field '{}' (every X event that dmlsim writes has it)", name));
  }

  std::uint32_t intern(const std::string& text) {
    const auto it = interned_.find(text);
    if (it != interned_.end()) return it->second;
    const std::uint32_t id = trace_.intern(text);
    interned_.emplace(text, id);
    return id;
  }

  // An X event, or an instant (ph i: no duration).
  void add_complete_event(bool instant) {
    require(KeyKind::name, "name");
    require(KeyKind::ts, "ts");
    if (!instant) require(KeyKind::dur, "dur");
    require(KeyKind::args, "args");
    if (!(event_.dur >= 0)) fail_event(fmt::format("negative duration: dur = {}", event_.dur));
    TraceEvent e;
    for (std::size_t i = 0; i < kTraceFieldCount; ++i) {
      const TraceField& f = kTraceFields[i];
      if (f.chrome != InChrome::args) continue;
      if (f.required && !event_.has_field(i))
        fail_event(
            fmt::format("missing field 'args.{}' (every X event that dmlsim writes has it)", f.column));
      FieldValue v = event_.values[i];
      if (f.unit == FieldUnit::text && event_.has_field(i)) v.integer = intern(event_.texts[i]);
      if (f.unit == FieldUnit::lane) {
        try {
          v.integer = static_cast<std::int64_t>(parse_lane(event_.texts[i]));
        } catch (const ValueError& error) {
          fail_event(fmt::format("field 'args.{}': {}", f.column, error.what()));
        }
      }
      f.set(e, v);
    }
    e.name = intern(event_.name);
    e.start = event_.ts / kMicrosecondsPerSecond;
    e.end = e.start + event_.dur / kMicrosecondsPerSecond;
    e.attributes = event_.attributes;
    trace_.add(e);
  }

  // A counter sample (ph C): the process is the rank, the only arg its value.
  void add_counter_event() {
    require(KeyKind::name, "name");
    require(KeyKind::pid, "pid");
    require(KeyKind::ts, "ts");
    constexpr std::size_t kValue = trace_field_index("value");
    static_assert(kValue < kTraceFieldCount);
    if (!event_.has_field(kValue)) fail_event("missing field 'args.value' in a counter event");
    if (event_.pid < 0 || event_.pid > kMaxTraceRank)
      fail_event(fmt::format("field 'pid' out of range: {} (expected 0 to {})", event_.pid, kMaxTraceRank));
    TraceEvent e;
    e.rank = static_cast<int>(event_.pid);
    e.lane = Lane::counter;
    e.name = intern(event_.name);
    e.start = e.end = event_.ts / kMicrosecondsPerSecond;
    e.value = event_.values[kValue].real;
    trace_.add(e);
  }

  void add_process_name() {
    if (!event_.has(KeyKind::pid)) fail_event("missing field 'pid' in process_name metadata");
    if (!event_.has(KeyKind::meta_name)) fail_event("missing field 'args.name' in process_name metadata");
    if (event_.pid < 0 || event_.pid > kMaxTraceRank)
      fail_event(fmt::format("field 'pid' out of range: {} (expected 0 to {})", event_.pid, kMaxTraceRank));
    const auto r = static_cast<std::size_t>(event_.pid);
    if (r >= placements_.size()) placements_.resize(r + 1, RankPlacement{-1, 0, ""});
    RankPlacement p{-1, 0, ""};
    if (!parse_process_name(event_.meta_name, p)) p.host_name = event_.meta_name;  // another writer's name
    placements_[r] = p;
  }

  std::string key_name() const {
    switch (key_.kind) {
      case KeyKind::field:
        return fmt::format("args.{}", kTraceFields[key_.index].column);
      case KeyKind::attribute:
        return fmt::format("args.{}", kAttributes[key_.index].name);
      case KeyKind::meta_name:
        return "args.name";
      case KeyKind::ph:
        return "ph";
      case KeyKind::name:
        return "name";
      case KeyKind::pid:
        return "pid";
      case KeyKind::ts:
        return "ts";
      case KeyKind::dur:
        return "dur";
      case KeyKind::args:
        return "args";
      case KeyKind::none:
        break;
    }
    return "?";
  }

  [[noreturn]] void out_of_range(std::string_view text) {
    fail_event(fmt::format("field '{}' out of range: {}", key_name(), text));
  }
  [[noreturn]] void wrong_type() {
    in_.expect_value();
    const std::string_view found = in_.next_kind();
    fail_event(
        fmt::format("field '{}' must be {}, found {}", key_name(), describe(expected_kind(key_)), found));
  }
  [[noreturn]] void fail_event(const std::string& problem) {
    throw TraceReadError(
        fmt::format("{}:{}: traceEvents[{}]: {}", source_, in_.line_of(event_start_), event_index_, problem));
  }
  [[noreturn]] void fail_top(std::string_view problem) {
    throw TraceReadError(fmt::format("{}: not a Chrome trace: {}", source_, problem));
  }

  json::Scanner in_;
  std::string_view source_;
  Trace trace_;
  std::vector<RankPlacement> placements_;
  std::unordered_map<std::string, std::uint32_t> interned_;
  Key key_;  // the key whose value is being read
  RawEvent event_;
  std::size_t event_index_ = 0;
  std::size_t event_start_ = 0;  // byte offset of the current event, for messages
  bool seen_events_ = false;
};

}  // namespace

Trace parse_chrome_trace(std::string_view text, std::string_view source) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw TraceReadError(fmt::format("{}: empty file (expected a Chrome trace JSON object)", source));
  return TraceParser(text, source).parse();
}

Trace read_chrome_trace(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw TraceReadError(fmt::format("{}: is a directory, not a trace file", name));
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw TraceReadError(fmt::format("{}: cannot open: {}", name, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw TraceReadError(fmt::format("{}: cannot read: {}", name, std::strerror(error)));
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return parse_chrome_trace({}, name);  // the empty-file message
  }
  // Mapped, not copied: a million-event trace is a few hundred MB, and its pages are mostly in the
  // page cache already (dmlsim just wrote it).
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (data == MAP_FAILED)
    throw TraceReadError(fmt::format("{}: cannot read: {}", name, std::strerror(errno)));
  struct Unmap {
    void* data;
    std::size_t size;
    ~Unmap() { ::munmap(data, size); }
  } unmap{data, size};
  return parse_chrome_trace(std::string_view(static_cast<const char*>(data), size), name);
}

}  // namespace dmlsim::core
