#include "net/client.hpp"

#include <algorithm>
#include <unordered_map>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <netinet/tcp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/frame_io.hpp"
#include "net/printable.hpp"
#include "net/stream.hpp"
#include "net/thread_name.hpp"

namespace tandem::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {
constexpr std::uint32_t k_handshake_max_payload = 64 * 1024;

double ms_since(clock::time_point t) { return std::chrono::duration<double, std::milli>(clock::now() - t).count(); }
}  // namespace

struct PendingRequest {
  enum class Kind { infer, probe, status };
  Kind kind = Kind::infer;
  InferCallback on_infer;
  SentCallback on_sent;
  ProbeCallback on_probe;
  StatusCallback on_status;
  std::uint32_t deadline_ms = 0;
  clock::time_point sent_at{};
  std::uint64_t frame_bytes = 0;
  std::unique_ptr<asio::steady_timer> timer;

  // Callbacks are the caller's code: an exception from one must not take the connection down.
  template <class F, class V>
  static void call(const F& f, V&& v) noexcept {
    try {
      if (f) f(std::forward<V>(v));
    } catch (const std::exception& e) {
      spdlog::error("client callback threw: {}", e.what());
    }
  }
  void fail(const Error& e) noexcept {
    switch (kind) {
      case Kind::infer: call(on_infer, Expected<InferResult>(e)); break;
      case Kind::probe: call(on_probe, Expected<ProbeResult>(e)); break;
      case Kind::status: call(on_status, Expected<CloudLoad>(e)); break;
    }
  }
};

