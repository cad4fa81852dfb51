#include "edge_daemon/control_server.hpp"

#include <deque>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/logging.hpp"
#include "net/auth.hpp"
#include "net/listen.hpp"
#include "net/thread_name.hpp"

namespace tandem::edge {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto k_watchdog_period = std::chrono::seconds(1);
// stop() gives connections this long to write their queued replies.
constexpr auto k_stop_flush_bound = std::chrono::seconds(2);

std::string_view trim_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string error_line(std::string text, std::optional<std::uint64_t> task = std::nullopt) {
  return control::to_line(control::ErrorReply{.ok = false, .error = std::move(text), .task = task}) + "\n";
}

}  // namespace

// One client connection. All members are touched on the I/O thread only.
class ControlServer::Connection {
 public:
  Connection(tcp::socket s, const ControlConfig& config)
      : socket(std::move(s)), wake(socket.get_executor()), watchdog(socket.get_executor()),
        ended(socket.get_executor(), Clock::time_point::max()),
        config_(config), authenticated(config.token.empty()), last_line(Clock::now()) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    peer = ec ? "?" : fmt::format("{}:{}", remote.address().to_string(), remote.port());
  }

  /// Queues a line for the writer; closes the connection when the client
  /// leaves more than max_unread_bytes unread.
  void queue(std::string line) {
    if (closed) return;
    out_bytes += line.size();
    out.push_back(std::move(line));
    if (out_bytes > config_.max_unread_bytes) {
      spdlog::warn("control client {} left {} bytes of replies unread: closing it", peer, out_bytes);
      close_now();
      return;
    }
    wake.cancel();
  }
  /// Writes what is queued and pending, then closes.
  void close_after_flush() {
    closing = true;
    wake.cancel();
  }
  void close_now() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    out.clear();
    out_bytes = 0;
    wake.cancel();
    watchdog.cancel();
    ended.cancel();
  }

  asio::awaitable<void> write_loop() {
    while (!closed) {
      if (out.empty()) {
        if ((closing || reader_done) && pending == 0) {
          close_now();
          break;
        }
        wake.expires_at(Clock::time_point::max());
        boost::system::error_code ec;
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      boost::system::error_code ec;
      co_await asio::async_write(socket, asio::buffer(out.front()), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closed) {
        close_now();
        break;
      }
      out_bytes -= out.front().size();
      out.pop_front();
    }
  }

  asio::awaitable<void> watch_loop() {
    while (!closed) {
      watchdog.expires_after(k_watchdog_period);
      boost::system::error_code ec;
      co_await watchdog.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (closed) break;
      if (pending == 0 && out.empty() && Clock::now() - last_line > config_.idle_timeout) {
        spdlog::info("control client {} idle for {} s: closing it", peer,
                     std::chrono::duration_cast<std::chrono::seconds>(config_.idle_timeout).count());
        close_now();
      }
    }
  }

  tcp::socket socket;
  asio::steady_timer wake;      // the writer waits on it; cancel() wakes it
  asio::steady_timer watchdog;
  asio::steady_timer ended;     // cancelled once the connection is closed
  const ControlConfig& config_;
  std::string peer;
  std::deque<std::string> out;
  std::size_t out_bytes = 0;
  std::size_t pending = 0;      // tasks submitted whose result is not queued yet
  std::uint64_t line_no = 0;
  bool authenticated;
  bool closing = false;         // write what is left, then close
  bool reader_done = false;     // the client sent EOF: close once its results are written
  bool closed = false;
  Clock::time_point last_line;
};

ControlServer::ControlServer(ControlConfig config, EdgeService& service)
    : config_(std::move(config)), service_(service),
      tasks_([&service](control::TaskSpec task, ResultCallback done) { service.submit(std::move(task), std::move(done)); }),
      acceptor_(io_), outbox_(std::make_shared<Outbox>()) {
  outbox_->io = &io_;
}

ControlServer::~ControlServer() { stop(); }

boost::system::error_code ControlServer::start() {
  if (config_.token.empty() && !net::is_loopback_host(config_.listen.host)) {
    throw std::invalid_argument(fmt::format(
        "refusing to serve the control port on {} without a token: anyone who can reach it could submit "
        "tasks (use --control-token-file, or a loopback address)",
        config_.listen.host));
  }
  if (auto ec = net::listen_on(acceptor_, config_.listen.host, config_.listen.port)) return ec;
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] {
    net::name_this_thread("edge-control");
    io_.run();
  });
  return {};
}

asio::awaitable<void> ControlServer::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      spdlog::warn("control accept failed: {}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(std::move(socket), config_);
    if (open_.size() >= config_.max_connections) {
      spdlog::warn("control client {} refused: {} connections already open", connection->peer, open_.size());
      connection->queue(error_line(fmt::format("too many control connections (at most {})", config_.max_connections)));
      connection->close_after_flush();
      // The coroutine holds only `this`: the handler keeps the connection alive until it ends.
      asio::co_spawn(io_, connection->write_loop(), [connection](std::exception_ptr) {});
      continue;
    }
    open_.insert(connection);
    connection_count_ = open_.size();
    asio::co_spawn(io_, serve(connection), asio::detached);
  }
}

