#pragma once
// Link emulation on the edge's socket (docs/design.md §7): outgoing bytes are paced
// by a token bucket at the configured rate and reach the socket after an
// added delay. Portable (no root, no qdisc); used by tests and demos.
//
// Delay model: only the edge's outgoing bytes are delayed, by the whole added
// round trip, and replies come back undelayed. For request/reply traffic this gives
// exactly the timings of a symmetric link — an RTT of 2 × delay — without
// touching the read path. The rate applies to the uplink only.
//
// Pacing: a chunk of bytes (about 1 ms of rate) is released at the start of
// its slot on a virtual clock that advances by chunk / rate. An idle link
// starts at "now" and accumulates no credit; during one write the clock is
// never reset, so late timer wake-ups are made up and the mean rate holds.

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/errors.hpp"
#include "net/stream.hpp"

namespace tandem::net {

/// What the emulator does to the edge's uplink. Parsed from the link syntax of
/// units/units.hpp by the daemon; net itself parses no text.
struct LinkSpec {
  double rate_bytes_per_s = 0;              // 0 = unlimited
  std::chrono::microseconds added_rtt{0};   // the round trip the link adds
  /// True when the spec changes nothing.
  bool is_passthrough() const noexcept { return rate_bytes_per_s <= 0 && added_rtt.count() == 0; }
};

/// Shapes the bytes written to one socket. Use from the socket's executor only.
class LinkEmulator {
 public:
  LinkEmulator(boost::asio::any_io_executor executor, LinkSpec spec);

  /// Paces `buffers` (copied) into the delay line; completes when the last chunk has been
  /// released at the link rate. Returns the delivery error if delivery has failed.
  boost::asio::awaitable<boost::system::error_code> write(std::vector<boost::asio::const_buffer> buffers);
  /// Writes released chunks to `stream` when their delay has passed, until stop() or an
  /// error (returned). The owner runs it alongside its writer and keeps `stream` alive.
  boost::asio::awaitable<boost::system::error_code> run_delivery(Stream& stream);
  /// Ends run_delivery() and write() promptly; undelivered bytes are dropped.
  void stop();
  const LinkSpec& spec() const noexcept { return spec_; }
  /// Bytes released into the delay line and not yet written to the socket.
  std::size_t pending_bytes() const noexcept;

 private:
  struct Chunk {
    std::chrono::steady_clock::time_point deliver_at;
    std::vector<std::byte> bytes;
  };

  LinkSpec spec_;
  std::size_t chunk_bytes_;
  boost::asio::steady_timer pace_timer_;
  boost::asio::steady_timer delivery_wake_;
  std::chrono::steady_clock::time_point next_free_{};
  std::deque<Chunk> line_;
  boost::system::error_code delivery_error_;
  bool stopped_ = false;
};

}  // namespace tandem::net