/// One TCP connection of a Client; lives on the client's I/O thread only.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(Client& client, asio::io_context& io, const std::string& host)
      : client_(client),
        stream_(make_stream(tcp::socket(io), client.config_.tls, host)),
        reader_(k_handshake_max_payload),
        emulator_(client.config_.link.is_passthrough() ? nullptr : std::make_unique<LinkEmulator>(io.get_executor(), client.config_.link)),
        writer_(*stream_, emulator_.get()),
        connect_timer_(io) {
    // The caller's thread may write a request itself (write_directly) on a
    // plain socket with no link emulation: TLS state and the emulator's
    // delay line belong to the I/O thread.
    direct_capable_ = !stream_->secure() && !emulator_;
    if (direct_capable_) writer_.set_gate(&gate_);
  }

  bool alive() const noexcept { return alive_; }

  asio::awaitable<void> run(std::string host, std::uint16_t port, std::shared_ptr<std::promise<Expected<HelloAck>>> promise) {
    auto self = shared_from_this();
    peer_ = fmt::format("{}:{}", host, port);
    const auto executor = stream_->socket().get_executor();
    asio::co_spawn(executor, writer_.run(), [self](std::exception_ptr, boost::system::error_code ec) {
      if (ec) self->lose(Error{ec, fmt::format("writing to the cloud at {} failed: {}", self->peer_, ec.message())}, false);
      if (self->lost_) self->stream_->close();
    });
    if (emulator_) {
      asio::co_spawn(executor, emulator_->run_delivery(*stream_),
                     [self](std::exception_ptr, boost::system::error_code ec) {
                       if (ec) self->lose(Error{ec, fmt::format("writing to the cloud at {} failed: {}", self->peer_, ec.message())}, false);
                     });
    }
    connect_timer_.expires_after(client_.config_.connect_timeout);
    connect_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto s = weak.lock();
      if (ec || !s || s->alive_) return;
      s->timed_out_ = true;
      s->stream_->close();
    });

    Expected<HelloAck> result = co_await handshake(host, port);
    connect_timer_.cancel();
    if (!result) {
      lose(result.error(), false);
      promise->set_value(std::move(result));
      co_return;
    }
    alive_ = true;
    client_.connected_ = true;
    if (direct_capable_) client_.set_direct(self);
    promise->set_value(std::move(result));
    co_await read_loop();
  }

  void add(std::uint64_t rid, std::shared_ptr<PendingRequest> p, OutgoingFrame frame) {
    std::function<void()> written = register_request(rid, std::move(p), frame.wire_size());
    writer_.push(std::move(frame), std::move(written));
  }

  /// From the caller's thread (Client::infer): writes the request to the
  /// socket now if the connection's writer is quiet, sparing the hop to the
  /// I/O thread (docs/design.md §5); what the kernel does not take at once
  /// goes to the writer, ahead of anything queued after. The request is
  /// registered before its first byte leaves, so its reply always finds it.
  /// False (nothing done) when the writer is busy, the connection is going,
  /// or it is TLS or emulated: then use Client::submit.
  bool write_directly(std::uint64_t rid, std::shared_ptr<PendingRequest>& p, OutgoingFrame& frame) {
    if (!direct_capable_) return false;
    const std::size_t size = frame.wire_size();
    std::function<void()> written;
    // Never blocks; an error (a reset, a closed peer) leaves the whole frame
    // to the writer, whose write then reports it and ends the connection.
    const auto sent_or_none =
        gate_.try_write(*stream_, frame, [&] { written = register_request(rid, std::move(p), size); });
    if (!sent_or_none) return false;
    const std::size_t sent = *sent_or_none;
    asio::post(stream_->socket().get_executor(), [self = shared_from_this(), frame = std::move(frame), sent, size,
                                                  written = std::move(written)]() mutable {
      if (sent < size) {
        self->writer_.push_remainder(std::move(frame), sent, std::move(written));
      } else if (written && !self->lost_) {
        written();
      }
    });
    return true;
  }

  /// Ends the connection and fails everything in flight with `error`. Idempotent.
  void lose(const Error& error, bool flush_first) {
    if (lost_) return;
    gate_.close();  // after this no other thread writes to the socket or books a request
    lost_ = true;
    alive_ = false;
    client_.connection_lost(error);
    client_.clear_direct(this);
    std::unordered_map<std::uint64_t, std::shared_ptr<PendingRequest>> pending;
    {
      std::lock_guard lock(pending_mutex_);
      pending = std::move(pending_);
      pending_.clear();
    }
    for (auto& [rid, p] : pending) {
      if (p->timer) p->timer->cancel();
      --client_.in_flight_;
      p->fail(error);
    }
    connect_timer_.cancel();
    if (flush_first) {
      writer_.close_after_drain();  // the writer's completion closes the socket
    } else {
      writer_.stop();
      if (emulator_) emulator_->stop();
      stream_->close();
    }
  }

  /// Runs `sent` once the kernel (SIOCOUTQ: unsent plus unacknowledged) and
  /// the link emulator's delay line hold at most config.sent_backlog bytes
  /// of this connection, polling every 2 ms; never when the connection is
  /// lost first.
  void when_acknowledged(std::function<void()> sent) {
    if (lost_) return;
    int queued = 0;
    const std::uint32_t limit = client_.config_.sent_backlog;
    // The link emulator's delay line holds bytes the kernel has not seen yet.
    const std::size_t emulated = emulator_ ? emulator_->pending_bytes() : 0;
    if (limit == 0 || ::ioctl(stream_->socket().native_handle(), SIOCOUTQ, &queued) != 0 ||
        emulated + static_cast<std::size_t>(std::max(queued, 0)) <= limit) {
      sent();
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(stream_->socket().get_executor(), std::chrono::milliseconds(2));
    timer->async_wait([weak = weak_from_this(), timer, sent = std::move(sent)](boost::system::error_code ec) mutable {
      auto s = weak.lock();
      if (!ec && s) s->when_acknowledged(std::move(sent));
    });
  }

 private:
  // Books a request (deadline timer, the `written` callback to pass the
  // writer) before its frame is written; from any thread.
  std::function<void()> register_request(std::uint64_t rid, std::shared_ptr<PendingRequest> p, std::size_t frame_bytes) {
    p->sent_at = clock::now();
    p->frame_bytes = frame_bytes;
    if (p->deadline_ms > 0) {
      p->timer = std::make_unique<asio::steady_timer>(stream_->socket().get_executor(), std::chrono::milliseconds(p->deadline_ms));
      p->timer->async_wait([weak = weak_from_this(), rid](boost::system::error_code ec) {
        if (ec) return;
        if (auto s = weak.lock()) s->expire(rid);
      });
    }
    std::function<void()> written;
    if (p->on_sent) {
      written = [p, weak = weak_from_this()] {
        if (auto s = weak.lock()) {
          s->when_acknowledged([p] {
            try {
              p->on_sent();
            } catch (const std::exception& e) {
              spdlog::error("client callback threw: {}", e.what());
            }
          });
        }
      };
    }
    {
      std::lock_guard lock(pending_mutex_);
      pending_.emplace(rid, std::move(p));
    }
    ++client_.in_flight_;
    return written;
  }

  // What to check when the handshake fails in a way a TLS mismatch would explain.
  std::string tls_hint() const {
    return stream_->secure() ? " (is the cloud running with --tls-cert? without it, drop --tls-ca here)"
                             : " (if the cloud runs with --tls-cert, give this side --tls-ca)";
  }

  Error read_failure(const ReadOutcome& in, std::string_view waiting_for) const {
    const bool challenge = waiting_for == "CHALLENGE";
    if (timed_out_) {
      return Error::make(Errc::connect_timeout, fmt::format("no {} from {} within {} ms{}", waiting_for, peer_,
                                                            client_.config_.connect_timeout.count(),
                                                            challenge ? tls_hint() : ""));
    }
    if (in.protocol_error) {
      return Error{in.protocol_error->code, fmt::format("cloud at {}: {}{}", peer_, in.protocol_error->message,
                                                        challenge ? tls_hint() : "")};
    }
    return Error::make(Errc::connection_lost, fmt::format("cloud at {} closed the connection while we waited for {}: {}{}",
                                                          peer_, waiting_for, in.io_error.message(),
                                                          challenge ? tls_hint() : ""));
  }

  Error refusal(const Frame& f) const {
    auto e = decode_error(f);
    if (!e) return e.error();
    return Error::make(e.value().code,
                       fmt::format("cloud at {} refused the handshake: {}", peer_, printable(e.value().text, k_max_error_text)));
  }

  asio::awaitable<Expected<HelloAck>> handshake(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    tcp::resolver resolver(stream_->socket().get_executor());
    const auto endpoints =
        co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Error{ec, fmt::format("cannot resolve {}: {}", host, ec.message())};
    co_await asio::async_connect(stream_->socket(), endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (timed_out_) co_return Error::make(Errc::connect_timeout, fmt::format("connecting to {} timed out", peer_));
    if (ec) co_return Error{ec, fmt::format("cannot connect to {}: {}", peer_, ec.message())};
    stream_->socket().set_option(tcp::no_delay(true), ec);
    if (client_.config_.notsent_lowat > 0) {
      // Keep at most this many unsent bytes in the kernel: a write then
      // completes when the data is nearly on the wire, so the caller's
      // `sent` callbacks track the link instead of a deep socket buffer.
      stream_->socket().set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_NOTSENT_LOWAT>(
                             static_cast<int>(client_.config_.notsent_lowat)),
                         ec);
      ec.clear();
    }
    if (stream_->secure()) {
      ec = co_await stream_->handshake();
      if (timed_out_) {
        co_return Error::make(Errc::connect_timeout, fmt::format("TLS handshake with the cloud at {} did not finish "
                                                                 "within {} ms{}",
                                                                 peer_, client_.config_.connect_timeout.count(), tls_hint()));
      }
      if (ec) {
        co_return Error{ec, fmt::format("TLS handshake with the cloud at {} failed: {}{}", peer_, printable(ec.message()),
                                        tls_hint())};
      }
    }

    ReadOutcome in = co_await reader_.read(*stream_);
    if (!in.ok()) co_return read_failure(in, "CHALLENGE");
    if (in.frame.header.type == MessageType::error) co_return refusal(in.frame);
    auto challenge = decode_challenge(in.frame);
    if (!challenge) co_return challenge.error();
    if (challenge.value().protocol_version != k_protocol_version) {
      co_return Error::make(Errc::unsupported_version, fmt::format("cloud at {} speaks protocol version {}, we speak {}",
                                                                   peer_, challenge.value().protocol_version, k_protocol_version));
    }
    auto client_nonce = random_nonce();
    if (!client_nonce) co_return client_nonce.error();
    auto proof = client_proof(client_.key_, challenge.value().server_nonce, client_nonce.value());
    if (!proof) co_return proof.error();
    Hello hello{k_protocol_version, client_.config_.client_name, client_nonce.value(), proof.value(), client_.config_.models};
    auto hello_frame = encode_message(hello);
    if (!hello_frame) co_return hello_frame.error();
    writer_.push(std::move(hello_frame).value());

    in = co_await reader_.read(*stream_);
    if (!in.ok()) co_return read_failure(in, "HELLO_ACK");
    if (in.frame.header.type == MessageType::error) co_return refusal(in.frame);
    auto ack = decode_hello_ack(in.frame);
    if (!ack) co_return ack.error();
    auto expected = server_proof(client_.key_, challenge.value().server_nonce, client_nonce.value());
    if (!expected) co_return expected.error();
    if (!constant_time_equal(expected.value(), ack.value().server_proof)) {
      co_return Error::make(Errc::auth_failed, fmt::format("cloud at {} could not prove it holds our key", peer_));
    }
    reader_.set_max_payload(client_.config_.max_payload);
    co_return std::move(ack).value();
  }

  asio::awaitable<void> read_loop() {
    auto self = shared_from_this();
    while (alive_) {
      ReadOutcome in = co_await reader_.read(*stream_);
      if (!alive_) co_return;
      if (in.protocol_error) {
        violation(*in.protocol_error, 0);
        co_return;
      }
      if (in.io_error) {
        lose(Error::make(Errc::connection_lost, fmt::format("connection to the cloud at {} lost: {}", peer_, in.io_error.message())),
             false);
        co_return;
      }
      handle(in.frame);
    }
  }

  // The cloud broke the protocol: tell it why, then close.
  void violation(const Error& error, std::uint64_t rid) {
    const auto code = error.code.category() == net_category() ? static_cast<Errc>(error.code.value()) : Errc::internal_error;
    auto frame = encode_message(ErrorMessage{is_wire_errc(static_cast<std::uint16_t>(code)) ? code : Errc::internal_error,
                                             error.message},
                                rid, true);
    if (frame) writer_.push(std::move(frame).value());
    lose(Error{error.code, fmt::format("cloud at {} sent invalid data: {}", peer_, error.message)}, true);
  }

  std::shared_ptr<PendingRequest> take(std::uint64_t rid) {
    std::shared_ptr<PendingRequest> p;
    {
      std::lock_guard lock(pending_mutex_);
      auto it = pending_.find(rid);
      if (it == pending_.end()) return nullptr;
      p = std::move(it->second);
      pending_.erase(it);
    }
    if (p->timer) p->timer->cancel();
    --client_.in_flight_;
    return p;
  }

  void expire(std::uint64_t rid) {
    if (auto p = take(rid)) {
      p->fail(Error::make(Errc::deadline_exceeded, fmt::format("request {}: no reply from the cloud within {} ms", rid, p->deadline_ms)));
    }
  }

  template <class T>
  std::shared_ptr<PendingRequest> take_expected(const Frame& f, const Expected<T>& decoded, PendingRequest::Kind kind) {
    if (!decoded) {
      violation(decoded.error(), f.header.request_id);
      return nullptr;
    }
    auto p = take(f.header.request_id);
    if (!p) {
      spdlog::debug("cloud at {}: {} for request {} that is no longer waiting", peer_, to_string(f.header.type), f.header.request_id);
      return nullptr;
    }
    if (p->kind != kind) {
      p->fail(Error::make(Errc::unexpected_message, "reply of the wrong kind"));
      violation(Error::make(Errc::unexpected_message, fmt::format("{} answers a request of another kind", to_string(f.header.type))),
                f.header.request_id);
      return nullptr;
    }
    return p;
  }

  void handle(const Frame& f) {
    const auto& monitor = client_.config_.monitor;
    switch (f.header.type) {
      case MessageType::result: {
        auto r = decode_result(f);
        auto p = take_expected(f, r, PendingRequest::Kind::infer);
        if (!p) return;
        if (monitor) monitor->add_receive_timing(r.value().receive, SampleSource::passive);
        PendingRequest::call(p->on_infer, std::move(r));
        return;
      }
      case MessageType::probe_ack: {
        auto r = decode_probe_ack(f);
        auto p = take_expected(f, r, PendingRequest::Kind::probe);
        if (!p) return;
        ProbeResult out;
        out.frame_bytes = p->frame_bytes;
        out.round_trip_ms = ms_since(p->sent_at);
        out.receive = r.value().receive;
        out.rtt_ms = std::max(0.0, out.round_trip_ms - out.receive.receive_ms);
        if (out.receive.receive_ms > 0 && out.receive.timed_bytes > 0) {
          out.bandwidth_bytes_per_s = static_cast<double>(out.receive.timed_bytes) / (out.receive.receive_ms / 1e3);
        }
        if (monitor) {
          monitor->add_receive_timing(out.receive, SampleSource::probe);
          monitor->add_rtt_sample(out.rtt_ms);
        }
        PendingRequest::call(p->on_probe, Expected<ProbeResult>(std::move(out)));
        return;
      }
      case MessageType::status: {
        auto r = decode_status(f);
        auto p = take_expected(f, r, PendingRequest::Kind::status);
        if (p) PendingRequest::call(p->on_status, Expected<CloudLoad>(r.value().load));
        return;
      }
      case MessageType::error: {
        auto r = decode_error(f);
        if (!r) {
          violation(r.error(), f.header.request_id);
          return;
        }
        const std::string text = printable(r.value().text, k_max_error_text);
        const Error error = Error::make(r.value().code, fmt::format("cloud at {}: {}", peer_, text));
        if (auto p = take(f.header.request_id); p && f.header.request_id != 0) {
          p->fail(error);
        } else if ((f.header.flags & frame_flags::closing) == 0) {
          spdlog::warn("{}", error.message);
        }
        if ((f.header.flags & frame_flags::closing) != 0) {
          lose(Error::make(r.value().code, fmt::format("cloud at {} closed the connection: {}", peer_, text)), false);
        }
        return;
      }
      default:
        violation(Error::make(Errc::unexpected_message, fmt::format("unexpected {} from the cloud", to_string(f.header.type))),
                  f.header.request_id);
    }
  }

  Client& client_;
  std::unique_ptr<Stream> stream_;
  FrameReader reader_;
  std::unique_ptr<LinkEmulator> emulator_;
  DirectWriteGate gate_;  // before writer_, which holds a pointer to it
  WriteQueue writer_;
  asio::steady_timer connect_timer_;
  bool direct_capable_ = false;
  // Booked on the I/O thread or a caller's (write_directly); taken on the I/O thread.
  std::mutex pending_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<PendingRequest>> pending_;
  std::string peer_;
  bool alive_ = false;
  bool lost_ = false;
  bool timed_out_ = false;
};

