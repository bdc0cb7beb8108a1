#include "core/device.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <variant>

#include "core/embedded_devices.hpp"
#include "core/errors.hpp"

namespace dmlsim::core {

std::string shape_key(const Kernel& kernel) {
  if (const auto* g = std::get_if<Gemm>(&kernel.shape))
    return fmt::format("gemm {} {} {} x{}", g->m, g->n, g->k, g->batch);
  if (const auto* e = std::get_if<Elementwise>(&kernel.shape)) {
    return fmt::format("elementwise {} a={} f={}", e->elements, e->accesses_per_element,
                       e->flops_per_element);
  }
  const auto& o = std::get<OptimizerStep>(kernel.shape);
  return fmt::format("optimizer {} {}", o.kind == OptimizerStep::Kind::adam ? "adam" : "sgd", o.parameters);
}

double DeviceProfile::gemm_compute_seconds(const Gemm& g, DType dtype, double rate) const {
  const auto ceil_div = [](std::int64_t a, std::int64_t b) { return (a + b - 1) / b; };
  const std::int64_t tiles = ceil_div(g.m, gemm->tile_m) * ceil_div(g.n, gemm->tile_n) * g.batch;
  const double in_wave_rate = rate * compute_efficiency;
  // A GEMM of fewer tiles than SMs runs in smaller tiles or split along K (cuBLAS's heuristics
  // fill the GPU): its flops at the in-wave rate. One of more runs in waves of whole tiles.
  double work = tiles < gemm->sms ? 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) *
                                        static_cast<double>(g.k) * static_cast<double>(g.batch) / in_wave_rate
                                  : static_cast<double>(ceil_div(tiles, gemm->sms)) * 2.0 * gemm->tile_m *
                                        gemm->tile_n * static_cast<double>(g.k) / (in_wave_rate / gemm->sms);
  // Tensor cores read 16-byte aligned rows: a dimension off that costs the aligned path.
  const bool tensor_cores = dtype != DType::fp32 && dtype != DType::fp64;
  const auto alignment = static_cast<std::int64_t>(16 / dtype_bytes(dtype));
  if (tensor_cores && (g.m % alignment != 0 || g.n % alignment != 0 || g.k % alignment != 0))
    work /= gemm->unaligned;
  return gemm->fixed + work;
}

double DeviceProfile::kernel_seconds(const Kernel& kernel) const {
  if (!measured.empty()) {
    const std::string key = shape_key(kernel);
    for (const MeasuredKernel& m : measured) {
      if (m.shape == key) return m.seconds;
    }
  }
  const bool on_tensor_units = std::holds_alternative<Gemm>(kernel.shape);
  const DType rate_dtype = on_tensor_units ? kernel.dtype : DType::fp32;
  const std::optional<double> rate = peak(rate_dtype);
  if (!rate) {
    throw ValueError(fmt::format("device '{}' has no peak rate for {} (needed by kernel '{}')", name,
                                 to_string(rate_dtype), kernel.name));
  }
  double compute_s = kernel.flops() / (*rate * compute_efficiency);
  if (const auto* g = std::get_if<Gemm>(&kernel.shape); g && gemm)
    compute_s = gemm_compute_seconds(*g, kernel.dtype, *rate);
  const double memory_s = kernel.memory_bytes() / (memory_bandwidth * memory_efficiency);
  return launch_overhead + std::max(compute_s, memory_s);
}

DeviceProfile parse_device(const ConfigNode& node) {
  node.expect_only({"name", "peak", "memory_bandwidth", "memory", "efficiency", "launch_overhead", "gemm",
                    "measured", "sources"});
  DeviceProfile d;
  d.name = node.string("name");
  const ConfigNode peak = node.at("peak");
  for (const std::string& key : peak.keys()) {
    DType dtype{};
    try {
      dtype = parse_dtype(key);
    } catch (const ValueError& e) {
      peak.at(key).fail(e.what());
    }
    d.peak_flops[static_cast<std::size_t>(dtype)] = peak.at(key).as_flop_rate();
  }
  if (!d.peak(DType::fp32)) peak.fail("needs at least an fp32 rate (elementwise kernels run at it)");
  d.memory_bandwidth = node.bandwidth("memory_bandwidth");
  d.memory_bytes = node.bytes("memory");
  if (const auto eff = node.find("efficiency")) {
    eff->expect_only({"compute", "memory"});
    d.compute_efficiency = eff->number_or("compute", 1.0);
    d.memory_efficiency = eff->number_or("memory", 1.0);
    for (const char* key : {"compute", "memory"}) {
      if (const auto e = eff->find(key); e && !(e->as_double() > 0 && e->as_double() <= 1)) {
        e->fail("must be in (0, 1]");
      }
    }
  }
  d.launch_overhead = node.duration_or("launch_overhead", 0.0);
  if (const auto gemm = node.find("gemm")) {
    gemm->expect_only({"sms", "tile", "fixed", "unaligned"});
    GemmModel g;
    g.sms = static_cast<int>(gemm->integer_in("sms", 1, 1 << 16));
    if (const auto tile = gemm->find("tile")) {
      const std::vector<ConfigNode> sides = tile->items();
      if (sides.size() != 2) tile->fail("expected [tile_m, tile_n], e.g. [128, 256]");
      for (const ConfigNode& side : sides) {
        if (side.as_int() < 1 || side.as_int() > (1 << 14)) side.fail("must be an integer in [1, 16384]");
      }
      g.tile_m = static_cast<int>(sides[0].as_int());
      g.tile_n = static_cast<int>(sides[1].as_int());
    }
    g.fixed = gemm->duration_or("fixed", 0.0);
    if (const auto u = gemm->find("unaligned")) {
      g.unaligned = u->as_double();
      if (!(g.unaligned > 0 && g.unaligned <= 1))
        u->fail("must be in (0, 1]: the fraction of the aligned rate");
    }
    d.gemm = g;
  }
  d.sources = parse_sources(node);
  if (const auto measured = node.find("measured")) {
    for (const ConfigNode& m : measured->items()) {
      m.expect_only({"shape", "seconds"});
      d.measured.push_back({m.string("shape"), m.duration("seconds")});
    }
  }
  return d;
}

std::optional<DeviceProfile> builtin_device(std::string_view name) {
  for (const auto& [stem, text] : embedded::kDeviceProfiles) {
    if (stem == name) {
      const ConfigNode root = ConfigNode::load_string(text, fmt::format("platforms/devices/{}.yaml", stem));
      return parse_device(root.at("device"));
    }
  }
  return std::nullopt;
}

DeviceProfile load_device(const ConfigNode& node) {
  if (node.is_map()) return parse_device(node);
  const std::string name = node.as_string();
  if (auto builtin = builtin_device(name)) return *builtin;
  const std::filesystem::path path = node.resolve_path(name);
  std::error_code ec;
  if (name.find('/') == std::string::npos && name.find(".yaml") == std::string::npos) {
    std::string known;
    for (const auto& [stem, text] : embedded::kDeviceProfiles)
      known += fmt::format("{}{}", known.empty() ? "" : ", ", stem);
    node.fail(fmt::format("unknown device '{}' (shipped profiles: {}; or give a path to a YAML file)", name,
                          known));
  }
  if (!std::filesystem::exists(path, ec))
    node.fail(fmt::format("device file '{}' does not exist", path.string()));
  const ConfigNode root = ConfigNode::load_file(path);
  return parse_device(root.at("device"));
}

}  // namespace dmlsim::core
