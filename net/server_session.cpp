#include "net/server_session.hpp"

#include <algorithm>
#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/printable.hpp"
#include "net/thread_name.hpp"

namespace tandem::net {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr double k_service_ewma_alpha = 0.2;
constexpr std::uint32_t k_probe_ack_overhead = 64;

double ms_between(clock::time_point a, clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The wire code to send for an error: ours if it is one, else internal_error.
Errc wire_code(const Error& e) {
  if (e.code.category() == net_category() && is_wire_errc(static_cast<std::uint16_t>(e.code.value()))) {
    return static_cast<Errc>(e.code.value());
  }
  return Errc::internal_error;
}

void log_exception(std::exception_ptr e, std::uint64_t id, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("session {}: {} ended with an exception: {}", id, what, ex.what());
  }
}

}  // namespace

// ---- ServerState ------------------------------------------------------------

CloudLoad ServerState::load() const {
  std::lock_guard lock(mutex);
  return {queued, in_service, recent_service_ms};
}

bool ServerState::try_request_queued() {
  std::lock_guard lock(mutex);
  if (pending >= config.max_in_flight_total) return false;
  ++pending;
  ++queued;
  return true;
}

void ServerState::request_started() {
  std::lock_guard lock(mutex);
  if (queued > 0) --queued;
  ++in_service;
}

void ServerState::request_finished(bool started, double service_ms) {
  {
    std::lock_guard lock(mutex);
    if (started) {
      if (in_service > 0) --in_service;
      recent_service_ms = recent_service_ms == 0 ? service_ms
                                                 : (1 - k_service_ewma_alpha) * recent_service_ms + k_service_ewma_alpha * service_ms;
    } else if (queued > 0) {
      --queued;
    }
    if (pending > 0) --pending;
    ++stats.requests_completed;
  }
  changed.notify_all();
}

void ServerState::count(std::uint64_t ServerStats::*counter) {
  std::lock_guard lock(mutex);
  ++(stats.*counter);
}

// ---- Responder --------------------------------------------------------------

void Responder::reply(InferResult result) { state_->finish(std::move(result)); }

void Responder::fail(Errc code, std::string text) { state_->finish(Error::make(code, std::move(text))); }

void Responder::State::finish(Expected<InferResult> outcome) noexcept {
  if (done.exchange(true)) return;
  const auto now = clock::now();
  const bool was_started = started.load();
  const double service_ms = was_started ? ms_between(context.started_at, now) : 0.0;
  const std::uint64_t rid = context.request_id;
  try {
    Expected<OutgoingFrame> frame = Error::make(Errc::internal_error, "unset");
    if (outcome) {
      InferResult& result = outcome.value();
      result.queue_wait_ms = was_started ? std::max(0.0, ms_between(context.received_at, context.started_at)) : 0.0;
      result.receive = context.receive;
      if (result.compute_ms <= 0) result.compute_ms = service_ms;
      // The load this reply leaves behind: the request it answers is done.
      result.load = server->load();
      std::uint32_t& self = was_started ? result.load.in_service : result.load.queue_length;
      if (self > 0) --self;
      for (WireTensor& t : result.outputs) {
        if (t.owner) continue;  // unowned bytes: copy, the handler may free them once we return
        auto copy = std::make_shared<std::vector<std::byte>>(t.data.begin(), t.data.end());
        t.data = std::span<const std::byte>(*copy);
        t.owner = std::move(copy);
      }
      frame = encode_message(result, rid);
      if (!frame) {
        frame = encode_message(ErrorMessage{Errc::internal_error, "cloud produced an invalid result: " + frame.error().message},
                               rid, false);
      }
    } else {
      frame = encode_message(ErrorMessage{wire_code(outcome.error()), outcome.error().message}, rid, false);
    }
    // Queue the reply before counting the request finished, so stop() sees it written.
    if (auto s = session.lock()) s->complete(rid, std::move(frame));
  } catch (const std::exception& e) {
    spdlog::error("request {}: could not send the reply: {}", rid, e.what());
  }
  server->request_finished(was_started, service_ms);
}

