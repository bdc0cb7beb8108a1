// core::read_chrome_trace reads back exactly what core::write_chrome_trace writes, and every broken
// file gets a TraceReadError naming the file and the problem — never a crash or a silent success.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "core/trace_csv_reader.hpp"
#include "core/trace_fields.hpp"
#include "core/trace_reader.hpp"
#include "core/trace_writer.hpp"
#include "trace_builder.hpp"

namespace dmlsim::core {
namespace {

// Times come back from microseconds in the file: start = ts / 1e6 is the original to within an ulp
// or two, end = start + dur / 1e6 a few ulps more. 1e-12 s is ~4000 ulps at 1 s and far below the
// nanosecond a trace resolves.
constexpr double kTimeTolerance = 1e-12;

std::string write(const Trace& trace) {
  std::ostringstream out;
  write_chrome_trace(trace, out);
  return out.str();
}

// Every lane and every field, names that need escaping, three ranks on two nodes.
Trace sample_trace() {
  Trace t;
  t.label = "sample \"run\" (simulated) µ";
  t.ranks = {{0, 0, "node0.gpu0"}, {1, 0, "node0.gpu1"}, {2, 1, "node1, gpu0"}};
  for (int r = 0; r < 3; ++r) {
    for (int it = 0; it < 2; ++it) {
      const double base = 0.123456789 * it + 1e-7 * r;
      TraceEvent iteration =
          testing::make_event(t, r, Lane::phase, "iteration", "iteration", base, base + 0.1);
      iteration.iteration = it;
      t.add(iteration);
      TraceEvent forward = testing::make_event(t, r, Lane::phase, "forward", "forward", base, base + 0.03);
      forward.iteration = it;
      forward.attributes.set(Attribute::micro_batch, it).set(Attribute::stage, r);
      t.add(forward);
      TraceEvent kernel = testing::make_event(t, r, Lane::compute, "block 3 \"qkv\" gemm\\x", "forward",
                                              base + 1e-9, base + 0.01);
      kernel.flops = 1.2345678901234e12;
      kernel.bytes = 123456789;
      kernel.iteration = it;
      kernel.attributes.set(Attribute::micro_batch, it)
          .set(Attribute::stage, r)
          .set(Attribute::epoch, 12345678);
      t.add(kernel);
      TraceEvent coll = testing::make_event(t, r, Lane::collective, "all-reduce ring 25 MiB", "all-reduce",
                                            base + 0.04, base + 0.09);
      coll.bytes = 26214400;
      coll.group_size = 3;
      coll.iteration = it;
      t.add(coll);
      TraceEvent send = testing::make_event(t, r, Lane::send, "send", "message", base + 0.041, base + 0.042);
      send.peer = (r + 1) % 3;
      send.bytes = 8738134;
      send.tag = 7;
      send.seq = static_cast<std::uint32_t>(it);
      send.iteration = it;
      send.comm = t.intern("dp \"2\"");
      t.add(send);
      TraceEvent recv = testing::make_event(t, r, Lane::recv, "recv", "message", base + 0.041, base + 0.0425);
      recv.peer = (r + 2) % 3;
      recv.bytes = 8738134;
      recv.tag = 7;
      recv.seq = static_cast<std::uint32_t>(it);
      recv.iteration = it;
      recv.comm = t.intern("dp \"2\"");
      t.add(recv);
      // A counter sample keeps rank, name, time and value in trace.json (a Chrome counter's args
      // are its plotted series); a mark keeps every field, as a complete event does.
      TraceEvent memory =
          testing::make_event(t, r, Lane::counter, "memory in use", "", base + 0.02, base + 0.02);
      memory.value = 1.5e9 + 0.25 * r;
      t.add(memory);
      TraceEvent mark =
          testing::make_event(t, r, Lane::mark, "checkpoint", "iteration", base + 0.1, base + 0.1);
      mark.iteration = it;
      mark.attributes.set(Attribute::round, 2);
      t.add(mark);
    }
  }
  t.sort();
  return t;
}

void expect_same_events(const Trace& a, const Trace& b) {
  ASSERT_EQ(a.events().size(), b.events().size());
  for (std::size_t i = 0; i < a.events().size(); ++i) {
    const TraceEvent& x = a.events()[i];
    const TraceEvent& y = b.events()[i];
    SCOPED_TRACE(::testing::Message() << "event " << i << " " << a.text(x.name));
    EXPECT_EQ(x.rank, y.rank);
    EXPECT_EQ(x.lane, y.lane);
    EXPECT_EQ(a.text(x.name), b.text(y.name));
    EXPECT_EQ(a.text(x.category), b.text(y.category));
    EXPECT_NEAR(x.start, y.start, kTimeTolerance);
    EXPECT_NEAR(x.end, y.end, kTimeTolerance);
    EXPECT_NEAR(x.duration(), y.duration(), kTimeTolerance);
    EXPECT_EQ(x.bytes, y.bytes);
    EXPECT_EQ(x.flops, y.flops);  // nlohmann writes doubles with round-trip precision
    EXPECT_EQ(x.peer, y.peer);
    EXPECT_EQ(x.iteration, y.iteration);
    EXPECT_EQ(x.tag, y.tag);
    EXPECT_EQ(x.seq, y.seq);
    EXPECT_EQ(x.group_size, y.group_size);
    EXPECT_EQ(a.text(x.comm), b.text(y.comm));
    EXPECT_TRUE(x.attributes == y.attributes);
    // And every field of the table, so a field added there without a way back fails here.
    for (const TraceField& f : kTraceFields) {
      const FieldValue u = f.get(x), v = f.get(y);
      if (f.unit == FieldUnit::text) {
        EXPECT_EQ(a.text(static_cast<std::uint32_t>(u.integer)),
                  b.text(static_cast<std::uint32_t>(v.integer)))
            << f.column;
      } else if (f.unit == FieldUnit::seconds) {
        EXPECT_NEAR(u.real, v.real, kTimeTolerance) << f.column;
      } else {
        EXPECT_EQ(u, v) << f.column;
      }
    }
  }
}

std::string write_csv(const Trace& trace) {
  std::ostringstream out;
  write_csv_trace(trace, out);
  return out.str();
}

TEST(TraceReader, RoundTripGivesIdenticalEvents) {
  const Trace original = sample_trace();
  const Trace back = parse_chrome_trace(write(original), "sample.json");
  expect_same_events(original, back);
  EXPECT_EQ(back.label, original.label);
  ASSERT_EQ(back.ranks.size(), original.ranks.size());
  for (std::size_t r = 0; r < back.ranks.size(); ++r) {
    EXPECT_EQ(back.ranks[r].node, original.ranks[r].node) << r;
    EXPECT_EQ(back.ranks[r].host_name, original.ranks[r].host_name) << r;
    EXPECT_EQ(back.ranks[r].host, -1) << "the host index is not in the file";
  }
}

// Attributes go to trace.json as args where set, and to trace.csv as one column each after the
// fixed ones (-1 where unset), in trace_attributes.hpp's order.
TEST(TraceWriter, AttributesAreArgsInJsonAndColumnsInCsv) {
  const Trace t = sample_trace();
  const nlohmann::json doc = nlohmann::json::parse(write(t));
  int kernels = 0;
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const auto& args = e["args"];
    if (args["lane"] == "compute") {
      ++kernels;
      EXPECT_EQ(args["stage"], args["rank"]);
      EXPECT_EQ(args["epoch"], 12345678);
      EXPECT_TRUE(args.contains("micro_batch"));
    } else {
      EXPECT_FALSE(args.contains("epoch")) << e.dump();
    }
    if (args["lane"] == "send") {
      EXPECT_EQ(args["comm"], "dp \"2\"");
    }
    EXPECT_FALSE(args.contains("chunk")) << "never set";
  }
  EXPECT_EQ(kernels, 6);
  std::ostringstream csv;
  write_csv_trace(t, csv);
  std::istringstream lines(csv.str());
  std::string header, row;
  std::getline(lines, header);
  EXPECT_EQ(
      header,
      "rank,lane,name,category,start_s,end_s,duration_s,bytes,flops,peer,iteration,group_size,tag,seq,comm,"
      "value,micro_batch,stage,chunk,job,round,client,epoch,staleness,part");
  int with_epoch = 0;
  while (std::getline(lines, row)) with_epoch += row.ends_with(",12345678,-1,-1");
  EXPECT_EQ(with_epoch, 6);
}

TEST(TraceReader, AnAttributeOutOfRangeNamesIt) {
  const std::string doc =
      R"({"traceEvents":[{"ph":"X","name":"k","pid":0,"ts":0,"dur":1,"args":{"rank":0,"lane":"compute",)"
      R"("category":"forward","stage":-2}}]})";
  try {
    parse_chrome_trace(doc, "bad.json");
    FAIL() << "expected an error";
  } catch (const TraceReadError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'args.stage' out of range: -2"), std::string::npos)
        << e.what();
  }
}

TEST(TraceReader, RoundTripOfManyRandomEvents) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> time(0, 100), length(0, 1e-3);
  std::uniform_int_distribution<int> rank(0, 31), lane(0, 4);
  Trace t;
  for (int r = 0; r < 32; ++r) t.ranks.push_back({r, r / 8, "h" + std::to_string(r)});
  for (int i = 0; i < 20000; ++i) {
    const double start = time(rng);
    TraceEvent e = testing::make_event(t, rank(rng), static_cast<Lane>(lane(rng)),
                                       "k" + std::to_string(i % 97), "forward", start, start + length(rng));
    e.bytes = rng() >> 1;
    e.flops = time(rng) * 1e12;
    e.iteration = i % 5;
    if (e.lane == Lane::send || e.lane == Lane::recv) {
      e.peer = rank(rng);
      e.tag = i % 11;
      e.seq = static_cast<std::uint32_t>(rng());
    }
    t.add(e);
  }
  t.sort();
  const Trace back = parse_chrome_trace(write(t), "random.json");
  expect_same_events(t, back);
}

