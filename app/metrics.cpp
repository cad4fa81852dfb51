#include "app/metrics.hpp"

#include <mutex>
#include <stdexcept>

#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>


namespace tandem::app {

const std::vector<double>& latency_buckets_ms() {
  static const std::vector<double> bounds{1,   2,   5,    10,   20,   50,    100,
                                          200, 500, 1000, 2000, 5000, 10000, 30000};
  return bounds;
}

// Gauges computed at collection time: prometheus-cpp's Registry only holds
// values that are set, so these are a Collectable of their own.
class Metrics::Callbacks : public prometheus::Collectable {
 public:
  void add(std::string name, std::string help, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    entries_.push_back({std::move(name), std::move(help), std::move(read)});
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard lock(mutex_);
    std::vector<prometheus::MetricFamily> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) {
      prometheus::MetricFamily family;
      family.name = e.name;
      family.help = e.help;
      family.type = prometheus::MetricType::Gauge;
      prometheus::ClientMetric metric;
      metric.gauge.value = e.read();
      family.metric.push_back(std::move(metric));
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Entry {
    std::string name, help;
    std::function<double()> read;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()), callbacks_(std::make_shared<Callbacks>()) {}

Metrics::~Metrics() = default;

void Metrics::gauge_fn(const std::string& name, const std::string& help, std::function<double()> read) {
  callbacks_->add(name, help, std::move(read));
}

std::string Metrics::render() const {
  auto families = registry_->Collect();
  auto more = callbacks_->Collect();
  families.insert(families.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace tandem::app

namespace tandem::app {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr std::size_t k_max_request = 8 * 1024;
constexpr std::size_t k_max_connections = 16;

std::string http_response(std::string_view status, std::string_view content_type, const std::string& body) {
  return fmt::format("HTTP/1.0 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                     status, content_type, body.size(), body);
}

}  // namespace

MetricsHttp::MetricsHttp(const Metrics& metrics, const Endpoint& endpoint, std::chrono::milliseconds read_timeout)
    : metrics_(metrics),
      server_(endpoint, "metrics", [this](tcp::socket& socket) { return serve(socket); },
              SideServerLimits{read_timeout, k_max_connections}) {}

asio::awaitable<void> MetricsHttp::serve(tcp::socket& socket) {
  boost::system::error_code ec;
  asio::streambuf request(k_max_request);
  co_await asio::async_read_until(socket, request, "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  const std::string head(asio::buffers_begin(request.data()), asio::buffers_end(request.data()));
  const bool metrics = head.starts_with("GET /metrics ") || head.starts_with("GET /metrics?");
  const std::string response =
      metrics ? http_response("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics_.render())
              : http_response("404 Not Found", "text/plain", "try /metrics\n");
  co_await asio::async_write(socket, asio::buffer(response), asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace tandem::app
