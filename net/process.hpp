#pragma once
// Process-level plumbing shared by the daemons: listening sockets and the
// SIGINT/SIGTERM wait.

#include <cstdint>
#include <functional>
#include <string>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/ip/tcp.hpp>

namespace tandem::net {

/// Opens, binds (SO_REUSEADDR) and listens `acceptor` on HOST:PORT (port 0:
/// the OS picks; read acceptor.local_endpoint()). Returns the error, if any.
boost::system::error_code listen_on(boost::asio::ip::tcp::acceptor& acceptor,
                                    const std::string& host, std::uint16_t port);

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts
/// afterwards, so that wait() alone receives them. Construct before starting
/// any thread.
class ShutdownSignals {
 public:
  ShutdownSignals();
  /// Blocks until SIGINT/SIGTERM (returns its name) or until `should_stop`
  /// (polled every 100 ms) returns true (returns "stop request").
  std::string wait(const std::function<bool()>& should_stop) const;
};

}  // namespace tandem::net
