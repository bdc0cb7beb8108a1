// dmlsim-gpu-check: a one-GPU self-test of the CUDA/NCCL backend and a GEMM calibration, for
// machines that have a GPU (scripts/gpu-check builds and runs it). It checks that cuBLAS GEMMs
// and the device reduction compute the right numbers and that NCCL works (a one-rank all-reduce
// and a send/receive to itself: a single GPU cannot host two NCCL ranks), then times every kernel
// shape of a model on the GPU, compares each with the datasheet roofline of the device profile,
// and writes a calibrated device profile.
//   dmlsim-gpu-check --model models/gpt-1.3b.yaml --device platforms/devices/h100.yaml --out DIR
#include <cuda_runtime.h>
#include <fmt/format.h>
#include <nccl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/errors.hpp"
#include "core/model.hpp"
#include "realrun/cuda/cuda_check.hpp"
#include "realrun/cuda/cuda_kernels.hpp"

namespace {

using namespace dmlsim;
namespace fs = std::filesystem;

struct Check {
  std::string name;
  bool ok = false;
  std::string detail;
};

// C = A·B for small matrices on the GPU (fp32 and bf16) against a CPU reference.
Check check_gemm(core::DType dtype, double tolerance) {
  const int m = 96, n = 80, k = 64;
  std::vector<float> a(m * k), b(k * n), c(m * n, 0), reference(m * n, 0);
  for (int i = 0; i < m * k; ++i) a[i] = static_cast<float>((i * 7) % 13 - 6) / 8;
  for (int i = 0; i < k * n; ++i) b[i] = static_cast<float>((i * 5) % 11 - 5) / 8;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      for (int l = 0; l < k; ++l) reference[i * n + j] += a[i * k + l] * b[l * n + j];
    }
  }
  // cuBLAS directly (the kernel runner keeps its buffers private): row-major via swapped operands.
  cublasHandle_t blas;
  DMLSIM_CHECK_CUBLAS(cublasCreate(&blas));
  const bool bf16 = dtype == core::DType::bf16;
  const std::size_t e = bf16 ? 2 : 4;
  void *da, *db, *dc;
  DMLSIM_CHECK_CUDA(cudaMalloc(&da, a.size() * e));
  DMLSIM_CHECK_CUDA(cudaMalloc(&db, b.size() * e));
  DMLSIM_CHECK_CUDA(cudaMalloc(&dc, c.size() * 4));
  auto upload = [&](void* dst, const std::vector<float>& src) {
    if (!bf16) {
      DMLSIM_CHECK_CUDA(cudaMemcpy(dst, src.data(), src.size() * 4, cudaMemcpyHostToDevice));
      return;
    }
    // bf16 is the upper half of an fp32: these values (multiples of 1/8 below 1) are exact in it.
    std::vector<std::uint16_t> half(src.size());
    for (std::size_t i = 0; i < src.size(); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, &src[i], 4);
      half[i] = static_cast<std::uint16_t>(bits >> 16);
    }
    DMLSIM_CHECK_CUDA(cudaMemcpy(dst, half.data(), half.size() * 2, cudaMemcpyHostToDevice));
  };
  upload(da, a);
  upload(db, b);
  const float alpha = 1, beta = 0;
  const cudaDataType_t t = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  DMLSIM_CHECK_CUBLAS(cublasGemmEx(blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, db, t, n, da, t, k, &beta,
                                   dc, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  DMLSIM_CHECK_CUDA(cudaMemcpy(c.data(), dc, c.size() * 4, cudaMemcpyDeviceToHost));
  double worst = 0;
  for (std::size_t i = 0; i < c.size(); ++i) worst = std::max(worst, std::abs(double(c[i]) - reference[i]));
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
  cublasDestroy(blas);
  return {fmt::format("cuBLAS {} GEMM {}x{}x{} matches the CPU", core::to_string(dtype), m, n, k),
          worst <= tolerance, fmt::format("max |error| {:.3g} (tolerance {:.3g})", worst, tolerance)};
}

Check check_device_add() {
  const std::uint64_t n = (1 << 20) + 3;
  std::vector<float> x(n), y(n);
  for (std::uint64_t i = 0; i < n; ++i) x[i] = float(i % 1000), y[i] = float(i % 7);
  float *dx, *dy;
  DMLSIM_CHECK_CUDA(cudaMalloc(&dx, n * 4));
  DMLSIM_CHECK_CUDA(cudaMalloc(&dy, n * 4));
  DMLSIM_CHECK_CUDA(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice));
  DMLSIM_CHECK_CUDA(cudaMemcpy(dy, y.data(), n * 4, cudaMemcpyHostToDevice));
  real::device_add(dx, dy, n, nullptr);
  DMLSIM_CHECK_CUDA(cudaMemcpy(x.data(), dx, n * 4, cudaMemcpyDeviceToHost));
  std::uint64_t wrong = 0;
  for (std::uint64_t i = 0; i < n; ++i) wrong += x[i] != float(i % 1000 + i % 7);
  cudaFree(dx);
  cudaFree(dy);
  return {"device reduction (recv-reduce step) sums exactly", wrong == 0,
          fmt::format("{} wrong of {}", wrong, n)};
}