Responder::State::~State() {
  if (!done.load()) finish(Error::make(Errc::internal_error, "the cloud dropped the request without a reply"));
}

// ---- Session ----------------------------------------------------------------

Session::Session(std::shared_ptr<ServerState> state, asio::thread_pool::executor_type workers, std::uint64_t id,
                 asio::ip::tcp::socket socket, std::function<void(std::uint64_t)> on_finished,
                 std::optional<Error> refusal)
    : state_(std::move(state)),
      workers_(workers),
      id_(id),
      account_(std::make_shared<ByteAccount>(state_->budget, state_->config.max_connection_bytes)),
      stream_(make_stream(std::move(socket), state_->config.tls)),
      on_finished_(std::move(on_finished)),
      refusal_(std::move(refusal)),
      reader_(state_->config.max_handshake_payload),
      writer_(*stream_, nullptr),
      watchdog_(stream_->socket().get_executor()) {
  // TLS state belongs to the session's strand: only a plain socket takes a
  // worker's direct write.
  direct_capable_ = !stream_->secure() && !refusal_;
  if (direct_capable_) writer_.set_gate(&gate_);
  boost::system::error_code ec;
  const auto remote = stream_->socket().remote_endpoint(ec);
  peer_ = ec ? std::string("?") : fmt::format("{}:{}", remote.address().to_string(), remote.port());
  reader_.set_account(account_);
}

void Session::start() {
  auto self = shared_from_this();
  const auto executor = stream_->socket().get_executor();
  asio::co_spawn(executor, read_loop(), [self](std::exception_ptr e) {
    log_exception(e, self->id_, "reader");
    self->reader_done_ = true;
    if (e) self->close_stream();
    self->maybe_finish();
  });
  asio::co_spawn(executor, writer_.run(), [self](std::exception_ptr e, boost::system::error_code ec) {
    log_exception(e, self->id_, "writer");
    self->writer_done(e ? asio::error::operation_aborted : ec);
  });
  asio::co_spawn(executor, watchdog_loop(), [self](std::exception_ptr e) { log_exception(e, self->id_, "watchdog"); });
}

void Session::close_gracefully() {
  asio::post(stream_->socket().get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    if (self->in_flight_.empty()) {
      self->writer_.close_after_drain();
      if (!self->close_deadline_) self->close_deadline_ = clock::now() + self->state_->config.linger_timeout;
    }
  });
}

void Session::force_close() {
  asio::post(stream_->socket().get_executor(), [self = shared_from_this()] {
    self->writer_.stop();
    self->close_stream();
  });
}

void Session::complete(std::uint64_t request_id, Expected<OutgoingFrame> frame) {
  // On the worker's thread: a RESULT goes straight to the socket when the
  // session's writer is quiet (plain TCP), sparing the hop to the I/O
  // thread on the reply's path (docs/design.md §5); the strand then only
  // books it, and writes what the kernel did not take at once ahead of
  // anything queued since. The gate closes before the socket can (close_stream).
  std::optional<std::size_t> sent;
  if (frame && direct_capable_) sent = gate_.try_write(*stream_, frame.value());
  asio::post(stream_->socket().get_executor(),
             [self = shared_from_this(), request_id, frame = std::move(frame), sent]() mutable {
               self->in_flight_.erase(request_id);
               if (sent) {
                 if (*sent < frame.value().wire_size()) self->send_remainder(std::move(frame).value(), *sent);
               } else if (!self->failed_) {
                 self->send(std::move(frame));
               }
               if ((self->peer_done_ || self->closing_) && self->in_flight_.empty()) self->writer_.close_after_drain();
             });
}

