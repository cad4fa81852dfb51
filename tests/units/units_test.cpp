// Strict unit parsing: what is accepted, what is refused, and the messages.
#include "units/units.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace tandem::units {
namespace {

struct Accepted {
  const char* text;
  double value;
};

TEST(UnitParsing, AcceptsBandwidths) {
  const Accepted cases[] = {
      {"5.85mbit", 5.85e6 / 8},  {"100kbit", 100e3 / 8},   {"1gbit", 1e9 / 8},     {"8bit", 1.0},
      {"1Mbit", 1e6 / 8},        {"1MBIT/s", 1e6 / 8},      {"10kbit/s", 10e3 / 8}, {"2MB/s", 2e6},
      {"500KB/s", 500e3},        {"500kB/s", 500e3},        {"1GB/s", 1e9},         {"123B/s", 123.0},
      {"0.5mbit", 0.5e6 / 8},    {".5mbit", 0.5e6 / 8},     {"1e3kbit", 1e6 / 8},   {"3bit/s", 3.0 / 8},
  };
  for (const auto& c : cases) EXPECT_DOUBLE_EQ(parse_bandwidth(c.text), c.value) << c.text;
}

TEST(UnitParsing, RejectsBadBandwidths) {
  const char* cases[] = {"",       "5.85",   "mbit",    "5.85mbps", "5.85 mbit", " 5mbit", "5mbit ",
                         "-5mbit", "+5mbit", "0mbit",   "nanmbit",  "infmbit",   "1e999mbit", "5mb/s",
                         "5Mb/s",  "5mbit/", "5mbitx",  "5.85.1mbit", "0x10mbit", "5MBs",   "5e"};
  for (const char* text : cases) EXPECT_THROW(parse_bandwidth(text), std::invalid_argument) << text;
}

TEST(UnitParsing, MessagesNameTheTextAndTheUnits) {
  try {
    parse_bandwidth("5.85mbps");
    FAIL() << "accepted 5.85mbps";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'5.85mbps'"), std::string::npos) << what;
    EXPECT_NE(what.find("'mbps'"), std::string::npos) << what;
    EXPECT_NE(what.find("kbit"), std::string::npos) << what;
    EXPECT_NE(what.find("MB/s"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  try {
    parse_duration_ms("-3ms");
    FAIL() << "accepted -3ms";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("negative"), std::string::npos) << e.what();
  }
}

TEST(UnitParsing, AcceptsDurations) {
  const Accepted cases[] = {{"20ms", 20.0}, {"150us", 0.15}, {"1.5s", 1500.0}, {"0ms", 0.0}, {"0s", 0.0}, {"2e1ms", 20.0}};
  for (const auto& c : cases) EXPECT_DOUBLE_EQ(parse_duration_ms(c.text), c.value) << c.text;
}

TEST(UnitParsing, RejectsBadDurations) {
  const char* cases[] = {"", "20", "ms", "20MS", "20 ms", "-1ms", "20min", "20msec", "1h", "nanms", "20ms,"};
  for (const char* text : cases) EXPECT_THROW(parse_duration_ms(text), std::invalid_argument) << text;
}

// Found by fuzz/units_fuzz.cpp: a finite number times its unit's factor
// overflowed to infinity ("1e308s" was inf ms) and was accepted.
TEST(UnitParsing, RejectsQuantitiesBeyondADouble) {
  for (const char* text : {"1e308s", "1.7e308s"}) {
    EXPECT_THROW(parse_duration_ms(text), std::invalid_argument) << text;
    try {
      parse_duration_ms(text);
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_bandwidth("9e307gbit"), std::invalid_argument);
  EXPECT_THROW(parse_bandwidth("1e308GB/s"), std::invalid_argument);
  EXPECT_THROW(parse_size("1e308GiB"), std::invalid_argument);
  EXPECT_THROW(parse_link("1mbit,rtt=1e308s"), std::invalid_argument);
  EXPECT_THROW(parse_link("one-way=1.7e308ms"), std::invalid_argument);
  EXPECT_DOUBLE_EQ(parse_duration_ms("1e300ms"), 1e300);
}

TEST(UnitParsing, ParsesLinksWithTheDelayNamed) {
  const auto link = parse_link("5.85mbit,rtt=40ms");
  ASSERT_TRUE(link.bytes_per_s);
  EXPECT_DOUBLE_EQ(*link.bytes_per_s, 5.85e6 / 8);
  EXPECT_DOUBLE_EQ(link.rtt_ms, 40.0);
  EXPECT_EQ(parse_link("5.85mbit,one-way=20ms"), link);
  EXPECT_EQ(parse_link("rtt=40ms,5.85mbit"), link);
  const auto no_rtt = parse_link("2MB/s");
  EXPECT_DOUBLE_EQ(*no_rtt.bytes_per_s, 2e6);
  EXPECT_DOUBLE_EQ(no_rtt.rtt_ms, 0.0);
  const auto delay_only = parse_link("one-way=250us");
  EXPECT_FALSE(delay_only.bytes_per_s);
  EXPECT_DOUBLE_EQ(delay_only.rtt_ms, 0.5);
  EXPECT_EQ(to_string(link), "5.85mbit,rtt=40ms");
  EXPECT_EQ(to_string(no_rtt), "16mbit");
  EXPECT_EQ(to_string(Link{}), "unlimited");
  for (const char* bad : {"", ",rtt=20ms", "5mbit,", "5mbit,rtt=20ms,1", "5mbit;rtt=20ms", "5mbit, rtt=20ms",
                          "5mbit,20ms", "20ms", "5mbit,5mbit", "rtt=1ms,one-way=1ms", "5mbit,delay=20ms",
                          "5mbit,rtt=20", "5Mbps", "1.5MBps", "5mbit,rtt=-1ms"}) {
    EXPECT_THROW(parse_link(bad), std::invalid_argument) << bad;
  }
  try {
    parse_link("5.85mbit,20ms");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rtt=20ms or one-way=20ms"), std::string::npos) << e.what();
  }
}

TEST(UnitParsing, ParsesSizes) {
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("64KiB"), 65536u);
  EXPECT_EQ(parse_size("1MB"), 1000000u);
  EXPECT_EQ(parse_size("1.5KiB"), 1536u);
  EXPECT_EQ(parse_size("2GiB"), 2147483648u);
  for (const char* bad : {"", "12", "1.5B", "-1KB", "1kib", "1e30GB", "1 MB", "1MBs"}) {
    EXPECT_THROW(parse_size(bad), std::invalid_argument) << bad;
  }
}

TEST(UnitParsing, Formats) {
  EXPECT_EQ(format_bytes(532), "532 B");
  EXPECT_EQ(format_bytes(1500), "1.50 KB");
  EXPECT_EQ(format_bytes(2.34e6), "2.34 MB");
  EXPECT_EQ(format_bytes(123.4e9), "123 GB");
  EXPECT_EQ(format_bandwidth(5.85e6 / 8), "5.85 Mbit/s");
  EXPECT_EQ(format_bandwidth(100e3 / 8), "100 kbit/s");
  EXPECT_EQ(format_bandwidth(100), "800 bit/s");
  EXPECT_EQ(format_duration_ms(0.15), "150 us");
  EXPECT_EQ(format_duration_ms(20), "20.0 ms");
  EXPECT_EQ(format_duration_ms(1500), "1.50 s");
  EXPECT_DOUBLE_EQ(to_mbit(parse_bandwidth("5.85mbit")), 5.85);
}

}  // namespace
}  // namespace tandem::units
