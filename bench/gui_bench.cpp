// dmlsim-gui-bench: how fast the timeline loads and draws a million events.
//
//   dmlsim-gui-bench [--trace TRACE_OR_RUN_DIR] [--events N] [--ranks R] [--size WxH]
//
// Without --trace it writes a synthetic trace with the core trace writer (R ranks on nodes of 8,
// two iterations of phases, kernels, collectives and ring messages; N events in all) and reads it
// back. It times the load (core's reader + the GUI's run model), the first paint of the whole
// window-sized canvas (zoomed to fit) into a QImage, and the frame time while zooming in and out
// around the middle and while panning. Targets (issue 6): load < 2 s, repaint < 50 ms.
#include <fmt/format.h>

#include <QApplication>
#include <QImage>
#include <QPainter>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/trace_reader.hpp"
#include "core/trace_writer.hpp"
#include "gui/timeline.hpp"
#include "gui/timeline_painter.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kLoadTargetSeconds = 2.0;
constexpr double kFrameTargetSeconds = 0.050;
constexpr int kZoomFrames = 40;
constexpr int kRanksPerNode = 8;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

dmlsim::core::TraceEvent make_event(int rank, dmlsim::core::Lane lane, std::uint32_t name,
                                    std::uint32_t category, double start, double end, int iteration) {
  dmlsim::core::TraceEvent e;
  e.rank = rank;
  e.lane = lane;
  e.name = name;
  e.category = category;
  e.start = start;
  e.end = end;
  e.iteration = iteration;
  return e;
}

// Per rank and iteration: 5 phases, `kernels` kernels, 16 all-reduce buckets, 16 sends and 16
// receives to the ring neighbours.
void synthesize(const std::filesystem::path& file, std::size_t events, int ranks) {
  using dmlsim::core::Lane;
  constexpr int kIterations = 2, kBuckets = 16, kPhases = 5;
  const int per_iteration = static_cast<int>(events / static_cast<std::size_t>(ranks * kIterations));
  const int kernels = std::max(2, per_iteration - kPhases - 3 * kBuckets);
  dmlsim::core::Trace t;
  t.label = fmt::format("synthetic {} ranks", ranks);
  for (int r = 0; r < ranks; ++r)
    t.ranks.push_back(
        {r, r / kRanksPerNode, fmt::format("node{}.gpu{}", r / kRanksPerNode, r % kRanksPerNode)});
  const std::uint32_t iteration = t.intern("iteration"), forward = t.intern("forward"),
                      backward = t.intern("backward"), sync = t.intern("gradient-sync"),
                      optimizer = t.intern("optimizer"), all_reduce = t.intern("all-reduce"),
                      bucket = t.intern("all-reduce ring 25 MiB"), message = t.intern("message"),
                      send = t.intern("send"), recv = t.intern("recv");
  std::vector<std::uint32_t> kernel_names;
  for (int k = 0; k < 64; ++k) kernel_names.push_back(t.intern(fmt::format("block {} gemm", k)));
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  constexpr double kKernel = 50e-6, kBucket = 1.5e-3;
  const int forward_kernels = kernels / 3;
  double base = 0;
  for (int it = 0; it < kIterations; ++it) {
    double iteration_end = base;
    for (int r = 0; r < ranks; ++r) {
      double now = base;
      const double fwd_start = now;
      double bwd_start = now;
      for (int k = 0; k < kernels; ++k) {
        const bool is_forward = k < forward_kernels;
        const double d = kKernel * (is_forward ? 1 : 2) * jitter(rng);
        auto e = make_event(r, Lane::compute, kernel_names[static_cast<std::size_t>(k) % kernel_names.size()],
                            is_forward ? forward : backward, now, now + d, it);
        e.flops = 1e12 * d;
        t.add(e);
        now += d;
        if (k + 1 == forward_kernels) {
          t.add(make_event(r, Lane::phase, forward, forward, fwd_start, now, it));
          bwd_start = now;
        }
      }
      t.add(make_event(r, Lane::phase, backward, backward, bwd_start, now, it));
      // Buckets overlap backward, then the tail of the sync.
      double comm = bwd_start + 0.2 * (now - bwd_start);
      for (int b = 0; b < kBuckets; ++b) {
        const double d = kBucket * jitter(rng);
        auto c = make_event(r, Lane::collective, bucket, all_reduce, comm, comm + d, it);
        c.bytes = 25u << 20;
        c.group_size = ranks;
        t.add(c);
        auto s = make_event(r, Lane::send, send, message, comm, comm + d / 2, it);
        s.peer = (r + 1) % ranks;
        s.bytes = c.bytes / static_cast<std::uint64_t>(ranks);
        s.tag = 1;
        s.seq = static_cast<std::uint32_t>(it * kBuckets + b);
        t.add(s);
        auto v = make_event(r, Lane::recv, recv, message, comm, comm + d / 2 + 1e-6, it);
        v.peer = (r + ranks - 1) % ranks;
        v.bytes = s.bytes;
        v.tag = 1;
        v.seq = s.seq;
        t.add(v);
        comm += d;
      }
      t.add(make_event(r, Lane::phase, sync, sync, now, std::max(now, comm), it));
      now = std::max(now, comm);
      const double opt = 2e-3 * jitter(rng);
      t.add(make_event(r, Lane::phase, optimizer, optimizer, now, now + opt, it));
      t.add(make_event(r, Lane::phase, iteration, iteration, base, now + opt, it));
      iteration_end = std::max(iteration_end, now + opt);
    }
    base = iteration_end;
  }
  t.sort();
  std::ofstream out(file, std::ios::binary);
  dmlsim::core::write_chrome_trace(t, out);
}