void Session::send_remainder(OutgoingFrame frame, std::size_t sent) {
  // Charged as send() charges a reply, for the bytes still to write.
  const std::size_t rest = frame.wire_size() - sent;
  account_->charge(rest);
  frame.keep_alive(hold_charge(account_, rest));
  writer_.push_remainder(std::move(frame), sent);
  if (writer_.pending_bytes() > state_->config.max_connection_bytes) {
    drop_slow_reader(fmt::format("{} bytes of replies are waiting to be written, more than the {} bytes a connection may "
                                 "hold",
                                 writer_.pending_bytes(), state_->config.max_connection_bytes));
  }
}

void Session::close_stream() {
  gate_.close();
  stream_->close();
}

void Session::send(Expected<OutgoingFrame> frame, std::shared_ptr<const void> charge) {
  if (!frame) {
    spdlog::error("session {}: could not encode a frame: {}", id_, frame.error().message);
    return;
  }
  OutgoingFrame f = std::move(frame).value();
  if (!charge) {
    // A reply that exists already: charged even past the limits, which then refuse new input.
    account_->charge(f.wire_size());
    charge = hold_charge(account_, f.wire_size());
  }
  f.keep_alive(std::move(charge));
  writer_.push(std::move(f));
  if (writer_.pending_bytes() > state_->config.max_connection_bytes) {
    drop_slow_reader(fmt::format("{} bytes of replies are waiting to be written, more than the {} bytes a connection may "
                                 "hold",
                                 writer_.pending_bytes(), state_->config.max_connection_bytes));
  }
}

void Session::refuse_request(std::uint64_t request_id, const std::string& why) {
  state_->count(&ServerStats::requests_refused);
  if (!warned_overload_) {
    warned_overload_ = true;
    spdlog::warn("session {} ({}): {}; answering ERROR overloaded (later refusals on this connection are only counted)",
                 id_, peer_, why);
  }
  send(encode_message(ErrorMessage{Errc::overloaded, why}, request_id, false));
}

std::string Session::budget_state() const {
  return fmt::format("this connection holds {} of its {} bytes, the server {} of {}", account_->used(),
                     account_->limit(), state_->budget->used(), state_->budget->limit());
}

void Session::reject(const Error& error, std::uint64_t request_id) {
  if (failed_) return;
  failed_ = true;
  spdlog::warn("session {} ({}): {}; sending ERROR and closing", id_, peer_, error.message);
  if (!refusal_) state_->count(&ServerStats::sessions_rejected);
  send(encode_message(ErrorMessage{wire_code(error), error.message}, request_id, true));
  writer_.close_after_drain();
  close_deadline_ = clock::now() + state_->config.linger_timeout;
}

void Session::drop_slow_reader(const std::string& why) {
  if (finished_) return;
  spdlog::warn("session {} ({}): {}; the peer is not reading its replies: closing", id_, peer_, why);
  state_->count(&ServerStats::slow_readers_closed);
  failed_ = true;
  writer_.stop();
  close_stream();
}

void Session::writer_done(boost::system::error_code ec) {
  if (!ec) {
    // Everything is written: send FIN and let the peer close first, so our ERROR is not
    // destroyed by a reset caused by bytes we never read.
    stream_->shutdown_send();
    if (!close_deadline_) close_deadline_ = clock::now() + state_->config.linger_timeout;
  } else {
    close_stream();
  }
  writer_done_ = true;
  maybe_finish();
}

void Session::maybe_finish() {
  if (finished_ || !reader_done_ || !writer_done_) return;
  finished_ = true;
  close_stream();
  watchdog_.cancel();
  on_finished_(id_);
}

asio::awaitable<bool> Session::tls_handshake() {
  tls_pending_ = true;
  const boost::system::error_code ec = co_await stream_->handshake();
  tls_pending_ = false;
  if (!ec) co_return true;
  // No ERROR frame: without TLS there is no channel to send it on.
  spdlog::warn("session {} ({}): TLS handshake failed: {}; closing", id_, peer_,
               ec == asio::error::operation_aborted
                   ? fmt::format("no handshake within {} ms (a client without TLS?)",
                                 state_->config.handshake_timeout.count())
                   : printable(ec.message()));
  state_->count(&ServerStats::tls_failures);
  writer_.stop();
  close_stream();
  co_return false;
}

