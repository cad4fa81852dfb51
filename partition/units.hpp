#pragma once
// Strict parsing and formatting of bandwidths, durations and link specs, as
// used by the CLI and the daemons' flags.
//
// Prefixes are decimal (SI): k = 1000, M = 1000², G = 1000³.
// Bandwidth, bits per second (case-insensitive, "/s" optional):
//   "bit", "kbit", "mbit", "gbit"         e.g. "5.85mbit", "100kbit/s", "1Gbit"
// Bandwidth, bytes per second (capital B):
//   "B/s", "KB/s" (or "kB/s"), "MB/s", "GB/s"   e.g. "2MB/s", "500KB/s"
// Duration: "us", "ms", "s"                   e.g. "150us", "20ms", "1.5s"
// A number is a plain decimal (optionally with an exponent) directly followed
// by its unit: no sign, spaces, hex, inf or nan. Anything else - an unknown or
// missing unit, a missing number, a negative value, trailing text - throws
// std::invalid_argument with one line naming the text and the accepted units.

#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::partition {

/// Bytes/s of a bandwidth ("5.85mbit" -> 731250). Must be > 0. Throws std::invalid_argument.
double parse_bandwidth(std::string_view text);

/// Milliseconds of a duration ("150us" -> 0.15). Must be >= 0. Throws std::invalid_argument.
double parse_duration_ms(std::string_view text);

/// A link: bandwidth and round-trip time.
struct LinkSpec {
  double bytes_per_s = 0;
  double rtt_ms = 0;
};

/// "BANDWIDTH[,RTT]" ("5.85mbit,20ms"; RTT 0 when omitted). Throws std::invalid_argument.
LinkSpec parse_link(std::string_view text);

/// Bytes/s as megabits/s (decimal).
double to_mbit(double bytes_per_s);

/// "532 B", "1.50 KB", "2.34 MB", "1.20 GB" (decimal prefixes).
std::string format_bytes(double bytes);

/// "800 bit/s", "100 kbit/s", "5.85 Mbit/s", "1.00 Gbit/s" (decimal prefixes).
std::string format_bandwidth(double bytes_per_s);

/// "150 us", "20.0 ms", "1.50 s".
std::string format_duration_ms(double ms);

}  // namespace tandem::partition
