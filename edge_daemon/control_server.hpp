#pragma once
// The edge daemon's control port: newline-delimited JSON over TCP, the
// protocol of control/protocol.hpp. Asio coroutines on one I/O thread: per
// connection a reader, a writer fed from a queue, and an idle watchdog; the
// server keeps every connection so stop() closes them all.
//
// Defences (each a ControlConfig field with a flag on edge_daemon):
//  * a line is at most max_line_bytes and nests at most max_depth levels,
//    checked before it is parsed; every field is type-checked; a bad line
//    gets one error line naming the field and the connection stays up;
//  * with a token, the first line must be {"op":"auth","token":...} or the
//    connection is closed; without one, only loopback addresses may listen;
//  * at most max_connections at once (more get one error line and are
//    closed), and at most max_pending_tasks unanswered tasks per connection;
//  * replies a client leaves unread beyond max_unread_bytes close its
//    connection (its remaining results are logged and dropped);
//  * a connection with no task pending that sends no line for idle_timeout is
//    closed.

#include <atomic>
#include <condition_variable>
#include <mutex>
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
#include "edge_daemon/edge_service.hpp"
#include "edge_daemon/joint.hpp"

namespace tandem::edge {

struct ControlConfig {
  app::Endpoint listen{"127.0.0.1", 7071};
  std::string token;  // empty: no authentication (then only loopback may listen)
  std::size_t max_line_bytes = 64 * 1024;
  std::size_t max_depth = 16;
  std::size_t max_connections = 64;
  std::size_t max_unread_bytes = 16 << 20;
  std::size_t max_pending_tasks = 4096;  // per connection, submitted and not yet answered
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(2)};
};

class ControlServer {
 public:
  ControlServer(ControlConfig config, EdgeService& service);
  /// Calls stop().
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Binds and starts the I/O thread. Throws std::invalid_argument when a
  /// non-loopback address has no token; returns the bind error (e.g. address
  /// in use). Call once.
  boost::system::error_code start();
  /// The bound port. Thread-safe.
  std::uint16_t port() const { return port_.load(); }
  /// Open connections. Thread-safe.
  std::size_t connections() const { return connection_count_.load(); }
  /// Closes the acceptor and every connection; joins the I/O thread. Idempotent.
  void stop();

 private:
  class Connection;
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> connection);
  void handle_line(const std::shared_ptr<Connection>& connection, std::string_view line);

  // Where results from the service's threads go: the I/O context while the
  // server runs, nothing after stop() (results that finish later are logged).
  struct Outbox {
    std::mutex mutex;
    std::condition_variable changed;
    boost::asio::io_context* io = nullptr;
  };

  ControlConfig config_;
  EdgeService& service_;
  JointRunner tasks_;  // joint tasks run here; every other task goes straight to service_
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unordered_set<std::shared_ptr<Connection>> open_;  // I/O thread only
  std::shared_ptr<Outbox> outbox_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<std::size_t> connection_count_{0};
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace tandem::edge
