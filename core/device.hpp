#pragma once
// What one accelerator (or CPU) can do, and the roofline model that turns a Kernel into time:
//   t = launch_overhead + max(flops / (peak[dtype] · compute_efficiency),
//                             bytes / (memory_bandwidth · memory_efficiency))
// (the compute term of a GEMM by tiles and waves where the profile gives a GemmModel)
// GEMMs run at the peak of their dtype (tensor cores); elementwise and optimizer kernels run on the
// vector units, at the fp32 peak.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config_node.hpp"
#include "core/dtype.hpp"
#include "core/kernel.hpp"
#include "core/sources.hpp"

namespace dmlsim::core {

// A kernel shape timed by `dmlsim calibrate` on the real device: it replaces the roofline for
// kernels of exactly that shape (dtype aside: the CPU backend computes in fp32).
struct MeasuredKernel {
  std::string shape;  // shape_key() of the kernel
  double seconds = 0;
};
// "gemm M N K xB", "elementwise N a=A f=F", "optimizer adam N".
std::string shape_key(const Kernel& kernel);

// How a GPU runs a GEMM (NVIDIA, "Matrix Multiplication Background User's Guide", sections on
// tile and wave quantization): the output is cut into tiles of tile_m × tile_n, each SM computes
// one tile at a time, so the tiles run in waves of `sms`; each wave costs the K-loop of one tile
// at the SM's share of the peak times compute_efficiency, and the kernel a fixed cost besides
// (prologue, epilogue, the first wave's ramp):
//   compute = fixed + ⌈tiles / sms⌉ · 2·tile_m·tile_n·K / (peak / sms · compute_efficiency)
// A GEMM of fewer tiles than SMs is taken to fill the GPU with smaller tiles or a split K (as
// cuBLAS's heuristics do): fixed + its flops / (peak · compute_efficiency). A tensor-core GEMM
// (any dtype but fp32 and fp64) with a dimension that is not a multiple of 16 bytes cannot use the
// aligned path and does its work at `unaligned` of the rate (GPT-2's vocabulary of 50 257: ~15 %).
struct GemmModel {
  int sms = 0;
  int tile_m = 128;
  int tile_n = 256;
  double fixed = 0;      // seconds per GEMM
  double unaligned = 1;  // fraction of the aligned rate
};

struct DeviceProfile {
  std::string name;
  std::array<std::optional<double>, std::size(kAllDTypes)> peak_flops{};  // flop/s per DType
  double memory_bandwidth = 0;                                            // bytes/s
  std::uint64_t memory_bytes = 0;
  double compute_efficiency = 1;
  double memory_efficiency = 1;
  double launch_overhead = 0;            // seconds per kernel
  std::vector<MeasuredKernel> measured;  // from calibration; looked up before the roofline
  std::vector<FigureSource> sources;     // where its figures come from (sources.hpp)
  std::optional<GemmModel> gemm;         // GEMMs by tiles and waves; else at peak × compute_efficiency

  std::optional<double> peak(DType dtype) const { return peak_flops[static_cast<std::size_t>(dtype)]; }
  // The measured time of `kernel`'s shape if calibration timed it, else its roofline time.
  // Throws ValueError if the dtype has no peak.
  double kernel_seconds(const Kernel& kernel) const;
  // A GEMM's compute term under `gemm` (which must be set), at `rate` flop/s for its dtype.
  double gemm_compute_seconds(const Gemm& g, DType dtype, double rate) const;
};

// Reads a `device:` mapping (see platforms/devices/*.yaml).
DeviceProfile parse_device(const ConfigNode& node);
// A device given either by the name of a shipped profile ("h100", "a100", "cpu") or by a path to a
// YAML file (relative to the file that names it), or inline as a mapping.
DeviceProfile load_device(const ConfigNode& node);
// The shipped profile of that name, or nullopt.
std::optional<DeviceProfile> builtin_device(std::string_view name);

}  // namespace dmlsim::core
