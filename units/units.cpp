#include "units/units.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem::units {
namespace {

constexpr std::string_view k_bandwidth_units =
    "bit, kbit, mbit, gbit (bits/s, optional /s) or B/s, KB/s, MB/s, GB/s (bytes/s); decimal prefixes";
constexpr std::string_view k_duration_units = "us, ms, s";
constexpr std::string_view k_size_units = "B, KB, MB, GB (decimal) or KiB, MiB, GiB (binary)";
constexpr std::string_view k_link_form =
    "RATE[,rtt=TIME | ,one-way=TIME], e.g. 5.85mbit,rtt=40ms or 5.85mbit,one-way=20ms";
constexpr double k_bits_per_byte = 8.0;

struct Unit {
  std::string_view name;
  double factor;  // to the target unit (bytes/s, ms or bytes)
  bool case_insensitive;
};

constexpr std::array k_bandwidth_table{
    Unit{"bit", 1.0 / k_bits_per_byte, true},    Unit{"kbit", 1e3 / k_bits_per_byte, true},
    Unit{"mbit", 1e6 / k_bits_per_byte, true},   Unit{"gbit", 1e9 / k_bits_per_byte, true},
    Unit{"bit/s", 1.0 / k_bits_per_byte, true},  Unit{"kbit/s", 1e3 / k_bits_per_byte, true},
    Unit{"mbit/s", 1e6 / k_bits_per_byte, true}, Unit{"gbit/s", 1e9 / k_bits_per_byte, true},
    Unit{"B/s", 1.0, false},                     Unit{"KB/s", 1e3, false},
    Unit{"kB/s", 1e3, false},                    Unit{"MB/s", 1e6, false},
    Unit{"GB/s", 1e9, false},
};

constexpr std::array k_duration_table{
    Unit{"us", 1e-3, false},
    Unit{"ms", 1.0, false},
    Unit{"s", 1e3, false},
};

constexpr std::array k_size_table{
    Unit{"B", 1.0, false},           Unit{"KB", 1e3, false},          Unit{"kB", 1e3, false},
    Unit{"MB", 1e6, false},          Unit{"GB", 1e9, false},          Unit{"KiB", 1024.0, false},
    Unit{"MiB", 1048576.0, false},   Unit{"GiB", 1073741824.0, false},
};

bool same_unit(std::string_view text, const Unit& unit) {
  if (text.size() != unit.name.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char a = text[i];
    const char b = unit.name[i];
    if (unit.case_insensitive ? std::tolower(static_cast<unsigned char>(a)) != b : a != b) return false;
  }
  return true;
}

// Splits "<number><unit>" and returns number × unit factor; throws naming `what`.
template <std::size_t N>
double parse_quantity(std::string_view text, std::string_view what, const std::array<Unit, N>& table,
                      std::string_view accepted) {
  auto fail = [&](std::string_view why) -> double {
    throw std::invalid_argument(
        fmt::format("invalid {} '{}': {} (accepted units: {})", what, text, why, accepted));
  };
  if (text.empty()) return fail("empty");
  const char first = text.front();
  if (first == '-') return fail("negative values are not allowed");
  if (!std::isdigit(static_cast<unsigned char>(first)) && first != '.') return fail("missing number");
  double value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) return fail("number out of range");
  if (ec != std::errc()) return fail("missing number");
  if (!std::isfinite(value)) return fail("not a finite number");
  const std::string_view unit = text.substr(static_cast<std::size_t>(end - text.data()));
  if (unit.empty()) return fail("missing unit");
  for (const Unit& u : table) {
    if (!same_unit(unit, u)) continue;
    // "1e308s" is a finite number of a unit but no finite number of ms.
    if (!std::isfinite(value * u.factor)) return fail("number out of range");
    return value * u.factor;
  }
  return fail(fmt::format("unknown unit '{}'", unit));
}

