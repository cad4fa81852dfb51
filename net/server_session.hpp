#pragma once
// Internal to tandem_net: one server connection and the state it shares with
// the Server and with Responders. Not part of the public API.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "net/byte_budget.hpp"
#include "net/frame_io.hpp"
#include "net/server.hpp"
#include "net/stream.hpp"

namespace tandem::net {

/// Configuration, key, handler and load counters; outlives the Server if a Responder does.
struct ServerState {
  ServerState(ServerConfig c, AuthKey k, std::shared_ptr<ServerHandler> h)
      : config(std::move(c)),
        key(std::move(k)),
        handler(std::move(h)),
        budget(std::make_shared<ByteBudget>(config.max_total_bytes)) {}

  const ServerConfig config;
  const AuthKey key;
  const std::shared_ptr<ServerHandler> handler;
  const std::shared_ptr<ByteBudget> budget;  // bytes held for every connection together
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t pending = 0;  // accepted INFERs not yet answered
  std::uint32_t queued = 0;
  std::uint32_t in_service = 0;
  double recent_service_ms = 0;
  ServerStats stats;

  CloudLoad load() const;
  /// Counts an accepted INFER, unless max_in_flight_total are pending already (then false).
  bool try_request_queued();
  void request_started();
  void request_finished(bool started, double service_ms);
  void count(std::uint64_t ServerStats::*counter);
};

struct Responder::State {
  std::shared_ptr<ServerState> server;
  std::weak_ptr<Session> session;
  InferContext context;
  std::atomic<bool> started{false};
  std::atomic<bool> done{false};

  void finish(Expected<InferResult> outcome) noexcept;
  ~State();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  /// With a `refusal`, the session only delivers it (ERROR, closing) and ends: a connection
  /// over the server's cap.
  Session(std::shared_ptr<ServerState> state, boost::asio::thread_pool::executor_type workers, std::uint64_t id,
          boost::asio::ip::tcp::socket socket, std::function<void(std::uint64_t)> on_finished,
          std::optional<Error> refusal = std::nullopt);

  /// Starts the reader, writer and watchdog coroutines on the session's strand.
  void start();
  /// From any thread: refuse new requests, close once in-flight replies are written.
  void close_gracefully();
  /// From any thread: close the socket now.
  void force_close();
  /// From any thread: queue the reply to one request.
  void complete(std::uint64_t request_id, Expected<OutgoingFrame> frame);

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<bool> tls_handshake();
  boost::asio::awaitable<void> discard_until_closed();
  boost::asio::awaitable<void> watchdog_loop();
  bool handshake(ReadOutcome& in);
  bool dispatch(ReadOutcome& in);
  bool reply_to_probe(const ReadOutcome& in);
  void handle_infer(ReadOutcome& in, InferRequest request);
  /// Answers one request with ERROR overloaded; the connection stays up.
  void refuse_request(std::uint64_t request_id, const std::string& why);
  std::string budget_state() const;
  /// Queues a frame; `charge` holds its bytes on the account (charged here when null).
  void send(Expected<OutgoingFrame> frame, std::shared_ptr<const void> charge = nullptr);
  void reject(const Error& error, std::uint64_t request_id = 0);
  /// Disconnects a peer that does not read its replies; no ERROR (it would not be read).
  void drop_slow_reader(const std::string& why);
  void writer_done(boost::system::error_code ec);
  /// Closes the gate, then the socket: no worker writes to a closed (or reused) descriptor.
  void close_stream();
  /// Queues the rest of a RESULT a worker wrote the first `sent` bytes of (complete()).
  void send_remainder(OutgoingFrame frame, std::size_t sent);
  void maybe_finish();

  std::shared_ptr<ServerState> state_;
  boost::asio::thread_pool::executor_type workers_;
  std::uint64_t id_;
  std::shared_ptr<ByteAccount> account_;  // this connection's share of state_->budget
  std::unique_ptr<Stream> stream_;
  std::string peer_;
  std::function<void(std::uint64_t)> on_finished_;
  std::optional<Error> refusal_;
  FrameReader reader_;
  // A worker may write a RESULT itself while the writer is quiet (complete();
  // plain TCP only). Closed before the socket can close (close_stream).
  DirectWriteGate gate_;
  bool direct_capable_ = false;
  WriteQueue writer_;
  boost::asio::steady_timer watchdog_;
  Nonce server_nonce_{};
  std::string client_name_;
  std::unordered_set<std::uint64_t> in_flight_;
  std::chrono::steady_clock::time_point handshake_deadline_{};
  std::optional<std::chrono::steady_clock::time_point> close_deadline_;
  bool handshaking_ = true;
  bool tls_pending_ = false;      // the TLS handshake is under way
  bool warned_overload_ = false;  // the first refusal on this connection was logged
  bool failed_ = false;     // an ERROR + close is under way
  bool peer_done_ = false;  // the peer stopped sending
  bool closing_ = false;    // the server is stopping
  bool reader_done_ = false;
  bool writer_done_ = false;
  bool finished_ = false;
};

}  // namespace tandem::net
