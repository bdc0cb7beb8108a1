#include "core/trace_reader.hpp"

#include "core/json_scanner.hpp"

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
// Ranks are packed into 23 bits by MessageSequencer; anything larger is not a trace we wrote.
constexpr std::int64_t kMaxRank = (std::int64_t{1} << 23) - 1;

// The fields the reader looks at; everything else is skipped (checked for JSON syntax only).
enum class Field : std::uint8_t {
  none,
  ph,
  name,
  pid,
  ts,
  dur,
  args,
  rank,
  lane,
  category,
  bytes,
  flops,
  peer,
  iteration,
  group_size,
  tag,
  seq,
  comm,
  attribute,  // one of trace_attributes.hpp's, by name (Parser::attribute_)
  meta_name,
  count
};

constexpr std::string_view kFieldNames[] = {"",
                                            "ph",
                                            "name",
                                            "pid",
                                            "ts",
                                            "dur",
                                            "args",
                                            "args.rank",
                                            "args.lane",
                                            "args.category",
                                            "args.bytes",
                                            "args.flops",
                                            "args.peer",
                                            "args.iteration",
                                            "args.group_size",
                                            "args.tag",
                                            "args.seq",
                                            "args.comm",
                                            "args.<attribute>",
                                            "args.name"};
static_assert(std::size(kFieldNames) == static_cast<std::size_t>(Field::count));

Field event_field(std::string_view key) {
  if (key == "ph") return Field::ph;
  if (key == "name") return Field::name;
  if (key == "pid") return Field::pid;
  if (key == "ts") return Field::ts;
  if (key == "dur") return Field::dur;
  if (key == "args") return Field::args;
  return Field::none;
}

Field args_field(std::string_view key) {
  switch (key.empty() ? '\0' : key.front()) {
    case 'b':
      if (key == "bytes") return Field::bytes;
      break;
    case 'c':
      if (key == "category") return Field::category;
      if (key == "comm") return Field::comm;
      break;
    case 'f':
      if (key == "flops") return Field::flops;
      break;
    case 'g':
      if (key == "group_size") return Field::group_size;
      break;
    case 'i':
      if (key == "iteration") return Field::iteration;
      break;
    case 'l':
      if (key == "lane") return Field::lane;
      break;
    case 'n':
      if (key == "name") return Field::meta_name;
      break;
    case 'p':
      if (key == "peer") return Field::peer;
      break;
    case 'r':
      if (key == "rank") return Field::rank;
      break;
    case 's':
      if (key == "seq") return Field::seq;
      break;
    case 't':
      if (key == "tag") return Field::tag;
      break;
  }
  return Field::none;
}

enum class Kind : std::uint8_t { string, integer, number, object };

