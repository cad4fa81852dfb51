#pragma once
// Fixtures shared by the tests/net tests: keys, an echo handler, a server
// fixture, and a raw peer that speaks (or abuses) the protocol byte by byte.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/auth.hpp"
#include "net/frame.hpp"
#include "net/messages.hpp"
#include "net/server.hpp"
#include "net/tensor_codec.hpp"

namespace tandem::net::test {

inline constexpr std::uint64_t k_toy_fingerprint = 0x1234'5678'9abc'def0ull;
inline constexpr auto k_wait_bound = std::chrono::seconds(20);

/// A valid 32-byte key made of `fill`.
AuthKey make_key(char fill = 'k');

/// Encodes tensors into one frame and decodes them back from its payload bytes,
/// as a peer would. Throws std::runtime_error naming the step that failed.
std::vector<WireTensor> round_trip(const std::vector<WireTensor>& in);

/// A hand-written tensor record (net/tensor_codec.hpp's layout, node 5) announcing
/// `byte_length` and followed by `data` as it is: what an encoder never writes.
std::shared_ptr<std::vector<std::byte>> tensor_record(std::uint8_t dtype, std::uint8_t codec,
                                                      const std::vector<std::int64_t>& dims, std::uint64_t byte_length,
                                                      const std::vector<std::byte>& data);

/// Waits until pred() holds, polling, at most `bound`; returns pred()'s final value.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds bound = k_wait_bound);

/// Serves model "toy" (fingerprint k_toy_fingerprint). By default replies with the request's
/// tensors; with hold(true) it keeps responders until release()/drop().
class EchoHandler : public ServerHandler {
 public:
  std::optional<Error> check_models(const std::vector<ModelFingerprint>& models) override;
  void infer(const InferContext& context, InferRequest request, Responder responder) override;

  void hold(bool on);
  /// Number of held requests.
  std::size_t held() const;
  /// Replies to held requests (echo), last-received first.
  void release_reversed();
  /// Destroys held responders without replying.
  void drop();
  /// Threads that ran check_models (I/O) and infer (workers).
  std::vector<std::thread::id> io_threads() const;
  std::vector<std::thread::id> worker_threads() const;

 private:
  mutable std::mutex mutex_;
  bool hold_ = false;
  std::vector<std::pair<InferRequest, Responder>> held_;
  std::vector<std::thread::id> io_threads_, worker_threads_;
};

/// A started server with an EchoHandler on 127.0.0.1, port 0.
struct ServerFixture {
  explicit ServerFixture(ServerConfig config = {});
  std::shared_ptr<EchoHandler> handler = std::make_shared<EchoHandler>();
  std::unique_ptr<Server> server;
};

/// A blocking socket peer with a receive timeout, for feeding the server exact bytes.
class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port);
  /// Reads one frame; nullopt on EOF, timeout or a frame the parser rejects.
  std::optional<Frame> read_frame();
  /// Reads the CHALLENGE and answers with a valid HELLO for `models`; expects HELLO_ACK.
  bool handshake(const AuthKey& key, std::vector<ModelFingerprint> models);
  /// The server nonce from the CHALLENGE (read_challenge() must have run).
  Challenge read_challenge();
  void send(const std::vector<std::byte>& bytes);
  void send(const OutgoingFrame& frame);
  void shutdown_send();
  /// Reads frames until EOF: the last ERROR received on this connection (also by earlier
  /// calls) and whether the server closed.
  struct Ending {
    std::optional<ErrorMessage> error;
    bool closed = false;
  };
  Ending read_until_closed();

 private:
  /// One read of at most 10 s; timed_out in `ec` when nothing came.
  std::size_t read_some(std::span<std::byte> into, boost::system::error_code& ec);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::vector<std::byte> buffered_;
  std::optional<ErrorMessage> seen_error_;  // the last ERROR read by any method
};

/// The bytes of a finished frame (header + payload), concatenated.
std::vector<std::byte> frame_bytes(const OutgoingFrame& frame);

/// An INFER for "toy" with one f32 tensor of `n` values starting at `first`.
InferRequest toy_request(std::size_t n, float first, std::uint32_t deadline_ms = 0);

}  // namespace tandem::net::test