TEST(TraceReader, ReadsAnyKeyOrderAndSkipsUnknownFields) {
  const std::string text = R"json({
  "displayTimeUnit": "ns", "extra": [1, {"a": [true, false, null]}, -2.5e-3],
  "traceEvents": [
    {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "rank 1 (node 4, h\u00e9)"}},
    {"args": {"flops": 5, "lane": "compute", "rank": 1, "category": "backward", "unknown": {"x": [1]}},
     "dur": 2, "ts": 1.5, "name": "k\n1", "ph": "X", "pid": 1, "tid": 1, "cat": "compute"},
    {"ph": "s", "id": 1, "pid": 0, "tid": 1000, "ts": 3, "name": "message"}
  ],
  "otherData": {"label": "hand \"made\"", "other": {}}
})json";
  const Trace t = parse_chrome_trace(text, "hand.json");
  ASSERT_EQ(t.events().size(), 1u);
  const TraceEvent& e = t.events()[0];
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.lane, Lane::compute);
  EXPECT_EQ(t.text(e.name), "k\n1");
  EXPECT_EQ(t.text(e.category), "backward");
  EXPECT_DOUBLE_EQ(e.start, 1.5e-6);
  EXPECT_DOUBLE_EQ(e.end, 3.5e-6);
  EXPECT_EQ(e.flops, 5);
  EXPECT_EQ(e.peer, -1);
  EXPECT_EQ(e.iteration, -1);
  EXPECT_EQ(t.label, "hand \"made\"");
  ASSERT_EQ(t.ranks.size(), 2u);
  EXPECT_EQ(t.ranks[1].node, 4);
  EXPECT_EQ(t.ranks[1].host_name, "h\xc3\xa9");
  EXPECT_EQ(t.ranks[0].host_name, "") << "rank 0 has no metadata";
}