Kind expected_kind(Field f) {
  switch (f) {
    case Field::ph:
    case Field::name:
    case Field::lane:
    case Field::category:
    case Field::comm:
    case Field::meta_name:
      return Kind::string;
    case Field::ts:
    case Field::dur:
    case Field::flops:
      return Kind::number;
    case Field::args:
      return Kind::object;
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
  std::uint32_t present = 0;  // bit per Field
  std::string ph, name, lane, category, comm, meta_name;
  std::int64_t pid = 0, rank = 0, peer = -1, iteration = -1, group_size = 0, tag = -1;
  std::uint64_t bytes = 0, seq = 0;
  double ts = 0, dur = 0, flops = 0;
  EventAttributes attributes;

  // Back to the defaults of an absent field (the strings keep their capacity).
  void reset() {
    present = 0;
    pid = rank = group_size = 0;
    peer = iteration = tag = -1;
    bytes = seq = 0;
    ts = dur = flops = 0;
    attributes = {};
  }
  bool has(Field f) const { return (present >> static_cast<unsigned>(f)) & 1u; }
  void mark(Field f) { present |= 1u << static_cast<unsigned>(f); }
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
        field_ = event_field(in_.string());
        in_.expect(':', "after an object key");
        if (field_ == Field::args) {
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
    event_.mark(Field::args);
    in_.expect('{', "");
    if (in_.consume('}')) return;
    do {
      const std::string_view key = in_.string();
      field_ = args_field(key);
      if (field_ == Field::none && (attribute_ = attribute_index(key)) < kAttributeCount)
        field_ = Field::attribute;
      in_.expect(':', "after an object key");
      value();
    } while (in_.next_in('}', "in args"));
  }

  // The value of field_: stored if it is one we read, checked against the type it must have.
  void value() {
    if (field_ == Field::none) return in_.skip_value();
    const Kind want = expected_kind(field_);
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
    if (!n.integral) fail_event(fmt::format("field '{}' must be an integer, found {}", field_name(), n.text));
    if (field_ == Field::bytes || field_ == Field::seq) {
      if (n.text.starts_with('-'))
        fail_event(fmt::format("field '{}' must not be negative: {}", field_name(), n.text));
      std::uint64_t v = 0;
      if (std::from_chars(first, last, v).ec != std::errc()) out_of_range(n.text);
      (field_ == Field::bytes ? event_.bytes : event_.seq) = v;
      event_.mark(field_);
      return;
    }
    std::int64_t v = 0;
    if (std::from_chars(first, last, v).ec != std::errc()) out_of_range(n.text);
    store_integer(v);
  }

  void store_string(std::string_view v) {
    switch (field_) {
      case Field::ph:
        event_.ph.assign(v);
        break;
      case Field::name:
        event_.name.assign(v);
        break;
      case Field::lane:
        event_.lane.assign(v);
        break;
      case Field::category:
        event_.category.assign(v);
        break;
      case Field::comm:
        event_.comm.assign(v);
        break;
      case Field::meta_name:
        event_.meta_name.assign(v);
        break;
      default:
        break;
    }
    event_.mark(field_);
  }

  void store_number(double v) {
    if (field_ == Field::ts) event_.ts = v;
    if (field_ == Field::dur) event_.dur = v;
    if (field_ == Field::flops) event_.flops = v;
    event_.mark(field_);
  }

  void store_integer(std::int64_t v) {
    switch (field_) {
      case Field::pid:
        event_.pid = v;
        break;
      case Field::rank:
        event_.rank = v;
        break;
      case Field::peer:
        event_.peer = v;
        break;
      case Field::iteration:
        event_.iteration = v;
        break;
      case Field::group_size:
        event_.group_size = v;
        break;
      case Field::tag:
        event_.tag = v;
        break;
      case Field::attribute:
        if (v < -1 || v > std::numeric_limits<int>::max())
          fail_event(fmt::format("field '{}' out of range: {} (expected -1 to {})", field_name(), v,
                                 std::numeric_limits<int>::max()));
        event_.attributes.set_at(attribute_, static_cast<int>(v));
        break;
      default:
        break;
    }
    event_.mark(field_);
  }

  void finish_event() {
    if (!event_.has(Field::ph)) fail_event("missing field 'ph'");
    if (event_.ph == "X") {
      add_complete_event();
    } else if (event_.ph == "M" && event_.has(Field::name) && event_.name == "process_name") {
      add_process_name();
    }
    // Flow ("s", "f") and other events carry nothing the Trace keeps.
  }

  void require(Field f) {
    if (!event_.has(f)) {
      fail_event(fmt::format("missing field '{}' (every X event that dmlsim writes has it)",
                             kFieldNames[static_cast<int>(f)]));
    }
  }

  int checked_int(Field f, std::int64_t v, std::int64_t lo, std::int64_t hi) {
    if (v < lo || v > hi) {
      fail_event(fmt::format("field '{}' out of range: {} (expected {} to {})",
                             kFieldNames[static_cast<int>(f)], v, lo, hi));
    }
    return static_cast<int>(v);
  }

  std::uint32_t intern(const std::string& text) {
    const auto it = interned_.find(text);
    if (it != interned_.end()) return it->second;
    const std::uint32_t id = trace_.intern(text);
    interned_.emplace(text, id);
    return id;
  }

  void add_complete_event() {
    for (Field f :
         {Field::name, Field::ts, Field::dur, Field::args, Field::rank, Field::lane, Field::category})
      require(f);
    if (!(event_.dur >= 0)) fail_event(fmt::format("negative duration: dur = {}", event_.dur));
    constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
    TraceEvent e;
    e.rank = checked_int(Field::rank, event_.rank, 0, kMaxRank);
    try {
      e.lane = parse_lane(event_.lane);
    } catch (const ValueError& error) {
      fail_event(fmt::format("field 'args.lane': {}", error.what()));
    }
    e.name = intern(event_.name);
    e.category = intern(event_.category);
    e.comm = event_.has(Field::comm) ? intern(event_.comm) : 0;
    e.start = event_.ts / kMicrosecondsPerSecond;
    e.end = e.start + event_.dur / kMicrosecondsPerSecond;
    e.bytes = event_.bytes;
    e.flops = event_.flops;
    e.peer = checked_int(Field::peer, event_.peer, -1, kMaxRank);
    e.iteration = checked_int(Field::iteration, event_.iteration, -1, kIntMax);
    e.group_size = checked_int(Field::group_size, event_.group_size, 0, kIntMax);
    e.tag = checked_int(Field::tag, event_.tag, std::numeric_limits<int>::min(), kIntMax);
    if (event_.seq > std::numeric_limits<std::uint32_t>::max())
      out_of_range(std::to_string(event_.seq), Field::seq);
    e.seq = static_cast<std::uint32_t>(event_.seq);
    e.attributes = event_.attributes;
    trace_.add(e);
  }

  void add_process_name() {
    if (!event_.has(Field::pid)) fail_event("missing field 'pid' in process_name metadata");
    if (!event_.has(Field::meta_name)) fail_event("missing field 'args.name' in process_name metadata");
    const auto r = static_cast<std::size_t>(checked_int(Field::pid, event_.pid, 0, kMaxRank));
    if (r >= placements_.size()) placements_.resize(r + 1, RankPlacement{-1, 0, ""});
    RankPlacement p{-1, 0, ""};
    if (!parse_process_name(event_.meta_name, p)) p.host_name = event_.meta_name;  // another writer's name
    placements_[r] = p;
  }

  std::string field_name() const {
    if (field_ == Field::attribute) return fmt::format("args.{}", kAttributes[attribute_].name);
    return std::string(kFieldNames[static_cast<int>(field_)]);
  }

  [[noreturn]] void out_of_range(std::string_view text) { out_of_range(text, field_); }
  [[noreturn]] void out_of_range(std::string_view text, Field f) {
    fail_event(fmt::format("field '{}' out of range: {}", kFieldNames[static_cast<int>(f)], text));
  }
  [[noreturn]] void wrong_type() {
    in_.expect_value();
    const std::string_view found = in_.next_kind();
    fail_event(
        fmt::format("field '{}' must be {}, found {}", field_name(), describe(expected_kind(field_)), found));
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
  Field field_ = Field::none;
  std::size_t attribute_ = 0;  // which attribute, when field_ is Field::attribute
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
