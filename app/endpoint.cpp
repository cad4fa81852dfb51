#include "app/endpoint.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem::app {

Endpoint parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw std::invalid_argument(fmt::format("'{}' is not HOST:PORT (e.g. 127.0.0.1:7070)", text));
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value > 65535) {
    throw std::invalid_argument(
        fmt::format("'{}': port '{}' is not a number from 0 to 65535", text, port_text));
  }
  return {std::string(text.substr(0, colon)), static_cast<std::uint16_t>(value)};
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace tandem::app
