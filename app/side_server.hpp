#pragma once
// A small bounded TCP server for a daemon's side ports — the Prometheus
// /metrics endpoint and HAProxy's agent-check — as Asio coroutines on one I/O
// thread of its own. Each accepted connection is handed to a `serve`
// coroutine under one deadline for the whole exchange (a silent or slow peer
// is closed when it passes) and a cap on the connections open at once (more
// are closed as soon as they are accepted). After `serve` returns, the
// connection is shut down and closed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "app/endpoint.hpp"

namespace tandem::app {

struct SideServerLimits {
  std::chrono::milliseconds deadline{10'000};  // the whole exchange of one connection
  std::size_t max_connections = 16;            // open at once
};

class SideServer {
 public:
  /// Serves one connection; runs on the I/O thread and must not block (await instead).
  using Serve = std::function<boost::asio::awaitable<void>(boost::asio::ip::tcp::socket&)>;

  /// Listens on `endpoint` (port 0: the OS picks) and starts the I/O thread.
  /// `what` names the port in errors ("metrics", "agent-check"). Throws
  /// std::runtime_error naming the address when it cannot listen.
  SideServer(const Endpoint& endpoint, const std::string& what, Serve serve, SideServerLimits limits = {});
  /// Closes the listener and every connection; joins the I/O thread. Must not
  /// be called from `serve`.
  ~SideServer();
  SideServer(const SideServer&) = delete;
  SideServer& operator=(const SideServer&) = delete;

  /// The bound port. Thread-safe.
  std::uint16_t port() const { return port_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> handle(std::shared_ptr<boost::asio::ip::tcp::socket> socket);

  Serve serve_;
  SideServerLimits limits_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unordered_set<std::shared_ptr<boost::asio::ip::tcp::socket>> open_;  // I/O thread only
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace tandem::app
