#pragma once
// Explicit units for every physical quantity read from a file: "25Gbps", "3.2TBps", "1.5us",
// "80GiB", "989TFLOPS". Inside dmlsim everything is SI base units in doubles whose names say the
// unit (bytes, seconds, bytes_per_second, flops_per_second).
#include <cstdint>
#include <string>
#include <string_view>

namespace dmlsim::core {

// Sizes: B, KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (powers of 1024). Result in bytes.
std::uint64_t parse_bytes(std::string_view text);
// Bandwidths: bps/Kbps/Mbps/Gbps/Tbps (bits, also "Gbit/s"), Bps/KBps/MBps/GBps/TBps (bytes, also
// "GB/s"), KiBps/MiBps/GiBps (also "GiB/s"). Result in bytes per second.
double parse_bandwidth(std::string_view text);
// Durations: s, ms, us (or µs), ns. Result in seconds.
double parse_duration(std::string_view text);
// Compute rates: FLOPS, KFLOPS, MFLOPS, GFLOPS, TFLOPS, PFLOPS (also "TFLOP/s"). Result in flop/s.
double parse_flop_rate(std::string_view text);

// Human-readable forms for tables and logs.
std::string format_bytes(double bytes);            // "256 MiB"
std::string format_bandwidth(double bytes_per_s);  // "25 Gbps (3.125 GB/s)"
std::string format_duration(double seconds);       // "1.50 us", "12.3 ms", "6.911 h"

}  // namespace dmlsim::core
