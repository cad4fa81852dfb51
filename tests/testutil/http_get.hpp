#pragma once
// Test helper: GET a path from 127.0.0.1:port over a plain socket (HTTP/1.0)
// and return the whole response, headers included. Blocking.

#include <cstdint>
#include <string>

namespace tandem::testutil {

std::string http_get(std::uint16_t port, const std::string& path = "/metrics");

}  // namespace tandem::testutil