struct BadInput {
  const char* what;
  std::string text;
  std::vector<std::string> message_has;
};

void PrintTo(const BadInput& bad, std::ostream* out) {
  *out << bad.what;
}

std::string valid_event(const std::string& replace_from = "", const std::string& replace_to = "") {
  std::string e =
      R"({"ph":"X","name":"k","ts":1,"dur":2,"pid":0,"tid":1,"args":{"rank":0,"lane":"compute","category":"forward"}})";
  if (!replace_from.empty()) e.replace(e.find(replace_from), replace_from.size(), replace_to);
  return e;
}

std::string trace_of(const std::string& events) {
  return "{\"traceEvents\":[\n" + events + "\n]}\n";
}

class TraceReaderErrors : public ::testing::TestWithParam<BadInput> {};

TEST_P(TraceReaderErrors, NameTheFileAndTheProblem) {
  const BadInput& bad = GetParam();
  try {
    parse_chrome_trace(bad.text, "runs/x/trace.json");
    FAIL() << bad.what << ": no error";
  } catch (const TraceReadError& e) {
    const std::string message = e.what();
    EXPECT_TRUE(message.starts_with("runs/x/trace.json")) << message;
    for (const std::string& part : bad.message_has) {
      EXPECT_NE(message.find(part), std::string::npos)
          << bad.what << ": '" << part << "' not in: " << message;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, TraceReaderErrors,
    ::testing::Values(
        BadInput{"empty", "  \n", {"empty file"}},
        BadInput{
            "truncated", trace_of(valid_event()).substr(0, 60), {"truncated", "before its JSON is complete"}},
        BadInput{"truncated literal", "{\"traceEvents\":[], \"x\": tr", {"truncated"}},
        BadInput{
            "trailing comma", "{\"traceEvents\":[\n" + valid_event() + ",\n]}", {":3:1:", "malformed JSON"}},
        BadInput{"bad literal", "{\"traceEvents\": [], \"x\": nul }", {":1:26:", "invalid literal"}},
        BadInput{"garbage after the end", trace_of("") + "x", {"malformed JSON", "after the end"}},
        BadInput{"bad escape", "{\"traceEvents\": [], \"x\": \"a\\q\"}", {"invalid escape"}},
        BadInput{"raw newline in a string", "{\"traceEvents\": [], \"x\": \"a\nb\"}", {"control character"}},
        BadInput{"array at the top", "[" + valid_event() + "]", {"not a Chrome trace", "JSON array"}},
        BadInput{"number at the top", "42", {"not a Chrome trace"}},
        BadInput{"no traceEvents", "{\"displayTimeUnit\":\"ns\"}", {"no \"traceEvents\" array"}},
        BadInput{"traceEvents not an array", "{\"traceEvents\":{}}", {"\"traceEvents\" must be an array"}},
        BadInput{"event not an object",
                 trace_of(valid_event() + ",\n3"),
                 {":3: traceEvents[1]", "must be an object"}},
        BadInput{"missing lane",
                 trace_of(valid_event(R"("lane":"compute",)", "")),
                 {":2: traceEvents[0]", "missing field 'args.lane'"}},
        BadInput{"missing args",
                 trace_of(valid_event(R"(,"args":{"rank":0,"lane":"compute","category":"forward"})", "")),
                 {"missing field 'args'"}},
        BadInput{"missing ph", trace_of(valid_event(R"("ph":"X",)", "")), {"missing field 'ph'"}},
        BadInput{"ts is a string",
                 trace_of(valid_event(R"("ts":1)", R"("ts":"1")")),
                 {"field 'ts' must be a number, found a string"}},
        BadInput{"rank is fractional",
                 trace_of(valid_event(R"("rank":0)", R"("rank":0.5)")),
                 {"field 'args.rank' must be an integer"}},
        BadInput{"rank is negative",
                 trace_of(valid_event(R"("rank":0)", R"("rank":-3)")),
                 {"field 'args.rank' out of range"}},
        BadInput{"args is an array",
                 trace_of(valid_event(R"({"rank":0,"lane":"compute","category":"forward"})", "[]")),
                 {"field 'args' must be an object, found an array"}},
        BadInput{"bytes negative",
                 trace_of(valid_event(R"("rank":0)", R"("rank":0,"bytes":-1)")),
                 {"field 'args.bytes' must not be negative"}},
        BadInput{"unknown lane",
                 trace_of(valid_event(R"("lane":"compute")", R"("lane":"gpu")")),
                 {"unknown lane 'gpu'"}},
        BadInput{
            "negative duration", trace_of(valid_event(R"("dur":2)", R"("dur":-2)")), {"negative duration"}}),
    // Named by what each input is: gtest's default name of a struct is its bytes, pointers included.
    [](const ::testing::TestParamInfo<BadInput>& param_info) {
      std::string name = param_info.param.what;
      for (char& c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
      }
      return name;
    });

TEST(TraceReader, EveryTruncationIsAnErrorNeverACrash) {
  const std::string text = write(sample_trace());
  // The writer ends with "]}\n": every shorter prefix but the one without the final newline is cut.
  for (std::size_t n = 0; n + 1 < text.size(); ++n) {
    EXPECT_THROW(parse_chrome_trace(std::string_view(text).substr(0, n), "cut.json"), TraceReadError) << n;
  }
  EXPECT_NO_THROW(parse_chrome_trace(std::string_view(text).substr(0, text.size() - 1), "cut.json"));
}

TEST(TraceReader, RejectsWhateverIsNotJsonAndNeverCrashes) {
  const std::string text = write(sample_trace());
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> at(0, text.size() - 1);
  const std::string bytes = "{}[],:\"\\0123456789.-eEtfnxu \n\x01\xff\xc3";
  std::uniform_int_distribution<std::size_t> pick(0, bytes.size() - 1);
  int accepted_invalid = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string broken = text;
    broken[at(rng)] = bytes[pick(rng)];
    const bool valid_json = nlohmann::json::accept(broken);
    try {
      parse_chrome_trace(broken, "broken.json");
    } catch (const TraceReadError&) {
      continue;  // fine, whatever the change broke
    }
    // Accepted: then it must at least be valid JSON (the reader is not laxer than the grammar).
    EXPECT_TRUE(valid_json) << "accepted invalid JSON at trial " << trial;
    accepted_invalid += valid_json ? 0 : 1;
  }
  EXPECT_EQ(accepted_invalid, 0);
}

// trace.csv reads back exactly: the writer prints each double in its shortest form that parses
// back to the same value, so even times are equal to the bit.
TEST(TraceCsvReader, RoundTripGivesIdenticalEvents) {
  const Trace original = sample_trace();
  const Trace back = parse_csv_trace(write_csv(original), "sample.csv");
  expect_same_events(original, back);
  for (std::size_t i = 0; i < back.events().size(); ++i) {
    EXPECT_EQ(back.events()[i].start, original.events()[i].start) << i;
    EXPECT_EQ(back.events()[i].end, original.events()[i].end) << i;
  }
  EXPECT_EQ(back.ranks.size(), 3u);
}

// Columns are found by name: an extra column is skipped, and a file written before an optional
// field or attribute existed reads with that field unset.
TEST(TraceCsvReader, FindsColumnsByName) {
  const std::string text =
      "extra,lane,rank,name,category,start_s,end_s,stage\n"
      "x,compute,2,\"k, \"\"q\"\"\nv\",forward,0.5,0.75,3\n"
      "\n";
  const Trace t = parse_csv_trace(text, "old.csv");
  ASSERT_EQ(t.events().size(), 1u);
  const TraceEvent& e = t.events()[0];
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.lane, Lane::compute);
  EXPECT_EQ(t.text(e.name), "k, \"q\"\nv");
  EXPECT_EQ(e.start, 0.5);
  EXPECT_EQ(e.end, 0.75);
  EXPECT_EQ(e.bytes, 0u);
  EXPECT_EQ(e.peer, -1);
  EXPECT_EQ(e.attributes.get(Attribute::stage), 3);
  EXPECT_EQ(e.attributes.get(Attribute::epoch), -1);
  EXPECT_EQ(t.ranks.size(), 3u);
}