asio::awaitable<void> Session::read_loop() {
  handshake_deadline_ = clock::now() + state_->config.handshake_timeout;
  if (stream_->secure()) {
    const bool secured = co_await tls_handshake();
    if (!secured) co_return;
  }
  if (refusal_) {
    reject(*refusal_);
    co_await discard_until_closed();
    co_return;
  }
  auto nonce = random_nonce();
  if (!nonce) {
    reject(nonce.error());
    co_return;
  }
  server_nonce_ = nonce.value();
  send(encode_message(Challenge{k_protocol_version, server_nonce_, state_->config.server_name}));

  ReadOutcome hello = co_await reader_.read(*stream_);
  if (!handshake(hello)) {
    if (failed_) co_await discard_until_closed();
    co_return;
  }
  handshaking_ = false;
  reader_.set_max_payload(state_->config.max_payload);

  for (;;) {
    ReadOutcome in = co_await reader_.read(*stream_);
    if (failed_) break;
    if (in.protocol_error) {
      reject(*in.protocol_error);
      break;
    }
    if (in.io_error) {
      if (in.io_error == asio::error::eof) {
        peer_done_ = true;
        if (in_flight_.empty()) writer_.close_after_drain();
      } else {
        writer_.stop();
      }
      co_return;
    }
    const FrameHeader& header = in.frame.header;
    if (in.dropped) {
      state_->count(&ServerStats::frames_dropped);
      if (header.type == MessageType::infer || header.type == MessageType::probe ||
          header.type == MessageType::status_request) {
        refuse_request(header.request_id,
                       fmt::format("{} (request {}) of {} bytes does not fit the memory this server holds for its "
                                   "peers ({}); try again later",
                                   to_string(header.type), header.request_id, header.payload_length, budget_state()));
        continue;
      }
      // Any other frame is refused by dispatch() as it would be with its payload.
    }
    if (!dispatch(in)) break;
  }
  co_await discard_until_closed();
}

asio::awaitable<void> Session::discard_until_closed() {
  // Read and drop whatever the peer still sends until it closes (or the linger deadline
  // closes the socket), so closing does not reset the connection before our ERROR arrives.
  std::array<std::byte, 4096> sink{};
  for (;;) {
    const Transfer t = co_await stream_->read_some(asio::buffer(sink));
    if (t.ec) co_return;
  }
}

bool Session::handshake(ReadOutcome& in) {
  if (failed_) return false;
  if (in.protocol_error) {
    reject(*in.protocol_error);
    return false;
  }
  if (in.io_error) {
    writer_.stop();
    return false;
  }
  if (in.dropped) {
    reject(Error::make(Errc::overloaded, fmt::format("a {}-byte {} does not fit the memory this server holds for its "
                                                     "peers ({}); try again later",
                                                     in.frame.header.payload_length, to_string(in.frame.header.type),
                                                     budget_state())));
    return false;
  }
  if (in.frame.header.type != MessageType::hello) {
    reject(Error::make(Errc::unexpected_message, fmt::format("expected HELLO, got {}", to_string(in.frame.header.type))));
    return false;
  }
  auto hello = decode_hello(in.frame);
  if (!hello) {
    reject(hello.error());
    return false;
  }
  const Hello& h = hello.value();
  if (h.protocol_version != k_protocol_version) {
    reject(Error::make(Errc::unsupported_version, fmt::format("client speaks protocol version {}, this server speaks {}",
                                                              h.protocol_version, k_protocol_version)));
    return false;
  }
  const auto expected = client_proof(state_->key, server_nonce_, h.client_nonce);
  if (!expected) {
    reject(expected.error());
    return false;
  }
  if (!constant_time_equal(expected.value(), h.proof)) {
    reject(Error::make(Errc::auth_failed, fmt::format("client '{}': HELLO proof does not match this server's key",
                                                      printable(h.client_name))));
    return false;
  }
  std::optional<Error> refusal;
  try {
    refusal = state_->handler->check_models(h.models);
  } catch (const std::exception& e) {
    refusal = Error::make(Errc::internal_error, fmt::format("checking the client's models failed: {}", e.what()));
  }
  if (refusal) {
    reject(*refusal);
    return false;
  }
  const auto proof = server_proof(state_->key, server_nonce_, h.client_nonce);
  if (!proof) {
    reject(proof.error());
    return false;
  }
  client_name_ = h.client_name;
  send(encode_message(HelloAck{k_protocol_version, state_->config.server_name, proof.value(), state_->load()}));
  state_->count(&ServerStats::handshakes_completed);
  spdlog::info("session {} ({}): client '{}' authenticated with {} model(s){}", id_, peer_, printable(client_name_),
               h.models.size(), stream_->secure() ? " over TLS" : "");
  return true;
}

