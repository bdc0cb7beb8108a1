#include "core/dtype.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"

namespace dmlsim::core {

std::string_view to_string(DType dtype) {
  switch (dtype) {
    case DType::fp64:
      return "fp64";
    case DType::fp32:
      return "fp32";
    case DType::tf32:
      return "tf32";
    case DType::bf16:
      return "bf16";
    case DType::fp16:
      return "fp16";
    case DType::fp8:
      return "fp8";
  }
  return "?";
}

DType parse_dtype(std::string_view name) {
  for (DType d : kAllDTypes) {
    if (to_string(d) == name) return d;
  }
  throw ValueError(fmt::format("unknown dtype '{}' (known: fp64, fp32, tf32, bf16, fp16, fp8)", name));
}

std::uint32_t dtype_bytes(DType dtype) {
  switch (dtype) {
    case DType::fp64:
      return 8;
    case DType::fp32:
    case DType::tf32:
      return 4;
    case DType::bf16:
    case DType::fp16:
      return 2;
    case DType::fp8:
      return 1;
  }
  return 4;
}

}  // namespace dmlsim::core