// ---- Client -----------------------------------------------------------------

Client::Client(ClientConfig config, AuthKey key) : config_(std::move(config)), key_(std::move(key)) {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    name_this_thread("tandem-client");
    io_.run();
  });
}

Client::~Client() {
  close();
  work_.reset();
  io_.stop();
  thread_.join();
}

std::optional<Error> Client::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void Client::set_error(const Error& error) {
  std::lock_guard lock(error_mutex_);
  last_error_ = error;
}

void Client::connection_lost(const Error& error) {
  connected_ = false;
  set_error(error);
}

Expected<HelloAck> Client::connect(const std::string& host, std::uint16_t port) {
  close();
  auto promise = std::make_shared<std::promise<Expected<HelloAck>>>();
  auto future = promise->get_future();
  auto connection = std::make_shared<ClientConnection>(*this, io_, host);
  asio::post(io_, [this, connection, host, port, promise] {
    connection_ = connection;
    asio::co_spawn(io_, connection->run(host, port, promise), [connection, promise](std::exception_ptr e) {
      if (!e) return;
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      } catch (...) {
      }
      const Error error = Error::make(Errc::internal_error, "client connection failed: " + what);
      connection->lose(error, false);
      try {
        promise->set_value(error);
      } catch (const std::future_error&) {  // the handshake had already answered
      }
    });
  });
  // The connection enforces connect_timeout itself; the margin only guards a wedged I/O thread.
  if (future.wait_for(config_.connect_timeout + std::chrono::seconds(2)) != std::future_status::ready) {
    close();
    const Error error = Error::make(Errc::connect_timeout, fmt::format("connecting to {}:{} timed out", host, port));
    set_error(error);
    return error;
  }
  return future.get();
}

