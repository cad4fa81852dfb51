#pragma once
// The edge side of the protocol: one connection to a cloud server, the
// handshake (messages.hpp), INFER requests with per-request deadlines and
// several in flight at once, PROBEs for bandwidth and RTT, STATUS queries.
//
// Threading: the client owns one I/O thread. Public methods may be called
// from any other thread; infer(), probe() and status() never block and may
// also be called from a callback. Callbacks run on the I/O thread and must
// not block (hand the result to your own thread, or do only what never
// waits). On a plain connection without link emulation, infer() writes its
// frame to the socket on the calling thread when nothing else is being
// written (a non-blocking sendmsg; the I/O thread writes whatever the kernel
// did not take), so a request does not wait for the I/O thread to wake.
// Every request's callback is called exactly once: with its result, or with
// an Error — deadline_exceeded, the cloud's ERROR code, or connection_lost
// when the connection drops (every in-flight request fails at once).
//
// Reconnecting is the caller's job: check connected(), read last_error(),
// call connect() again with whatever back-off it likes.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "net/auth.hpp"
#include "net/bandwidth_monitor.hpp"
#include "net/errors.hpp"
#include "net/link_emulator.hpp"
#include "net/messages.hpp"
#include "net/tls.hpp"

namespace tandem::net {

struct ClientConfig {
  std::string client_name = "tandem-edge";
  std::vector<ModelFingerprint> models;  // announced at handshake
  std::uint32_t max_payload = k_default_max_payload;
  std::chrono::milliseconds connect_timeout{5'000};  // TCP connect + handshake
  LinkSpec link;  // emulation of this client's uplink; passthrough by default
  std::shared_ptr<BandwidthMonitor> monitor;  // optional: fed by every RESULT (passive) and PROBE_ACK
  // TCP_NOTSENT_LOWAT: unsent bytes the kernel may hold; 0 leaves the
  // system default (a socket buffer of megabytes, seconds of a slow link).
  std::uint32_t notsent_lowat = 128 * 1024;
  // infer()'s `sent` callback waits until the kernel holds at most this many
  // bytes of the connection (unsent or sent and unacknowledged, SIOCOUTQ):
  // a shaped link's queue (a tbf qdisc, a modem's buffer) would otherwise
  // hide whole transfers behind "written". 0: `sent` runs once written.
  std::uint32_t sent_backlog = 64 * 1024;
  std::shared_ptr<const TlsContext> tls;  // null: plain TCP; else a TlsRole::client context (tls.hpp)
};

struct ProbeResult {
  std::uint64_t frame_bytes = 0;  // the probe as sent, header included
  double round_trip_ms = 0;       // from queuing the probe to its ack
  double rtt_ms = 0;              // round trip minus the transfer time the cloud measured
  ReceiveTiming receive;          // as the cloud measured it
  std::optional<double> bandwidth_bytes_per_s;  // none when the transfer was too short to time
};

using InferCallback = std::function<void(Expected<InferResult>)>;
using SentCallback = std::function<void()>;
using ProbeCallback = std::function<void(Expected<ProbeResult>)>;
using StatusCallback = std::function<void(Expected<CloudLoad>)>;

class ClientConnection;
struct PendingRequest;

class Client {
 public:
  Client(ClientConfig config, AuthKey key);
  /// Closes the connection (failing in-flight requests) and joins the I/O thread.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Connects and handshakes (TLS first when configured), replacing any previous connection.
  /// Blocks up to connect_timeout. Returns the server's HELLO_ACK, or an Error: a socket error,
  /// a TLS failure (OpenSSL's reason: an unverifiable certificate, a server without TLS),
  /// connect_timeout, the cloud's refusal (its ERROR code: auth_failed, unknown_model,
  /// fingerprint_mismatch, overloaded, ...), or auth_failed when the server cannot prove it
  /// holds the key. Not from the I/O thread.
  Expected<HelloAck> connect(const std::string& host, std::uint16_t port);
  /// True between a successful connect() and the connection's loss or close(). Thread-safe.
  bool connected() const noexcept { return connected_.load(); }
  /// Why the last connection attempt failed or the last connection was lost. Thread-safe.
  std::optional<Error> last_error() const;
  /// Sends INFER. `done` gets the RESULT, or an Error (not_connected, deadline_exceeded after
  /// request.deadline_ms if non-zero, the cloud's ERROR, connection_lost). `sent` (optional) runs
  /// on the I/O thread once the request has been written to the socket (or released by the link
  /// emulator) and the kernel holds at most sent_backlog bytes of the connection — the request is
  /// then (nearly) across the link; it does not run when the request fails before that, and may
  /// run after `done`. Tensor bytes without an owner must stay valid until
  /// `done` runs. Encodes (and, when the connection is idle, writes) on the calling thread;
  /// never blocks.
  void infer(InferRequest request, InferCallback done, SentCallback sent = {});
  /// infer() with a future instead of a callback.
  std::future<Expected<InferResult>> infer(InferRequest request);
  /// Sends a PROBE of `bytes` filler bytes asking for `reply_bytes` back; never blocks.
  void probe(std::uint32_t bytes, std::uint32_t reply_bytes, ProbeCallback done);
  /// probe() with a future.
  std::future<Expected<ProbeResult>> probe(std::uint32_t bytes, std::uint32_t reply_bytes = 0);
  /// Asks the cloud for its load; never blocks.
  std::future<Expected<CloudLoad>> status();
  /// Closes the connection; in-flight requests fail with not_connected before it returns.
  /// Blocking (briefly); not from the I/O thread. Idempotent.
  void close();
  /// Requests sent and not yet answered. Thread-safe.
  std::size_t in_flight() const noexcept { return in_flight_.load(); }

 private:
  friend class ClientConnection;
  void connection_lost(const Error& error);
  void set_error(const Error& error);
  void submit(std::uint64_t request_id, Expected<OutgoingFrame> frame, std::shared_ptr<PendingRequest> pending);
  void set_direct(std::shared_ptr<ClientConnection> connection);
  void clear_direct(const ClientConnection* connection);

  ClientConfig config_;
  AuthKey key_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::shared_ptr<ClientConnection> connection_;  // I/O thread only
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> next_request_id_{1};
  std::atomic<std::size_t> in_flight_{0};
  mutable std::mutex error_mutex_;
  std::optional<Error> last_error_;
  // The live connection when infer() may write to it from the caller's
  // thread (plain TCP, no emulation; ClientConnection::write_directly).
  std::mutex direct_mutex_;
  std::shared_ptr<ClientConnection> direct_;
};

}  // namespace tandem::net