struct FrameStats {
  std::vector<double> seconds;
  double mean() const {
    double s = 0;
    for (double x : seconds) s += x;
    return seconds.empty() ? 0 : s / static_cast<double>(seconds.size());
  }
  double max() const { return seconds.empty() ? 0 : *std::max_element(seconds.begin(), seconds.end()); }
  double percentile(double p) const {
    if (seconds.empty()) return 0;
    std::vector<double> v = seconds;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  }
};

double paint(const dmlsim::gui::Timeline& timeline, QImage& image) {
  const auto t0 = Clock::now();
  QPainter p(&image);
  dmlsim::gui::paint_timeline(p, timeline, image.size());
  p.end();
  return since(t0);
}

std::string ms(double seconds) {
  return fmt::format("{:.1f} ms", seconds * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  if (!std::getenv("QT_QPA_PLATFORM") && !std::getenv("DISPLAY")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QApplication app(argc, argv);
  std::string trace_arg;
  std::size_t events = 1000000;
  int ranks = 1024, width = 1600, height = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) {
        fmt::print(stderr, "dmlsim-gui-bench: {} needs a value\n", a);
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (a == "--trace") {
      trace_arg = value();
    } else if (a == "--events") {
      events = std::stoull(value());
    } else if (a == "--ranks") {
      ranks = std::stoi(value());
    } else if (a == "--size") {
      const std::string s = value();
      width = std::stoi(s.substr(0, s.find('x')));
      height = std::stoi(s.substr(s.find('x') + 1));
    } else {
      fmt::print(
          stderr,
          "usage: dmlsim-gui-bench [--trace TRACE_OR_RUN_DIR] [--events N] [--ranks R] [--size WxH]\n");
      return 2;
    }
  }

  std::filesystem::path file = trace_arg;
  if (file.empty()) {
    file = std::filesystem::temp_directory_path() / fmt::format("dmlsim-gui-bench-{}-{}.json", events, ranks);
    const auto t0 = Clock::now();
    synthesize(file, events, ranks);
    fmt::print("synthesized {} ({:.0f} MB) in {:.1f} s\n", file.string(),
               static_cast<double>(std::filesystem::file_size(file)) / 1e6, since(t0));
  } else if (std::filesystem::is_directory(file)) {
    file /= "trace.json";
  }

  // Load: the same two steps as File ▸ Open (RunModel::load).
  auto t0 = Clock::now();
  dmlsim::core::Trace trace = dmlsim::core::read_chrome_trace(file);
  const double read_seconds = since(t0);
  auto t1 = Clock::now();
  auto run = std::make_unique<dmlsim::gui::RunModel>(std::move(trace), file);
  const double model_seconds = since(t1);
  const double load_seconds = since(t0);
  fmt::print("trace: {} events, {} ranks, {} tracks, {} messages ({:.0f} MB)\n", run->event_count(),
             run->rank_count(), run->tracks().size(), run->messages().size(),
             static_cast<double>(std::filesystem::file_size(file)) / 1e6);

  dmlsim::gui::Timeline timeline;
  timeline.set_viewport(width - dmlsim::gui::kGutterWidth, height - dmlsim::gui::kRulerHeight);
  timeline.add_run(std::move(run));
  timeline.zoom_to_fit();
  QImage image(width, height, QImage::Format_ARGB32_Premultiplied);
  const double first_paint = paint(timeline, image);

  FrameStats zoom, pan, collapsed;
  const double middle = timeline.axis().width() / 2.0;
  for (int f = 0; f < kZoomFrames; ++f) {
    timeline.zoom(dmlsim::gui::Timeline::kZoomStep, middle);
    zoom.seconds.push_back(paint(timeline, image));
  }
  for (int f = 0; f < kZoomFrames; ++f) {
    timeline.zoom(1 / dmlsim::gui::Timeline::kZoomStep, middle);
    zoom.seconds.push_back(paint(timeline, image));
  }
  timeline.zoom(std::pow(dmlsim::gui::Timeline::kZoomStep, 8), middle);
  for (int f = 0; f < kZoomFrames; ++f) {
    timeline.pan_pixels(37);
    pan.seconds.push_back(paint(timeline, image));
  }
  timeline.zoom_to_fit();
  timeline.set_all_collapsed(true);  // every node one row: 128 activity bands
  for (int f = 0; f < 10; ++f) {
    timeline.zoom(f % 2 ? 1 / dmlsim::gui::Timeline::kZoomStep : dmlsim::gui::Timeline::kZoomStep, middle);
    collapsed.seconds.push_back(paint(timeline, image));
  }

  const double worst = std::max({first_paint, zoom.max(), pan.max()});
  fmt::print("load:        {:.2f} s (read {:.2f} s + model {:.2f} s)   target < {:.0f} s: {}\n", load_seconds,
             read_seconds, model_seconds, kLoadTargetSeconds,
             load_seconds < kLoadTargetSeconds ? "met" : "MISSED");
  fmt::print("first paint: {} ({}x{}, zoomed to fit)\n", ms(first_paint), width, height);
  fmt::print("zooming:     {} frames, mean {}, p90 {}, max {}\n", zoom.seconds.size(), ms(zoom.mean()),
             ms(zoom.percentile(0.9)), ms(zoom.max()));
  fmt::print("panning:     {} frames, mean {}, max {}\n", pan.seconds.size(), ms(pan.mean()), ms(pan.max()));
  fmt::print("all nodes collapsed: {} frames, mean {}, max {}\n", collapsed.seconds.size(),
             ms(collapsed.mean()), ms(collapsed.max()));
  fmt::print("repaint target < {:.0f} ms (first paint, zoom, pan): {} (worst {})\n",
             kFrameTargetSeconds * 1e3, worst < kFrameTargetSeconds ? "met" : "MISSED", ms(worst));
  return 0;
}
