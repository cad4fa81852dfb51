#include "control_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace tandem::test {

namespace asio = boost::asio;
using asio::ip::tcp;

ControlClient::ControlClient(std::uint16_t port) : socket_(io_) {
  boost::system::error_code ec;
  socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) throw std::runtime_error("cannot connect to the control port: " + ec.message());
  reader_ = std::thread([this] {
    asio::streambuf buf;
    for (;;) {
      boost::system::error_code rec;
      const std::size_t n = asio::read_until(socket_, buf, '\n', rec);
      if (rec) break;
      std::string line(asio::buffers_begin(buf.data()),
                       asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
      buf.consume(n);
      std::lock_guard lock(mutex_);
      lines_.push_back(nlohmann::json::parse(line, nullptr, false));
      changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  });
}

ControlClient::~ControlClient() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  reader_.join();
}

void ControlClient::send(const nlohmann::json& j) {
  const std::string line = j.dump() + "\n";
  asio::write(socket_, asio::buffer(line));
}

std::optional<nlohmann::json> ControlClient::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [&] { return !lines_.empty() || closed_; }) ||
      lines_.empty()) {
    return std::nullopt;
  }
  auto j = std::move(lines_.front());
  lines_.pop_front();
  return j;
}

std::optional<nlohmann::json> ControlClient::status(std::chrono::milliseconds timeout) {
  send({{"op", "status"}});
  return next(timeout);
}

}  // namespace tandem::test
