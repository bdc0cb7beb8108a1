// What CMake says about the optional backends (issue 15, item 7): where nvcc is missing the
// configure output names it, and NCCL is found where a Python wheel keeps it (nccl.h beside the
// soname libnccl.so.2 only, under NCCL_ROOT) — a fake one here: configuring needs no GPU.
#include <gtest/gtest.h>

#include "cli_helpers.hpp"

namespace dmlsim {
namespace {

using testing::ScratchDir;

// Configures the project (only what the backends need: no tests, benchmarks or GUI) into `build`.
std::string configure(const std::filesystem::path& build, const std::string& arguments) {
  return testing::read_file_of_command(
      "cmake -S " + testing::quote(testing::source_dir().string()) + " -B " + testing::quote(build.string()) +
      " -G Ninja -DDMLSIM_BUILD_TESTS=OFF -DDMLSIM_BUILD_BENCH=OFF -DDMLSIM_BUILD_GUI=OFF " + arguments +
      " 2>&1; echo exit=$?");
}

TEST(Configure, WithoutNvccTheCudaBackendIsOffAndSaysWhy) {
  ScratchDir scratch("configure-no-nvcc");
  const std::string out = configure(scratch / "build", "-DCMAKE_CUDA_COMPILER=/nonexistent/nvcc");
  EXPECT_NE(out.find("exit=0"), std::string::npos) << out;
  EXPECT_NE(out.find("dmlsim: CUDA/NCCL backend OFF: no nvcc at /nonexistent/nvcc"), std::string::npos)
      << out;
}

TEST(Configure, NcclIsFoundWhereAWheelKeepsIt) {
  if (!std::filesystem::exists("/usr/local/cuda/bin/nvcc") &&
      testing::read_file_of_command("command -v nvcc").empty())
    GTEST_SKIP() << "no nvcc here: the CUDA backend is not configured at all";
  ScratchDir scratch("configure-nccl-wheel");
  const auto wheel = scratch / "site-packages" / "nvidia" / "nccl";
  std::filesystem::create_directories(wheel / "include");
  std::filesystem::create_directories(wheel / "lib");
  testing::write_file(wheel / "include" / "nccl.h", "");
  testing::write_file(wheel / "lib" / "libnccl.so.2", "");  // the soname only, as in the wheel
  const std::string out = configure(scratch / "build", "-DNCCL_ROOT=" + testing::quote(wheel.string()));
  EXPECT_NE(out.find("exit=0"), std::string::npos) << out;
  EXPECT_NE(out.find("dmlsim: CUDA/NCCL backend ON"), std::string::npos) << out;
  EXPECT_NE(out.find((wheel / "lib" / "libnccl.so.2").string()), std::string::npos) << out;
}

}  // namespace
}  // namespace dmlsim
