#pragma once
// Test fixture: a blocking client of the edge daemon's control port.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

namespace tandem::test {

class ControlClient {
 public:
  /// Connects to 127.0.0.1:port; throws std::runtime_error on failure.
  explicit ControlClient(std::uint16_t port);
  ~ControlClient();

  /// Sends one JSON object as a line.
  void send(const nlohmann::json& j);
  /// The next line from the daemon, or nullopt after `timeout` or a closed connection.
  std::optional<nlohmann::json> next(std::chrono::milliseconds timeout);
  /// Sends {"op":"status"} and returns the reply (skipping nothing else: call
  /// it only when no task results are pending).
  std::optional<nlohmann::json> status(std::chrono::milliseconds timeout);

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<nlohmann::json> lines_;
  bool closed_ = false;
};

}  // namespace tandem::test
