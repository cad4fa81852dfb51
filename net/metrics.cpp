#include "net/metrics.hpp"

#include <cmath>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "net/process.hpp"

namespace tandem::net {
namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += fmt::format("{}=\"{}\"", labels[i].first, escape(labels[i].second));
  }
  return out + "}";
}

// Adds one label to an already rendered set ("{a="b"}" or "").
std::string with_label(const std::string& rendered, const std::string& label) {
  if (rendered.empty()) return "{" + label + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + label + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help,
                                                 const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  }
  return f;
}

void MetricsRegistry::add(const std::string& name, const std::string& help, const Labels& labels,
                          double value) {
  std::lock_guard lock(mutex_);
  family(name, help, "counter").values[render_labels(labels)] += value;
}

void MetricsRegistry::set(const std::string& name, const std::string& help, double value,
                          const Labels& labels) {
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").values[render_labels(labels)] = value;
}

void MetricsRegistry::gauge_fn(const std::string& name, const std::string& help,
                               std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").read = std::move(read);
}

void MetricsRegistry::observe(const std::string& name, const std::string& help, double value,
                              const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& h = family(name, help, "histogram").histograms[render_labels(labels)];
  if (h.bounds.empty()) {
    h.bounds = bounds;
    h.counts.assign(bounds.size(), 0);
  }
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    if (value <= h.bounds[i]) {
      ++h.counts[i];
      break;
    }
  }
  ++h.count;
  h.sum += value;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
    if (f.read) out += fmt::format("{} {}\n", name, number(f.read()));
    for (const auto& [labels, v] : f.values) out += fmt::format("{}{} {}\n", name, labels, number(v));
    for (const auto& [labels, h] : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h.bounds.size(); ++i) {
        cumulative += h.counts[i];
        out += fmt::format("{}_bucket{} {}\n", name,
                           with_label(labels, fmt::format("le=\"{}\"", number(h.bounds[i]))),
                           cumulative);
      }
      out += fmt::format("{}_bucket{} {}\n", name, with_label(labels, "le=\"+Inf\""), h.count);
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, labels, number(h.sum), name, labels,
                         h.count);
    }
  }
  return out;
}

const std::vector<double>& latency_buckets_ms() {
  static const std::vector<double> b{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  return b;
}

MetricsServer::MetricsServer(std::shared_ptr<const MetricsRegistry> registry)
    : registry_(std::move(registry)), acceptor_(io_) {}

MetricsServer::~MetricsServer() { stop(); }

boost::system::error_code MetricsServer::start(const std::string& host, std::uint16_t port) {
  if (auto ec = listen_on(acceptor_, host, port)) return ec;
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
  return {};
}

void MetricsServer::accept() {
  namespace asio = boost::asio;
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec) return;
    auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
    auto buf = std::make_shared<asio::streambuf>(8192);
    asio::async_read_until(*sock, *buf, "\r\n\r\n", [this, sock, buf](boost::system::error_code rec, std::size_t) {
      if (rec) return;
      std::istream in(buf.get());
      std::string method, path;
      in >> method >> path;
      std::string body, status = "200 OK";
      if (method != "GET") {
        status = "405 Method Not Allowed";
        body = "only GET is supported\n";
      } else if (path != "/metrics") {
        status = "404 Not Found";
        body = "metrics are at /metrics\n";
      } else {
        body = registry_->render();
      }
      auto response = std::make_shared<std::string>(fmt::format(
          "HTTP/1.0 {}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n"
          "Connection: close\r\n\r\n{}",
          status, body.size(), body));
      asio::async_write(*sock, asio::buffer(*response),
                        [sock, response](boost::system::error_code, std::size_t) {
                          boost::system::error_code ignored;
                          sock->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                        });
    });
    accept();
  });
}

void MetricsServer::stop() {
  if (stopped_.exchange(true)) return;
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tandem::net