void Client::close() {
  std::promise<void> done;
  asio::post(io_, [this, &done] {
    if (connection_) {
      connection_->lose(Error::make(Errc::not_connected, "the connection was closed by its owner"), false);
      connection_.reset();
    }
    done.set_value();
  });
  done.get_future().wait();
}

void Client::submit(std::uint64_t rid, Expected<OutgoingFrame> frame, std::shared_ptr<PendingRequest> pending) {
  asio::post(io_, [this, rid, frame = std::move(frame), pending = std::move(pending)]() mutable {
    if (!frame) {
      pending->fail(frame.error());
      return;
    }
    if (!connection_ || !connection_->alive()) {
      const auto last = last_error();
      pending->fail(Error::make(Errc::not_connected, last ? "not connected to the cloud: " + last->message
                                                          : std::string("not connected to the cloud")));
      return;
    }
    connection_->add(rid, std::move(pending), std::move(frame).value());
  });
}

void Client::infer(InferRequest request, InferCallback done, SentCallback sent) {
  const std::uint64_t rid = next_request_id_++;
  auto pending = std::make_shared<PendingRequest>();
  pending->kind = PendingRequest::Kind::infer;
  pending->on_infer = std::move(done);
  pending->on_sent = std::move(sent);
  pending->deadline_ms = request.deadline_ms;
  auto frame = encode_message(request, rid);
  if (frame) {
    std::shared_ptr<ClientConnection> direct;
    {
      std::lock_guard lock(direct_mutex_);
      direct = direct_;
    }
    if (direct && direct->write_directly(rid, pending, frame.value())) return;
  }
  submit(rid, std::move(frame), std::move(pending));
}