asio::awaitable<void> ControlServer::serve(std::shared_ptr<Connection> c) {
  asio::co_spawn(io_, c->write_loop(), [c](std::exception_ptr) {});
  asio::co_spawn(io_, c->watch_loop(), [c](std::exception_ptr) {});
  asio::streambuf input(config_.max_line_bytes);
  while (!c->closed && !c->closing) {
    boost::system::error_code ec;
    const std::size_t n =
        co_await asio::async_read_until(c->socket, input, '\n', asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::not_found) {
      c->queue(error_line(fmt::format("line {} is longer than {} bytes; closing", c->line_no + 1,
                                      config_.max_line_bytes)));
      c->close_after_flush();
      break;
    }
    if (ec) {
      // EOF: the client is done sending; its results still go out.
      if (ec == asio::error::eof) {
        c->reader_done = true;
        c->wake.cancel();
      } else {
        c->close_now();
      }
      break;
    }
    const std::string line(asio::buffers_begin(input.data()),
                           asio::buffers_begin(input.data()) + static_cast<std::ptrdiff_t>(n));
    input.consume(n);
    handle_line(c, trim_line(line));
  }
  // The writer ends the connection; wait for it before forgetting it.
  if (!c->closed) {
    boost::system::error_code ec;
    co_await c->ended.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  open_.erase(c);
  {
    std::lock_guard lock(outbox_->mutex);
    connection_count_ = open_.size();
  }
  outbox_->changed.notify_all();
}

void ControlServer::handle_line(const std::shared_ptr<Connection>& c, std::string_view line) {
  ++c->line_no;
  c->last_line = Clock::now();
  if (blank(line)) return;
  const control::LineLimits limits{.max_depth = config_.max_depth};
  control::Request request;
  try {
    request = control::parse_request(line, limits);
  } catch (const control::ProtocolError& e) {
    c->queue(error_line(fmt::format("line {}: {}", c->line_no, e.what()), control::task_id_of(line, limits)));
    if (!c->authenticated) c->close_after_flush();
    return;
  }
  if (const auto* auth = std::get_if<control::AuthRequest>(&request)) {
    const auto& want = config_.token;
    const bool ok = !want.empty() &&
                    net::constant_time_equal({reinterpret_cast<const std::uint8_t*>(auth->token.data()), auth->token.size()},
                                             {reinterpret_cast<const std::uint8_t*>(want.data()), want.size()});
    if (!ok && !want.empty()) {
      spdlog::warn("control client {}: wrong token; closing", c->peer);
      c->queue(error_line("wrong token"));
      c->close_after_flush();
      return;
    }
    c->authenticated = true;
    c->queue(control::dump_line({{"ok", true}, {"op", "auth"}}) + "\n");
    return;
  }
  if (!c->authenticated) {
    c->queue(error_line("this control port needs a token: send {\"op\": \"auth\", \"token\": \"...\"} first"));
    c->close_after_flush();
    return;
  }
  if (std::holds_alternative<control::StatusRequest>(request)) {
    c->queue(control::to_line(service_.status()) + "\n");
    return;
  }
  auto& task = std::get<control::TaskSpec>(request);
  if (c->pending >= config_.max_pending_tasks) {
    c->queue(error_line(fmt::format("line {}: {} tasks are already pending on this connection; wait for results",
                                    c->line_no, c->pending),
                        task.task));
    return;
  }
  ++c->pending;
  std::weak_ptr<Connection> weak = c;
  tasks_.submit(std::move(task), [outbox = outbox_, weak](control::TaskResult result) {
    std::string out = control::to_line(result) + "\n";
    std::lock_guard lock(outbox->mutex);
    if (!outbox->io) {
      spdlog::info("task {} finished after the control port stopped ({})", result.task, result.ok ? "ok" : "failed");
      return;
    }
    asio::post(*outbox->io, [weak, out = std::move(out), id = result.task, ok = result.ok]() mutable {
      auto self = weak.lock();
      if (!self || self->closed) {
        spdlog::info("task {} finished after its control client left ({})", id, ok ? "ok" : "failed");
        return;
      }
      --self->pending;
      self->queue(std::move(out));
    });
  });
}

void ControlServer::stop() {
  if (stopped_.exchange(true)) return;
  if (thread_.joinable()) {
    // Write what is queued (results of drained tasks), then close; bounded.
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (const auto& c : open_) {
        c->reader_done = true;
        c->close_after_flush();
        c->socket.shutdown(tcp::socket::shutdown_receive, ignored);
      }
    });
    {
      std::unique_lock lock(outbox_->mutex);
      outbox_->changed.wait_for(lock, k_stop_flush_bound, [&] { return connection_count_.load() == 0; });
      outbox_->io = nullptr;
    }
    io_.stop();
    thread_.join();
  }
}

}  // namespace tandem::edge