TEST(TraceCsvReader, ErrorsNameTheFileTheLineAndTheColumn) {
  const std::string header = "rank,lane,name,category,start_s,end_s,peer\n";
  const std::pair<std::string, std::string> cases[] = {
      {"", "bad.csv: empty file"},
      {"rank,lane,name,start_s,end_s\n", "bad.csv:1: no column 'category'"},
      {header + "0,compute,k,f,0,1,-1\n0,compute,k,f,0,1\n",
       "bad.csv:3: expected 7 columns as in the header, found 6"},
      {header + "0,gpu,k,f,0,1,-1\n", "bad.csv:2: column 'lane': unknown lane 'gpu'"},
      {header + "0,compute,k,f,0,1,-2\n", "bad.csv:2: column 'peer' out of range: -2"},
      {header + "0,compute,k,f,x,1,-1\n", "bad.csv:2: column 'start_s' must be a number, found 'x'"},
      {header + "1.5,compute,k,f,0,1,-1\n", "bad.csv:2: column 'rank' must be an integer, found '1.5'"},
      {header + "0,compute,\"k\n\n,f,0,1,-1\n", "bad.csv:2: a quoted cell is not closed"},
  };
  for (const auto& [text, message] : cases) {
    try {
      parse_csv_trace(text, "bad.csv");
      ADD_FAILURE() << "no error for: " << text;
    } catch (const TraceReadError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(read_csv_trace("/nonexistent/trace.csv"), TraceReadError);
}

// The table drives trace.json's args: every field in args that is set is written under its column
// name, the required ones always, the unset ones never.
TEST(TraceWriter, ArgsFollowTheFieldTable) {
  const Trace t = sample_trace();
  const nlohmann::json doc = nlohmann::json::parse(write(t));
  std::size_t i = 0;
  for (const auto& j : doc["traceEvents"]) {
    if (j["ph"] == "C") {
      EXPECT_EQ(t.events()[i].lane, Lane::counter);
      EXPECT_EQ(j["args"], nlohmann::json({{"value", t.events()[i++].value}}));
      continue;
    }
    if (j["ph"] != "X" && j["ph"] != "i") continue;
    const TraceEvent& e = t.events()[i++];
    EXPECT_EQ(j["ph"] == "i", e.lane == Lane::mark);
    for (const TraceField& f : kTraceFields) {
      const bool set = f.required || !(f.get(e) == unset_value(f));
      EXPECT_EQ(j["args"].contains(std::string(f.column)), f.chrome == InChrome::args && set)
          << f.column << " in " << j.dump();
    }
  }
  EXPECT_EQ(i, t.events().size());
}

TEST(TraceReader, FileErrorsNameTheFile) {
  const auto dir = std::filesystem::path(DMLSIM_BINARY_DIR) / "test-scratch" / "trace-reader";
  std::filesystem::create_directories(dir);
  const auto missing = dir / "missing.json";
  std::filesystem::remove(missing);
  try {
    read_chrome_trace(missing);
    FAIL() << "no error for a missing file";
  } catch (const TraceReadError& e) {
    EXPECT_NE(std::string(e.what()).find(missing.string() + ": cannot open"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_chrome_trace(dir), TraceReadError);

  const auto cut = dir / "cut.json";
  const std::string text = write(sample_trace());
  std::ofstream(cut, std::ios::binary) << text.substr(0, text.size() / 2);
  try {
    read_chrome_trace(cut);
    FAIL() << "no error for a truncated file";
  } catch (const TraceReadError& e) {
    EXPECT_NE(std::string(e.what()).find(cut.string() + ": truncated"), std::string::npos) << e.what();
  }
  std::ofstream(cut, std::ios::binary) << text;
  EXPECT_EQ(read_chrome_trace(cut).events().size(), sample_trace().events().size());
}

}  // namespace
}  // namespace dmlsim::core
