#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/units.hpp"

namespace dmlsim::core {
namespace {

TEST(Units, Bytes) {
  EXPECT_EQ(parse_bytes("80GiB"), 80ull << 30);
  EXPECT_EQ(parse_bytes("1KiB"), 1024u);
  EXPECT_EQ(parse_bytes("100MB"), 100'000'000u);
  EXPECT_EQ(parse_bytes("512 B"), 512u);
  EXPECT_EQ(parse_bytes("0.5KiB"), 512u);
}

TEST(Units, Bandwidth) {
  EXPECT_DOUBLE_EQ(parse_bandwidth("25Gbps"), 25e9 / 8);
  EXPECT_DOUBLE_EQ(parse_bandwidth("3.2TBps"), 3.2e12);
  EXPECT_DOUBLE_EQ(parse_bandwidth("100 Mbit/s"), 100e6 / 8);
  EXPECT_DOUBLE_EQ(parse_bandwidth("50GB/s"), 50e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth("1GiBps"), 1024.0 * 1024 * 1024);
}

TEST(Units, Durations) {
  EXPECT_DOUBLE_EQ(parse_duration("1.5us"), 1.5e-6);
  EXPECT_DOUBLE_EQ(parse_duration("2ms"), 2e-3);
  EXPECT_DOUBLE_EQ(parse_duration("10ns"), 10e-9);
  EXPECT_DOUBLE_EQ(parse_duration("0s"), 0);
  EXPECT_DOUBLE_EQ(parse_duration("30min"), 1800);
  EXPECT_DOUBLE_EQ(parse_duration("8h"), 28800);
}

TEST(Units, FlopRates) {
  EXPECT_DOUBLE_EQ(parse_flop_rate("989.4TFLOPS"), 989.4e12);
  EXPECT_DOUBLE_EQ(parse_flop_rate("96 GFLOP/s"), 96e9);
}

TEST(Units, ErrorsSayWhatIsWrong) {
  try {
    parse_bandwidth("25Gbs");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown bandwidth unit 'Gbs'"), std::string::npos) << e.what();
  }
  try {
    parse_bytes("100");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("has no unit"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_duration("fast"), ValueError);
  EXPECT_THROW(parse_duration("-1us"), ValueError);
  EXPECT_THROW(parse_bandwidth("0Gbps"), ValueError);
  EXPECT_THROW(parse_bytes("1.5B"), ValueError);
}

TEST(Units, Formatting) {
  EXPECT_EQ(format_bytes(256.0 * 1024 * 1024), "256 MiB");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_duration(1.5e-6), "1.5 us");
  EXPECT_EQ(format_duration(0.0123), "12.3 ms");
  EXPECT_EQ(format_duration(9999), "9999 s");
  EXPECT_EQ(format_duration(24880), "6.911 h");
}

}  // namespace
}  // namespace dmlsim::core
