#pragma once
#include <cstdint>
#include <string_view>

namespace dmlsim::core {

// Numeric formats a kernel can run in; the device profile gives a peak rate for each it supports.
enum class DType : std::uint8_t { fp64, fp32, tf32, bf16, fp16, fp8 };

inline constexpr DType kAllDTypes[] = {DType::fp64, DType::fp32, DType::tf32,
                                       DType::bf16, DType::fp16, DType::fp8};

std::string_view to_string(DType dtype);
// Throws ValueError for an unknown name.
DType parse_dtype(std::string_view name);
// Storage size of one element (tf32 is stored as fp32).
std::uint32_t dtype_bytes(DType dtype);

}  // namespace dmlsim::core
