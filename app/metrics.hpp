#pragma once
// Prometheus metrics for the daemons, on prometheus-cpp (Debian's
// prometheus-cpp-dev): counters, gauges and histograms live in its Registry
// and are rendered by its TextSerializer; gauges whose value is read at
// scrape time (queue lengths, link estimates) are added with gauge_fn.
// MetricsHttp serves them at http://HOST:PORT/metrics from an Asio coroutine
// server of ours (app/side_server.hpp) rather than prometheus-cpp-pull's
// civetweb, which cannot bind port 0 (every test and benchmark listens on
// port 0) — with a bound on the time a request may take, so a client that
// connects and sends nothing is dropped, and on the connections open at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "app/endpoint.hpp"
#include "app/side_server.hpp"

namespace tandem::app {

/// Latency histogram bounds in ms shared by both daemons.
const std::vector<double>& latency_buckets_ms();

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// The registry to build counter/gauge/histogram families in. Thread-safe.
  prometheus::Registry& registry() { return *registry_; }

  /// A gauge read from `read` at every scrape (and by render()). `read` runs
  /// on a scrape thread: it must be thread-safe, and what it reads must
  /// outlive the MetricsHttp serving it. Thread-safe.
  void gauge_fn(const std::string& name, const std::string& help, std::function<double()> read);

  /// The Prometheus text exposition of everything. Thread-safe.
  std::string render() const;

 private:
  class Callbacks;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Callbacks> callbacks_;
};

/// Serves a Metrics at http://HOST:PORT/metrics (HTTP/1.0, GET only) from
/// one I/O thread (a SideServer), for as long as it lives. Declare it after
/// everything its gauges read, so it stops first.
class MetricsHttp {
 public:
  /// Listens on `endpoint` (port 0: the OS picks). A request must arrive
  /// within `read_timeout` (and be at most 8 KiB) or the connection is
  /// closed; at most 16 connections are served at once. Throws
  /// std::runtime_error naming the address when it cannot listen.
  MetricsHttp(const Metrics& metrics, const Endpoint& endpoint,
              std::chrono::milliseconds read_timeout = std::chrono::seconds(10));
  /// Closes the listener and every connection; joins the I/O thread.
  ~MetricsHttp() = default;
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  /// The bound port.
  std::uint16_t port() const { return server_.port(); }

 private:
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket& socket);

  const Metrics& metrics_;
  SideServer server_;  // last: stops before the rest goes
};

}  // namespace tandem::app
