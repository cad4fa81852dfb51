#include "control/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace tandem::control {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// A reply line longer than this is not from a tandem daemon.
constexpr std::size_t k_max_reply_line = 64 << 20;
}  // namespace

Client::Client(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
               const std::string& token)
    : socket_(io_) {
  boost::system::error_code ec = asio::error::timed_out;
  tcp::resolver resolver(io_);
  resolver.async_resolve(host, std::to_string(port), [&](boost::system::error_code rec, auto results) {
    if (rec) {
      ec = rec;
      return;
    }
    asio::async_connect(socket_, results, [&](boost::system::error_code cec, const tcp::endpoint&) { ec = cec; });
  });
  io_.run_for(timeout);
  if (ec) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    throw std::runtime_error(fmt::format(
        "cannot reach the edge daemon's control port at {}:{}: {} (is edge_daemon running with "
        "--control {}:{}?)",
        host, port, ec.message(), host, port));
  }
  socket_.set_option(tcp::no_delay(true), ec);
  reader_ = std::thread([this] { read_loop(); });
  if (!token.empty()) send_line(auth_request_line(token));
}

Client::~Client() {
  close();
  if (reader_.joinable()) reader_.join();
}

void Client::read_loop() {
  asio::streambuf buf(k_max_reply_line);
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = asio::read_until(socket_, buf, '\n', ec);
    if (ec) break;
    const std::string line(asio::buffers_begin(buf.data()),
                           asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
    buf.consume(n);
    Reply reply;
    try {
      reply = parse_reply(line);
    } catch (const ProtocolError& e) {
      reply = ErrorReply{.ok = false, .error = e.what(), .task = std::nullopt};
    }
    std::lock_guard lock(mutex_);
    replies_.push_back(std::move(reply));
    changed_.notify_all();
  }
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

void Client::send_line(const std::string& line) {
  std::lock_guard lock(write_mutex_);
  boost::system::error_code ec;
  const std::string out = line + "\n";
  asio::write(socket_, asio::buffer(out), ec);
  if (ec) throw std::runtime_error(fmt::format("the edge daemon's control connection failed: {}", ec.message()));
}

void Client::submit(const TaskSpec& task) { send_line(to_line(task)); }

void Client::request_status() { send_line(status_request_line()); }

std::optional<Reply> Client::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !replies_.empty() || closed_; });
  if (replies_.empty()) return std::nullopt;
  Reply r = std::move(replies_.front());
  replies_.pop_front();
  return r;
}

std::optional<Status> Client::status(std::chrono::milliseconds timeout) {
  request_status();
  auto reply = next(timeout);
  if (!reply || !std::holds_alternative<Status>(*reply)) return std::nullopt;
  return std::get<Status>(*reply);
}

bool Client::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

void Client::close() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace tandem::control
