#include "edge_daemon/control_server.hpp"

#include <deque>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/process.hpp"

namespace tandem::edge {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr std::size_t k_max_line = 1 << 20;

// One client connection: reads lines, submits tasks, writes result lines (one
// write outstanding at a time, fed from a queue). All state lives on the
// single control I/O thread.
class ControlServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, ControlServer& server)
      : socket_(std::move(socket)), input_(k_max_line), server_(server) {}

  void start() { read(); }

  /// Queues a line for writing; safe from any thread.
  void send(std::string line) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), line = std::move(line)]() mutable {
      if (!self->socket_.is_open()) return;
      self->out_.push_back(std::move(line));
      if (self->out_.size() == 1) self->write();
    });
  }

 private:
  void read() {
    asio::async_read_until(socket_, input_, '\n',
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                             self->on_line(ec, n);
                           });
  }

  void on_line(boost::system::error_code ec, std::size_t n) {
    if (ec) {
      if (ec == asio::error::not_found) {
        send(nlohmann::json{{"ok", false},
                            {"error", fmt::format("line {} is longer than {} bytes", line_no_ + 1,
                                                  k_max_line)}}
                 .dump() + "\n");
      }
      return;  // eof, reset or shutdown: pending results are dropped when they come
    }
    std::string line(asio::buffers_begin(input_.data()),
                     asio::buffers_begin(input_.data()) + static_cast<std::ptrdiff_t>(n));
    input_.consume(n);
    ++line_no_;
    handle(line);
    read();
  }

  void handle(const std::string& line) {
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) return;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      send(error_line(fmt::format("line {}: not JSON: {}", line_no_, e.what())));
      return;
    }
    if (j.is_object() && j.value("op", "submit") == "status") {
      nlohmann::json status = server_.status_();
      status["op"] = "status";
      send(status.dump() + "\n");
      return;
    }
    TaskSpec task;
    try {
      task = task_from_json(j);
    } catch (const std::exception& e) {
      nlohmann::json err = nlohmann::json::parse(error_line(fmt::format("line {}: {}", line_no_, e.what())));
      if (j.is_object() && j.contains("task")) err["task"] = j["task"];
      send(err.dump() + "\n");
      return;
    }
    std::weak_ptr<Connection> weak = shared_from_this();
    server_.service_.submit(std::move(task), [weak](TaskResult result) {
      const std::string out = to_json(result).dump() + "\n";
      if (auto self = weak.lock()) {
        self->send(out);
      } else {
        spdlog::info("task {} finished after its client left: {}", result.task,
                     result.ok ? "ok" : result.error);
      }
    });
  }

  static std::string error_line(const std::string& text) {
    return nlohmann::json{{"ok", false}, {"error", text}}.dump() + "\n";
  }

  void write() {
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) {
                          self->out_.clear();
                          return;
                        }
                        self->out_.pop_front();
                        if (!self->out_.empty()) self->write();
                      });
  }

  tcp::socket socket_;
  asio::streambuf input_;
  std::deque<std::string> out_;
  ControlServer& server_;
  std::uint64_t line_no_ = 0;
};

ControlServer::ControlServer(std::string host, std::uint16_t port, EdgeService& service,
                             std::function<nlohmann::json()> status)
    : host_(std::move(host)), requested_port_(port), service_(service), status_(std::move(status)),
      acceptor_(io_) {}

ControlServer::~ControlServer() { stop(); }

boost::system::error_code ControlServer::start() {
  if (auto ec = net::listen_on(acceptor_, host_, requested_port_)) return ec;
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
  return {};
}

void ControlServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) return;  // acceptor closed
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Connection>(std::move(socket), *this)->start();
    accept();
  });
}

void ControlServer::stop() {
  if (stopped_.exchange(true)) return;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tandem::edge