bool Session::dispatch(ReadOutcome& in) {
  const FrameHeader& header = in.frame.header;
  switch (header.type) {
    case MessageType::infer: {
      auto request = decode_infer(in.frame);
      if (!request) {
        reject(request.error(), header.request_id);
        return false;
      }
      if (in_flight_.contains(header.request_id)) {
        reject(Error::make(Errc::malformed_payload, fmt::format("request id {} is already in flight", header.request_id)),
               header.request_id);
        return false;
      }
      handle_infer(in, std::move(request).value());
      return true;
    }
    case MessageType::probe:
      return reply_to_probe(in);
    case MessageType::status_request:
      if (header.payload_length != 0) {
        reject(Error::make(Errc::malformed_payload, "status_request payload must be empty"), header.request_id);
        return false;
      }
      send(encode_message(Status{state_->load()}, header.request_id));
      return true;
    case MessageType::error: {
      auto error = decode_error(in.frame);
      spdlog::warn("session {} ({}): client reported: {}", id_, peer_,
                   error ? printable(error.value().text, k_max_error_text) : error.error().message);
      writer_.close_after_drain();
      return false;
    }
    default:
      reject(Error::make(Errc::unexpected_message, fmt::format("unexpected {} after the handshake", to_string(header.type))),
             header.request_id);
      return false;
  }
}

bool Session::reply_to_probe(const ReadOutcome& in) {
  const FrameHeader& header = in.frame.header;
  auto probe = decode_probe(in.frame);
  if (!probe) {
    reject(probe.error(), header.request_id);
    return false;
  }
  const ServerConfig& c = state_->config;
  const std::uint32_t limit = std::min(c.max_probe_reply, c.max_payload - std::min(c.max_payload, k_probe_ack_overhead));
  const std::uint32_t reply_bytes = probe.value().reply_bytes;
  if (reply_bytes > limit) {
    reject(Error::make(Errc::malformed_payload,
                       fmt::format("probe asks for {} reply bytes, the limit is {}", reply_bytes, limit)),
           header.request_id);
    return false;
  }
  // The ack's filler costs no memory (it is one shared block), but it is queued bytes all the
  // same: charge it, so that probes nobody reads cannot pile up.
  const std::size_t reply_size = k_header_size + k_probe_ack_overhead + reply_bytes;
  if (!account_->try_charge(reply_size)) {
    refuse_request(header.request_id, fmt::format("a probe reply of {} bytes does not fit the memory this server holds "
                                                  "for its peers ({}); try again later",
                                                  reply_size, budget_state()));
    return true;
  }
  send(encode_message(ProbeAck{header.payload_length, in.timing, reply_bytes}, header.request_id),
       hold_charge(account_, reply_size));
  return true;
}

