#pragma once
// Prometheus metrics: a small registry (counters, gauges, histograms, all
// with labels) rendered in the text exposition format, and an HTTP endpoint
// serving it at /metrics. Names are prefixed "tandem_" by their users.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tandem::net {

/// Label set, e.g. {{"model", "resnet18"}, {"placement", "split"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// Thread-safe registry. Metric families are created on first use.
class MetricsRegistry {
 public:
  /// Adds `value` to a counter.
  void add(const std::string& name, const std::string& help, const Labels& labels = {},
           double value = 1);
  /// Sets a gauge.
  void set(const std::string& name, const std::string& help, double value,
           const Labels& labels = {});
  /// A gauge read at scrape time from `read` (e.g. a queue length).
  void gauge_fn(const std::string& name, const std::string& help, std::function<double()> read);
  /// Records `value` into a histogram with the given upper bounds (ascending).
  void observe(const std::string& name, const std::string& help, double value,
               const std::vector<double>& bounds, const Labels& labels = {});
  /// The Prometheus text exposition of everything.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;  // per bound (not cumulative)
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string help;
    std::string type;  // counter, gauge, histogram
    std::map<std::string, double> values;         // rendered labels -> value
    std::map<std::string, Histogram> histograms;  // rendered labels -> histogram
    std::function<double()> read;
  };
  Family& family(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

/// Latency buckets in ms used by both daemons.
const std::vector<double>& latency_buckets_ms();

/// Serves GET /metrics over HTTP/1.0 from its own thread.
class MetricsServer {
 public:
  explicit MetricsServer(std::shared_ptr<const MetricsRegistry> registry);
  ~MetricsServer();
  /// Binds HOST:PORT (port 0 picks one); returns the error, if any.
  boost::system::error_code start(const std::string& host, std::uint16_t port);
  std::uint16_t port() const { return port_.load(); }
  /// Closes the listener and joins the thread. Idempotent.
  void stop();

 private:
  void accept();

  std::shared_ptr<const MetricsRegistry> registry_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::uint16_t> port_{0};
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace tandem::net
