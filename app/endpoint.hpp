#pragma once
// Command-line helpers shared by every executable: HOST:PORT endpoints
// and comma-separated lists.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::app {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// Parses "HOST:PORT" (port 0..65535; HOST non-empty). Throws
/// std::invalid_argument naming the text and what is wrong.
Endpoint parse_endpoint(std::string_view text);

/// Splits "a,b,c" into its non-empty items (whitespace trimmed).
std::vector<std::string> split_list(std::string_view text);

}  // namespace tandem::app