void Client::set_direct(std::shared_ptr<ClientConnection> connection) {
  std::lock_guard lock(direct_mutex_);
  direct_ = std::move(connection);
}

void Client::clear_direct(const ClientConnection* connection) {
  std::lock_guard lock(direct_mutex_);
  if (direct_.get() == connection) direct_.reset();
}

std::future<Expected<InferResult>> Client::infer(InferRequest request) {
  auto promise = std::make_shared<std::promise<Expected<InferResult>>>();
  auto future = promise->get_future();
  infer(std::move(request), [promise](Expected<InferResult> r) { promise->set_value(std::move(r)); });
  return future;
}

void Client::probe(std::uint32_t bytes, std::uint32_t reply_bytes, ProbeCallback done) {
  const std::uint64_t rid = next_request_id_++;
  auto pending = std::make_shared<PendingRequest>();
  pending->kind = PendingRequest::Kind::probe;
  pending->on_probe = std::move(done);
  submit(rid, encode_message(Probe{reply_bytes, bytes}, rid), std::move(pending));
}

std::future<Expected<ProbeResult>> Client::probe(std::uint32_t bytes, std::uint32_t reply_bytes) {
  auto promise = std::make_shared<std::promise<Expected<ProbeResult>>>();
  auto future = promise->get_future();
  probe(bytes, reply_bytes, [promise](Expected<ProbeResult> r) { promise->set_value(std::move(r)); });
  return future;
}

std::future<Expected<CloudLoad>> Client::status() {
  auto promise = std::make_shared<std::promise<Expected<CloudLoad>>>();
  auto future = promise->get_future();
  const std::uint64_t rid = next_request_id_++;
  auto pending = std::make_shared<PendingRequest>();
  pending->kind = PendingRequest::Kind::status;
  pending->on_status = [promise](Expected<CloudLoad> r) { promise->set_value(std::move(r)); };
  submit(rid, encode_status_request(rid), std::move(pending));
  return future;
}

}  // namespace tandem::net