std::string scaled(double value, std::string_view base, const std::array<std::string_view, 4>& prefixes) {
  std::size_t step = 0;
  while (step + 1 < prefixes.size() && std::abs(value) >= 1000.0) {
    value /= 1000.0;
    ++step;
  }
  if (step == 0) return fmt::format("{:.0f} {}{}", value, prefixes[0], base);
  return fmt::format("{:.{}f} {}{}", value,
                     std::abs(value) < 10 ? 2 : std::abs(value) < 100 ? 1 : 0, prefixes[step], base);
}

}  // namespace

double parse_bandwidth(std::string_view text) {
  const double bytes_per_s =
      parse_quantity(text, "bandwidth", k_bandwidth_table, k_bandwidth_units);
  if (!(bytes_per_s > 0)) {
    throw std::invalid_argument(fmt::format("invalid bandwidth '{}': must be > 0 (accepted units: {})",
                                            text, k_bandwidth_units));
  }
  return bytes_per_s;
}

double parse_duration_ms(std::string_view text) {
  return parse_quantity(text, "duration", k_duration_table, k_duration_units);
}

std::uint64_t parse_size(std::string_view text) {
  const double bytes = parse_quantity(text, "size", k_size_table, k_size_units);
  constexpr double k_limit = 9.2e18;  // below 2^63
  if (bytes != std::floor(bytes) || bytes >= k_limit) {
    throw std::invalid_argument(fmt::format(
        "invalid size '{}': must be a whole number of bytes below 2^63 (accepted units: {})", text,
        k_size_units));
  }
  return static_cast<std::uint64_t>(bytes);
}

Link parse_link(std::string_view text) {
  auto fail = [&](std::string_view why) -> Link {
    throw std::invalid_argument(fmt::format("invalid link '{}': {} (expected {})", text, why, k_link_form));
  };
  // Parses one quantity, naming the whole link when it is bad.
  auto quantity = [&](auto parse, std::string_view part) {
    try {
      return parse(part);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("invalid link '{}': {}", text, e.what()));
    }
  };
  if (text.empty()) return fail("empty");
  Link link;
  bool have_delay = false;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    if (part.empty()) return fail("empty part");
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      // A bare duration is ambiguous (round trip or one way?): say which.
      bool is_duration = true;
      try {
        parse_duration_ms(part);
      } catch (const std::invalid_argument&) {
        is_duration = false;
      }
      if (is_duration) {
        return fail(fmt::format("'{}' is a bare delay: write rtt={} or one-way={}", part, part, part));
      }
      if (link.bytes_per_s) return fail("two rates");
      link.bytes_per_s = quantity(parse_bandwidth, part);
    } else {
      const std::string_view key = part.substr(0, eq);
      const std::string_view value = part.substr(eq + 1);
      if (have_delay) return fail("two delays");
      if (key == "rtt") {
        link.rtt_ms = quantity(parse_duration_ms, value);
      } else if (key == "one-way") {
        link.rtt_ms = 2 * quantity(parse_duration_ms, value);
        if (!std::isfinite(link.rtt_ms)) return fail("one-way delay out of range");
      } else {
        return fail(fmt::format("unknown key '{}'", key));
      }
      have_delay = true;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return link;
}

std::string to_string(const Link& link) {
  std::string out;
  if (link.bytes_per_s) out = fmt::format("{:g}mbit", to_mbit(*link.bytes_per_s));
  if (link.rtt_ms > 0) {
    if (!out.empty()) out += ',';
    out += fmt::format("rtt={:g}ms", link.rtt_ms);
  }
  return out.empty() ? "unlimited" : out;
}

double to_mbit(double bytes_per_s) { return bytes_per_s * k_bits_per_byte / 1e6; }

std::string format_bytes(double bytes) { return scaled(bytes, "B", {"", "K", "M", "G"}); }

std::string format_bandwidth(double bytes_per_s) {
  return scaled(bytes_per_s * k_bits_per_byte, "bit/s", {"", "k", "M", "G"});
}

std::string format_duration_ms(double ms) {
  if (std::abs(ms) < 1.0) return fmt::format("{:.0f} us", ms * 1e3);
  if (std::abs(ms) < 1000.0) return fmt::format("{:.{}f} ms", ms, std::abs(ms) < 10 ? 2 : 1);
  return fmt::format("{:.2f} s", ms / 1e3);
}

}  // namespace tandem::units