// One NCCL rank: an all-reduce leaves the data as it is; a grouped send and receive to itself
// copies it (the point-to-point path the schedules use).
std::vector<Check> check_nccl(nlohmann::json& timings) {
  std::vector<Check> checks;
  ncclComm_t comm;
  int device = 0;
  DMLSIM_CHECK_NCCL(ncclCommInitAll(&comm, 1, &device));
  const std::uint64_t n = 64 << 20;  // 256 MiB of floats
  std::vector<float> host(n);
  for (std::uint64_t i = 0; i < n; ++i) host[i] = float(i % 4093);
  float *a, *b;
  DMLSIM_CHECK_CUDA(cudaMalloc(&a, n * 4));
  DMLSIM_CHECK_CUDA(cudaMalloc(&b, n * 4));
  DMLSIM_CHECK_CUDA(cudaMemcpy(a, host.data(), n * 4, cudaMemcpyHostToDevice));
  cudaStream_t stream;
  DMLSIM_CHECK_CUDA(cudaStreamCreate(&stream));
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  DMLSIM_CHECK_CUDA(cudaEventRecord(start, stream));
  DMLSIM_CHECK_NCCL(ncclAllReduce(a, a, n, ncclFloat, ncclSum, comm, stream));
  DMLSIM_CHECK_CUDA(cudaEventRecord(stop, stream));
  DMLSIM_CHECK_CUDA(cudaStreamSynchronize(stream));
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  timings["nccl_allreduce_1rank_256MiB_s"] = ms * 1e-3;
  std::vector<float> back(n);
  DMLSIM_CHECK_CUDA(cudaMemcpy(back.data(), a, n * 4, cudaMemcpyDeviceToHost));
  checks.push_back(
      {"ncclAllReduce over one rank keeps the data", back == host, fmt::format("{:.3f} ms", ms)});
  DMLSIM_CHECK_CUDA(cudaEventRecord(start, stream));
  DMLSIM_CHECK_NCCL(ncclGroupStart());
  DMLSIM_CHECK_NCCL(ncclSend(a, n * 4, ncclUint8, 0, comm, stream));
  DMLSIM_CHECK_NCCL(ncclRecv(b, n * 4, ncclUint8, 0, comm, stream));
  DMLSIM_CHECK_NCCL(ncclGroupEnd());
  DMLSIM_CHECK_CUDA(cudaEventRecord(stop, stream));
  DMLSIM_CHECK_CUDA(cudaStreamSynchronize(stream));
  cudaEventElapsedTime(&ms, start, stop);
  timings["nccl_self_sendrecv_256MiB_s"] = ms * 1e-3;
  DMLSIM_CHECK_CUDA(cudaMemcpy(back.data(), b, n * 4, cudaMemcpyDeviceToHost));
  checks.push_back({"grouped ncclSend/ncclRecv to itself delivers the bytes", back == host,
                    fmt::format("{:.3f} ms ({:.0f} GB/s)", ms, n * 4 / (ms * 1e-3) / 1e9)});
  cudaFree(a);
  cudaFree(b);
  cudaStreamDestroy(stream);
  ncclCommDestroy(comm);
  return checks;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path model_file = "models/gpt-1.3b.yaml", device_file = "platforms/devices/h100.yaml",
           out = "gpu-check-out";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--model") model_file = argv[i + 1];
    if (key == "--device") device_file = argv[i + 1];
    if (key == "--out") out = argv[i + 1];
  }
  try {
    std::string why;
    int count = 0;
    const cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess || count == 0) {
      std::cout << fmt::format("dmlsim-gpu-check: no usable GPU (cudaGetDeviceCount → {} {})\n", int(rc),
                               cudaGetErrorString(rc));
      return 3;
    }
    fs::create_directories(out);
    cudaDeviceProp prop{};
    DMLSIM_CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
    int nccl_version = 0;
    ncclGetVersion(&nccl_version);
    nlohmann::json report;
    report["gpu"] = {{"name", prop.name},
                     {"sms", prop.multiProcessorCount},
                     {"memory_bytes", prop.totalGlobalMem},
                     {"compute_capability", fmt::format("{}.{}", prop.major, prop.minor)},
                     {"nccl_version", nccl_version}};
    std::cout << fmt::format("GPU: {} ({} SMs, {:.1f} GiB, sm_{}{}), NCCL {}\n", prop.name,
                             prop.multiProcessorCount, prop.totalGlobalMem / double(1 << 30), prop.major,
                             prop.minor, nccl_version);

    std::vector<Check> checks{check_gemm(core::DType::fp32, 1e-3), check_gemm(core::DType::bf16, 1e-2),
                              check_device_add()};
    nlohmann::json timings;
    for (Check& c : check_nccl(timings)) checks.push_back(std::move(c));
    bool all_ok = true;
    for (const Check& c : checks) {
      std::cout << fmt::format("  [{}] {}: {}\n", c.ok ? "ok" : "FAILED", c.name, c.detail);
      report["checks"].push_back({{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}});
      all_ok = all_ok && c.ok;
    }

    // Calibration: every kernel shape of the model, timed on the GPU (median of 5 after a warm-up),
    // against the datasheet roofline of the device profile.
    const core::ConfigNode device_root = core::ConfigNode::load_file(device_file);
    const core::DeviceProfile datasheet = core::parse_device(device_root.at("device"));
    const core::ConfigNode model_root = core::ConfigNode::load_file(model_file);
    const core::Model model = core::parse_model(model_root.at("model"));
    cudaStream_t stream;
    DMLSIM_CHECK_CUDA(cudaStreamCreate(&stream));
    real::CudaKernels kernels(stream);
    std::map<std::string, bool> seen;
    core::DeviceProfile ideal = datasheet;  // the roofline at 100 % efficiency
    ideal.compute_efficiency = ideal.memory_efficiency = 1;
    std::cout << fmt::format("\n  {:<40} {:>10} {:>10} {:>12} {:>9}\n", "kernel shape (" + model.name + ")",
                             "measured", "roofline", "achieved", "of peak");
    double gemm_flops = 0, gemm_seconds = 0;
    for (const core::Layer& l : model.layers) {
      for (const auto* list : {&l.forward, &l.backward}) {
        for (const core::Kernel& k : *list) {
          const std::string key = core::shape_key(k);
          if (!seen.emplace(key, true).second) continue;
          kernels.run(k);  // warm-up
          std::vector<double> t;
          for (int i = 0; i < 5; ++i) t.push_back(kernels.run(k));
          std::sort(t.begin(), t.end());
          const double measured = t[2], roofline = ideal.kernel_seconds(k);
          const bool gemm = std::holds_alternative<core::Gemm>(k.shape);
          if (gemm) gemm_flops += k.flops(), gemm_seconds += measured;
          std::cout << fmt::format("  {:<40} {:>8.1f}us {:>8.1f}us {:>8.1f} {} {:>8.1f} %\n", key,
                                   measured * 1e6, roofline * 1e6,
                                   gemm ? k.flops() / measured / 1e12 : k.memory_bytes() / measured / 1e9,
                                   gemm ? "TF/s" : "GB/s", 100 * roofline / measured);
          report["kernels"].push_back({{"shape", key},
                                       {"dtype", core::to_string(k.dtype)},
                                       {"measured_s", measured},
                                       {"roofline_s", roofline},
                                       {"fraction_of_roofline", roofline / measured}});
        }
      }
    }
    report["gemm_efficiency_overall"] =
        gemm_seconds > 0 ? gemm_flops / gemm_seconds / *datasheet.peak(model.dtype) : 0;
    report["timings"] = timings;
    std::cout << fmt::format("\n  all GEMMs together: {:.1f} TFLOP/s = {:.1f} % of the {} {} peak\n",
                             gemm_flops / gemm_seconds / 1e12,
                             100 * report["gemm_efficiency_overall"].get<double>(), datasheet.name,
                             core::to_string(model.dtype));

    // The calibrated profile: the datasheet figures plus every measured shape.
    std::ofstream profile(out / "device-calibrated.yaml");
    profile << fmt::format(
        "# Written by dmlsim-gpu-check on a {} from {} and {}.\ndevice:\n  name: {}-calibrated\n  peak:\n",
        prop.name, device_file.string(), model_file.string(), datasheet.name);
    for (core::DType d : core::kAllDTypes) {
      if (const auto p = datasheet.peak(d))
        profile << fmt::format("    {}: {:.6g}TFLOPS\n", core::to_string(d), *p / 1e12);
    }
    profile << fmt::format(
        "  memory_bandwidth: {:.6g}GBps\n  memory: {}B\n  efficiency: {{compute: {}, memory: {}}}\n  "
        "measured:\n",
        datasheet.memory_bandwidth / 1e9, datasheet.memory_bytes, datasheet.compute_efficiency,
        datasheet.memory_efficiency);
    for (const auto& k : report["kernels"]) {
      profile << fmt::format("    - {{shape: {}, seconds: {:.6g}us}}\n", k["shape"].get<std::string>(),
                             k["measured_s"].get<double>() * 1e6);
    }
    std::ofstream(out / "gpu-check.json") << report.dump(2) << "\n";
    std::cout << fmt::format("\nwrote {} and {}\n", (out / "gpu-check.json").string(),
                             (out / "device-calibrated.yaml").string());
    return all_ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "dmlsim-gpu-check: " << e.what() << "\n";
    return 1;
  }
}
