// The quantity parsers of units/units.hpp on arbitrary text. Properties:
// they throw only std::invalid_argument; what they accept is finite and in
// range (bandwidth > 0, duration >= 0, a link's rate > 0 and round trip >= 0),
// and the formatters take it.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "units/units.hpp"

using tandem::fuzz::require;
namespace units = tandem::units;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const double b = units::parse_bandwidth(text);
    require(std::isfinite(b) && b > 0, "a bandwidth is finite and > 0");
    require(!units::format_bandwidth(b).empty(), "a bandwidth formats");
  } catch (const std::invalid_argument&) {
  }
  try {
    const double ms = units::parse_duration_ms(text);
    require(std::isfinite(ms) && ms >= 0, "a duration is finite and >= 0");
    require(!units::format_duration_ms(ms).empty(), "a duration formats");
  } catch (const std::invalid_argument&) {
  }
  try {
    const std::uint64_t bytes = units::parse_size(text);
    require(!units::format_bytes(static_cast<double>(bytes)).empty(), "a size formats");
  } catch (const std::invalid_argument&) {
  }
  try {
    const units::Link link = units::parse_link(text);
    require(!link.bytes_per_s || (std::isfinite(*link.bytes_per_s) && *link.bytes_per_s > 0),
            "a link's rate is finite and > 0");
    require(std::isfinite(link.rtt_ms) && link.rtt_ms >= 0, "a link's round trip is finite and >= 0");
    require(!units::to_string(link).empty(), "a link formats");
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
