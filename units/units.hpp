#pragma once
// Strict parsing and formatting of the quantities every flag, task and file
// of tandem names: bandwidths, durations, byte sizes and links. Torch-free
// and dependency-free (fmt only); the daemons, the CLI, the benchmarks and
// the planner all parse through here, so a unit means the same everywhere.
//
// Prefixes are decimal (SI, as tc): k = 1000, M = 1000², G = 1000³; sizes
// also take the binary KiB, MiB, GiB.
//   bandwidth, bits/s (case-insensitive, "/s" optional): bit kbit mbit gbit
//                                   e.g. "5.85mbit", "100kbit/s", "1Gbit"
//   bandwidth, bytes/s (capital B): B/s KB/s (or kB/s) MB/s GB/s   e.g. "2MB/s"
//   duration: us ms s               e.g. "150us", "20ms", "1.5s"
//   size: B KB MB GB KiB MiB GiB    e.g. "64KiB", "1MB", "512B"
//   link: parts joined by ',', each at most once:
//         RATE            a bandwidth (absent: unlimited)
//         rtt=TIME        the round trip added by the link
//         one-way=TIME    the delay of each direction (rtt = 2 × one-way)
//         e.g. "5.85mbit,rtt=40ms" == "5.85mbit,one-way=20ms"; "rtt=40ms"
// A number is a plain decimal (optionally with an exponent) directly followed
// by its unit: no sign, spaces, hex, inf or nan. Anything else - an unknown or
// missing unit, a missing number, a negative value, trailing text - throws
// std::invalid_argument with one line naming the text and the accepted form.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::units {

/// Bytes/s of a bandwidth ("5.85mbit" -> 731250). Must be > 0. Throws std::invalid_argument.
double parse_bandwidth(std::string_view text);

/// Milliseconds of a duration ("150us" -> 0.15). Must be >= 0. Throws std::invalid_argument.
double parse_duration_ms(std::string_view text);

/// Bytes of a size ("64KiB" -> 65536, "1MB" -> 1000000); a whole number of
/// bytes below 2^63. Throws std::invalid_argument.
std::uint64_t parse_size(std::string_view text);

/// A network link: its rate (absent: unlimited) and the round trip it adds.
struct Link {
  std::optional<double> bytes_per_s;
  double rtt_ms = 0;
  friend bool operator==(const Link&, const Link&) = default;
};

/// Parses the link syntax above. Throws std::invalid_argument naming the text.
Link parse_link(std::string_view text);
/// The canonical text of a link ("5.85mbit,rtt=40ms"; "unlimited" when empty).
std::string to_string(const Link& link);

/// Bytes/s as megabits/s (decimal).
double to_mbit(double bytes_per_s);

/// "532 B", "1.50 KB", "2.34 MB", "1.20 GB" (decimal prefixes).
std::string format_bytes(double bytes);

/// "800 bit/s", "100 kbit/s", "5.85 Mbit/s", "1.00 Gbit/s" (decimal prefixes).
std::string format_bandwidth(double bytes_per_s);

/// "150 us", "20.0 ms", "1.50 s".
std::string format_duration_ms(double ms);

}  // namespace tandem::units
