#pragma once
// The cloud side of the protocol: accepts edge connections, runs the
// handshake (messages.hpp), then reads frames and hands every INFER to a
// user handler on a worker thread — never on an I/O thread — and writes the
// RESULT back when the handler replies. Many requests may be in flight per
// connection; replies go out in completion order, matched by request id.
//
// Bad input on a connection (garbage, truncated or oversized frames, wrong
// magic/version/checksum, malformed payloads, a wrong key, unknown models or
// mismatched fingerprints, stalls) earns that connection an ERROR frame with
// the closing flag and a close; other connections are unaffected.
//
// What peers can make the server hold is bounded (docs/design.md §6; each a
// ServerConfig field and a cloud_daemon flag):
//  * connections past max_connections get ERROR overloaded (closing) and are closed;
//  * an INFER past max_in_flight_per_connection, or past max_in_flight_total over
//    all connections, is answered at once with ERROR overloaded (the connection
//    stays up; the edge finishes that request itself);
//  * every byte held for a connection — a frame as it arrives, a request's payload
//    until the handler lets go of it, a reply until it is written — is charged to
//    that connection (max_connection_bytes) and to the server (max_total_bytes). A
//    frame that does not fit is read and thrown away and its request answered with
//    ERROR overloaded; announced lengths reserve nothing by themselves;
//  * PROBE replies are at most max_probe_reply bytes (more is refused and closes
//    the connection) and are charged like any reply;
//  * a peer whose unwritten replies exceed max_connection_bytes, or that reads
//    nothing for stall_timeout while replies wait, is disconnected.
// With `tls` set, every connection is TLS (stream.hpp, tls.hpp) and the HMAC
// handshake runs inside it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "net/auth.hpp"
#include "net/byte_budget.hpp"
#include "net/errors.hpp"
#include "net/messages.hpp"
#include "net/tls.hpp"

namespace tandem::net {

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the OS picks; read it back with Server::port()
  std::string server_name = "tandem-cloud";
  std::size_t io_threads = 1;
  std::size_t worker_threads = 1;  // threads that run ServerHandler::infer
  std::uint32_t max_payload = k_default_max_payload;
  std::uint32_t max_handshake_payload = 64 * 1024;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds stall_timeout{30'000};   // no bytes for this long in the middle of a frame
  std::chrono::milliseconds linger_timeout{2'000};   // after an ERROR, wait this long for the peer to close
  std::chrono::milliseconds stop_timeout{30'000};    // stop() waits this long for in-flight requests

  // Limits (see the top of this file). max_connection_bytes below max_payload means the
  // largest frames are always refused.
  std::size_t max_connections = 256;
  std::size_t max_in_flight_per_connection = 64;
  std::size_t max_in_flight_total = 256;
  std::size_t max_connection_bytes = std::size_t{512} << 20;
  std::size_t max_total_bytes = std::size_t{1} << 30;
  std::uint32_t max_probe_reply = 16u << 20;

  std::shared_ptr<const TlsContext> tls;  // null: plain TCP; else a TlsRole::server context
};

/// What the handler knows about one request.
struct InferContext {
  std::uint64_t session_id = 0;
  std::uint64_t request_id = 0;
  std::string client_name;
  ReceiveTiming receive;                             // first to last byte of the INFER frame
  std::chrono::steady_clock::time_point received_at;  // last byte of the INFER frame
  std::chrono::steady_clock::time_point started_at;   // a worker picked it up
};

/// Completes one request. Copyable handle; the first reply()/fail() wins, later ones are
/// ignored. Thread-safe: call from any thread. If every copy is destroyed without a reply,
/// the client gets ERROR internal_error, so no request is silently lost.
class Responder {
 public:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}

  /// Sends RESULT. The server fills queue wait, receive timing and load; `compute_ms`, if 0,
  /// becomes the time since the worker started. Output tensors without an owner are copied.
  /// Encodes on the calling thread; never blocks on the network; never throws except bad_alloc.
  void reply(InferResult result);
  /// Sends ERROR (not closing the connection) with `code` and `text`; never blocks.
  void fail(Errc code, std::string text);

 private:
  std::shared_ptr<State> state_;
};

/// Supplied by the server's user (the cloud daemon).
class ServerHandler {
 public:
  virtual ~ServerHandler() = default;
  /// Vets the models a client announced. Runs on an I/O thread: must not block. Returns nullopt
  /// to accept, or an Error (unknown_model / fingerprint_mismatch, text naming the model) to refuse.
  virtual std::optional<Error> check_models(const std::vector<ModelFingerprint>& models) = 0;
  /// Runs one request on a worker thread (never an I/O thread); may block while computing. Must
  /// eventually call responder.reply() or .fail(), from any thread. Exceptions are caught and
  /// become ERROR internal_error.
  virtual void infer(const InferContext& context, InferRequest request, Responder responder) = 0;
};

struct ServerStats {
  std::uint64_t sessions_accepted = 0;
  std::uint64_t handshakes_completed = 0;
  std::uint64_t sessions_rejected = 0;  // closed with an ERROR for bad input
  std::uint64_t requests_completed = 0;
  std::uint64_t connections_refused = 0;  // over max_connections: ERROR + close (not in sessions_accepted)
  std::uint64_t tls_failures = 0;         // TLS handshakes that failed or timed out
  std::uint64_t requests_refused = 0;     // INFER / PROBE / STATUS answered ERROR overloaded
  std::uint64_t frames_dropped = 0;       // frames read and thrown away: over the byte budget
  std::uint64_t slow_readers_closed = 0;  // disconnected: unwritten replies over the cap, or no reads
  std::size_t held_bytes = 0;             // bytes held for peers now (frames, requests, replies)
  std::size_t held_bytes_peak = 0;        // the most ever held at once
};

class Session;
struct ServerState;  // shared with sessions and responders (server_session.hpp)

/// Thread-safe public interface; owns its I/O threads and worker pool.
class Server {
 public:
  Server(ServerConfig config, AuthKey key, std::shared_ptr<ServerHandler> handler);
  /// Calls stop().
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts the I/O threads; returns the bind/listen error, if any
  /// (e.g. address in use). Blocks only for the bind. Call once.
  boost::system::error_code start();
  /// The port actually bound (the OS's choice for port 0); 0 before start(). Thread-safe.
  std::uint16_t port() const noexcept { return port_.load(); }
  /// Closes the acceptor, answers new INFERs with ERROR shutting_down, waits (bounded by
  /// stop_timeout) for in-flight requests to reply and their RESULTs to be written, closes
  /// every session and joins all threads. Blocking and idempotent; must not be called from
  /// the server's own I/O or worker threads.
  void stop();
  /// Current load (queue length, requests in service, recent service time). Thread-safe.
  CloudLoad load() const;
  /// Counters since start. Thread-safe.
  ServerStats stats() const;
  /// Open sessions (connections refused over the cap not included). Thread-safe.
  std::size_t session_count() const;

 private:
  boost::asio::awaitable<void> accept_loop();
  void remove_session(std::uint64_t id, bool refused);

  std::shared_ptr<ServerState> state_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::thread_pool workers_;
  std::vector<std::thread> io_threads_;
  std::atomic<std::uint16_t> port_{0};

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable sessions_changed_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;  // refused ones included
  std::size_t refusing_ = 0;  // sessions in sessions_ that only deliver a refusal
  std::uint64_t next_session_id_ = 1;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace tandem::net
