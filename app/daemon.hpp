#pragma once
// Start-up pieces both daemons share: the SIGINT/SIGTERM wait and the shared
// key file.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "net/auth.hpp"

namespace tandem::app {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts
/// afterwards, so that wait() alone receives them. Construct before starting
/// any thread.
class ShutdownSignals {
 public:
  ShutdownSignals();
  /// Blocks until SIGINT/SIGTERM (returns its name) or until `should_stop`
  /// (polled every 100 ms) returns true (returns "stop request").
  std::string wait(const std::function<bool()>& should_stop) const;
  /// Like wait(), but gives up after `timeout` (returns std::nullopt).
  std::optional<std::string> wait_for(std::chrono::milliseconds timeout,
                                      const std::function<bool()>& should_stop) const;
};

/// Reads the shared HMAC key (net::AuthKey::from_file's rules: a private
/// regular file of 16..4096 bytes). Throws std::runtime_error with the reason
/// and how to make one.
net::AuthKey load_key_file(const std::filesystem::path& path);

}  // namespace tandem::app
