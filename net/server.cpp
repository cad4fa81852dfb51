#include "net/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/listen.hpp"
#include "net/server_session.hpp"
#include "net/thread_name.hpp"

namespace tandem::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Server::Server(ServerConfig config, AuthKey key, std::shared_ptr<ServerHandler> handler)
    : state_(std::make_shared<ServerState>(std::move(config), std::move(key), std::move(handler))),
      acceptor_(asio::make_strand(io_)),
      workers_(std::max<std::size_t>(1, state_->config.worker_threads)) {}

Server::~Server() { stop(); }

boost::system::error_code Server::start() {
  {
    std::lock_guard lock(mutex_);
    if (started_ || stopped_) return asio::error::already_started;
    started_ = true;
  }
  const ServerConfig& c = state_->config;
  boost::system::error_code ec = listen_on(acceptor_, c.host, c.port);
  if (ec) return ec;
  const tcp::endpoint endpoint = acceptor_.local_endpoint(ec);
  if (ec) return ec;
  port_ = endpoint.port();

  work_.emplace(io_.get_executor());
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("accept loop ended with an exception: {}", ex.what());
    }
  });
  for (std::size_t i = 0; i < std::max<std::size_t>(1, c.io_threads); ++i) {
    io_threads_.emplace_back([this] {
      name_this_thread("tandem-net-io");
      io_.run();
    });
  }
  spdlog::info("server '{}' listening on {}:{}{}", c.server_name, endpoint.address().to_string(), port_.load(),
               c.tls ? (c.tls->verifies_peer() ? " (TLS, client certificates required)" : " (TLS)") : "");
  return {};
}

asio::awaitable<void> Server::accept_loop() {
  for (;;) {
    tcp::socket socket(asio::make_strand(io_));
    boost::system::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      // Out of descriptors and the like: back off instead of spinning.
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    const std::size_t cap = state_->config.max_connections;
    std::shared_ptr<Session> session;
    bool refused = false;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) co_return;
      const std::size_t open = sessions_.size() - refusing_;
      refused = open >= cap;
      // Refusals in progress are bounded too: past that, a connection is closed without a word.
      if (!refused || refusing_ < cap) {
        std::optional<Error> refusal;
        if (refused) {
          refusal = Error::make(Errc::overloaded, fmt::format("this server has {} connections open, the most it takes "
                                                              "(cloud_daemon --max-connections); try again later",
                                                              open));
          ++refusing_;
        }
        const std::uint64_t id = next_session_id_++;
        session = std::make_shared<Session>(
            state_, workers_.get_executor(), id, std::move(socket),
            [this, refused](std::uint64_t finished) { remove_session(finished, refused); }, std::move(refusal));
        sessions_.emplace(id, session);
      }
    }
    state_->count(refused ? &ServerStats::connections_refused : &ServerStats::sessions_accepted);
    if (session) {
      session->start();
    } else {
      socket.close(ec);
    }
  }
}

void Server::remove_session(std::uint64_t id, bool refused) {
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
    if (refused) --refusing_;
  }
  sessions_changed_.notify_all();
}

void Server::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
  }
  const ServerConfig& c = state_->config;
  state_->stopping = true;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  {
    std::unique_lock lock(state_->mutex);
    if (!state_->changed.wait_for(lock, c.stop_timeout, [&] { return state_->pending == 0; })) {
      spdlog::warn("stop: {} request(s) still unanswered after {} ms", state_->pending, c.stop_timeout.count());
    }
  }
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, s] : sessions_) open.push_back(s);
  }
  for (auto& s : open) s->close_gracefully();
  open.clear();
  {
    std::unique_lock lock(mutex_);
    const auto grace = c.linger_timeout + std::chrono::seconds(1);
    if (!sessions_changed_.wait_for(lock, grace, [&] { return sessions_.empty(); })) {
      for (auto& [id, s] : sessions_) s->force_close();
      sessions_changed_.wait_for(lock, std::chrono::seconds(1), [&] { return sessions_.empty(); });
    }
  }
  work_.reset();
  io_.stop();
  for (std::thread& t : io_threads_) t.join();
  io_threads_.clear();
  workers_.join();
  std::lock_guard lock(mutex_);
  sessions_.clear();
}

CloudLoad Server::load() const { return state_->load(); }

ServerStats Server::stats() const {
  ServerStats s;
  {
    std::lock_guard lock(state_->mutex);
    s = state_->stats;
  }
  s.held_bytes = state_->budget->used();
  s.held_bytes_peak = state_->budget->peak();
  return s;
}

std::size_t Server::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size() - refusing_;
}

}  // namespace tandem::net