void Session::handle_infer(ReadOutcome& in, InferRequest request) {
  const std::uint64_t rid = in.frame.header.request_id;
  if (closing_ || state_->stopping.load()) {
    send(encode_message(ErrorMessage{Errc::shutting_down, "the cloud is shutting down"}, rid, false));
    return;
  }
  const ServerConfig& c = state_->config;
  if (in_flight_.size() >= c.max_in_flight_per_connection) {
    refuse_request(rid, fmt::format("request {}: {} requests are in flight on this connection already, the most it may "
                                    "have (cloud_daemon --max-in-flight); try again when one is answered",
                                    rid, in_flight_.size()));
    return;
  }
  if (!state_->try_request_queued()) {
    refuse_request(rid, fmt::format("request {}: the server has {} requests in flight, the most it takes "
                                    "(cloud_daemon --max-in-flight-total); try again later",
                                    rid, c.max_in_flight_total));
    return;
  }
  in_flight_.insert(rid);
  auto rs = std::make_shared<Responder::State>();
  rs->server = state_;
  rs->session = weak_from_this();
  rs->context.session_id = id_;
  rs->context.request_id = rid;
  rs->context.client_name = client_name_;
  rs->context.receive = in.timing;
  rs->context.received_at = clock::now();
  // Inference never runs on an I/O thread: the handler is called on the worker pool.
  asio::post(workers_, [rs, request = std::move(request)]() mutable {
    thread_local const bool named = (name_this_thread("tandem-worker"), true);
    (void)named;
    rs->context.started_at = clock::now();
    rs->started = true;
    rs->server->request_started();
    const double waited_ms = ms_between(rs->context.received_at, rs->context.started_at);
    Responder responder(rs);
    if (request.deadline_ms > 0 && waited_ms > request.deadline_ms) {
      responder.fail(Errc::deadline_exceeded, fmt::format("request {} waited {:.1f} ms in the cloud queue; its deadline was {} ms",
                                                          rs->context.request_id, waited_ms, request.deadline_ms));
      return;
    }
    const InferContext context = rs->context;
    const std::shared_ptr<ServerHandler> handler = rs->server->handler;
    rs.reset();  // from here the responder copies alone decide when the request counts as dropped
    try {
      handler->infer(context, std::move(request), responder);
    } catch (const std::exception& e) {
      responder.fail(Errc::internal_error, fmt::format("request {}: {}", context.request_id, e.what()));
    } catch (...) {
      responder.fail(Errc::internal_error, fmt::format("request {}: unknown exception", context.request_id));
    }
  });
}

asio::awaitable<void> Session::watchdog_loop() {
  const auto& c = state_->config;
  const auto shortest = std::min({c.handshake_timeout, c.stall_timeout, c.linger_timeout});
  const auto period = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(5),
                                                            std::chrono::milliseconds(500));
  auto self = shared_from_this();
  while (!finished_) {
    boost::system::error_code ec;
    watchdog_.expires_after(period);
    co_await watchdog_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (finished_) break;
    const auto now = clock::now();
    boost::system::error_code ignored;
    if (close_deadline_ && now > *close_deadline_) {
      writer_.stop();
      close_stream();
      continue;
    }
    if (tls_pending_) {
      if (now > handshake_deadline_) close_stream();  // the handshake ends with operation_aborted
      continue;
    }
    if (failed_) continue;
    if (!writer_.idle() && now - writer_.last_progress() > c.stall_timeout) {
      drop_slow_reader(fmt::format("nothing could be written for {} ms while {} bytes of replies wait",
                                   c.stall_timeout.count(), writer_.pending_bytes()));
    } else if (handshaking_ && now > handshake_deadline_) {
      reject(Error::make(Errc::handshake_timeout, fmt::format("no HELLO within {} ms", c.handshake_timeout.count())));
      stream_->socket().shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
    } else if (!handshaking_ && reader_.mid_frame() && now - reader_.last_activity() > c.stall_timeout) {
      reject(Error::make(Errc::stalled, fmt::format("no bytes for {} ms in the middle of a frame", c.stall_timeout.count())));
      stream_->socket().shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
    }
  }
}

}  // namespace tandem::net
