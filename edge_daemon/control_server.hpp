#pragma once
// The edge daemon's control port: newline-delimited JSON over TCP.
//
// Client → daemon, one object per line:
//   {"task": 7, "model": "resnet18", "seed": 1, "objective": "latency",
//    "deadline_ms": 0, "plan": "auto", "codec": "fp32"}      a task (only "model" is required)
//   {"op": "status"}                                          daemon status
// Daemon → client, one object per line, in completion order:
//   a task result (see TaskResult: "task", "model", "ok", "error", "placement", ...)
//   {"op": "status", ...}                                     the status
//   {"ok": false, "error": "line 3: ..."}                     a line that could not be parsed
// A connection may carry any number of tasks; results of tasks whose client
// has gone are logged and dropped.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "edge_daemon/edge_service.hpp"

namespace tandem::edge {

class ControlServer {
 public:
  ControlServer(std::string host, std::uint16_t port, EdgeService& service,
                std::function<nlohmann::json()> status);
  /// Calls stop().
  ~ControlServer();

  /// Binds and starts the I/O thread. Returns the error (e.g. address in use).
  boost::system::error_code start();
  /// The bound port. Thread-safe.
  std::uint16_t port() const { return port_.load(); }
  /// Closes the acceptor and every connection; joins the I/O thread. Idempotent.
  void stop();

 private:
  class Connection;
  void accept();

  std::string host_;
  std::uint16_t requested_port_;
  EdgeService& service_;
  std::function<nlohmann::json()> status_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::uint16_t> port_{0};
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace tandem::edge
