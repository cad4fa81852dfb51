#pragma once
// Listening sockets for the servers built on Asio (the cloud's, the edge's
// control port): resolve HOST (a name or an address), bind with
// SO_REUSEADDR, listen.

#include <cstdint>
#include <string>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/ip/tcp.hpp>

namespace tandem::net {

/// Opens, binds and listens `acceptor` on HOST:PORT (port 0: the OS picks; read
/// acceptor.local_endpoint()). Blocks only to resolve HOST. Returns the error,
/// if any (host not found, address in use, permission denied).
boost::system::error_code listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                                    std::uint16_t port);

/// True when `host` names only loopback addresses (127.0.0.0/8, ::1, "localhost").
bool is_loopback_host(const std::string& host);

}  // namespace tandem::net
