#pragma once
// A client of the edge daemon's control port: the one used by `tandem
// submit`, the end-to-end tests and the benchmarks. Owns one connection and a
// reader thread; replies are queued as they arrive and taken with next().
//
// Threading: send_*() may be called from any thread (writes are serialised);
// next() from one consumer thread at a time. Writes block until the line is
// in the socket's buffer.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "control/protocol.hpp"

namespace tandem::control {

class Client {
 public:
  /// Connects to HOST:PORT within `timeout`; sends `token` first when given.
  /// Throws std::runtime_error naming the address and what to check.
  Client(const std::string& host, std::uint16_t port,
         std::chrono::milliseconds timeout = std::chrono::seconds(5), const std::string& token = {});
  /// Closes the connection and joins the reader.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends one task. Throws std::runtime_error when the connection is gone.
  void submit(const TaskSpec& task);
  /// Asks for the daemon's status (the reply comes through next()).
  void request_status();
  /// Sends a raw line (a newline is appended). Throws std::runtime_error when
  /// the connection is gone.
  void send_line(const std::string& line);

  /// The next reply, in arrival order; std::nullopt once `timeout` passes or
  /// the daemon has closed the connection and every reply was taken. A line
  /// that is none of the replies comes back as an ErrorReply saying so.
  std::optional<Reply> next(std::chrono::milliseconds timeout);
  /// request_status() and the reply; only when no other reply is pending.
  std::optional<Status> status(std::chrono::milliseconds timeout);
  /// True once the daemon closed the connection (or close() was called).
  bool closed() const;
  /// Shuts the connection down; a blocked next() returns. Idempotent.
  void close();

 private:
  void read_loop();

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::mutex write_mutex_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Reply> replies_;
  bool closed_ = false;
};

}  // namespace tandem::control
