#include "app/side_server.hpp"

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "net/listen.hpp"
#include "net/thread_name.hpp"

namespace tandem::app {

namespace asio = boost::asio;
using asio::ip::tcp;

SideServer::SideServer(const Endpoint& endpoint, const std::string& what, Serve serve, SideServerLimits limits)
    : serve_(std::move(serve)), limits_(limits), acceptor_(io_) {
  if (auto ec = net::listen_on(acceptor_, endpoint.host, endpoint.port)) {
    throw std::runtime_error(fmt::format("cannot serve {} on {}:{}: {}", what, endpoint.host, endpoint.port, ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] {
    net::name_this_thread("tandem-side");
    io_.run();
  });
}

SideServer::~SideServer() {
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& s : open_) s->close(ignored);
    io_.stop();
  });
  thread_.join();
}

asio::awaitable<void> SideServer::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    auto socket = std::make_shared<tcp::socket>(io_);
    co_await acceptor_.async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      // Out of descriptors and the like: back off instead of spinning.
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (open_.size() >= limits_.max_connections) {
      socket->close(ec);
      continue;
    }
    open_.insert(socket);
    asio::co_spawn(io_, handle(socket), asio::detached);
  }
}

asio::awaitable<void> SideServer::handle(std::shared_ptr<tcp::socket> socket) {
  // One deadline for the whole exchange: a silent or slow peer is closed,
  // which ends whatever `serve` awaits on it.
  auto deadline = std::make_shared<asio::steady_timer>(io_, limits_.deadline);
  deadline->async_wait([socket](boost::system::error_code ec) {
    if (!ec) socket->close(ec);
  });
  try {
    co_await serve_(*socket);
  } catch (const std::exception&) {
    // A failed exchange only ends its own connection.
  }
  deadline->cancel();
  boost::system::error_code ec;
  socket->shutdown(tcp::socket::shutdown_both, ec);
  socket->close(ec);
  open_.erase(socket);
}

}  // namespace tandem::app
