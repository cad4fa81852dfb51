#pragma once
// Frame I/O over an Asio TCP socket, shared by the server sessions and the
// client: a reader that parses frames incrementally (receiving big payloads
// straight into their buffer) and timestamps their first and last bytes, and
// a write queue with one outstanding gather write.
//
// Both must only be used from the executor (strand) that owns the socket.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/errors.hpp"
#include "net/frame.hpp"
#include "net/messages.hpp"
#include "net/parser.hpp"

namespace tandem::net {

class LinkEmulator;

struct ReadOutcome {
  boost::system::error_code io_error;   // socket failure, EOF between frames, cancellation
  std::optional<Error> protocol_error;  // the peer sent something invalid or stopped mid-frame
  Frame frame;
  ReceiveTiming timing;  // first to last byte of this frame

  bool ok() const noexcept { return !io_error && !protocol_error; }
};

/// Reads whole frames from a socket. Not thread-safe.
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_payload);

  /// Reads the next frame; reports errors in the outcome (EOF mid-frame is truncated_frame),
  /// never throws except bad_alloc. Call from the socket's executor.
  boost::asio::awaitable<ReadOutcome> read(boost::asio::ip::tcp::socket& socket);
  /// True when part of a frame has arrived but not all of it.
  bool mid_frame() const noexcept { return parser_.mid_frame() || parser_.frame_bytes_seen() > 0; }
  /// When the last bytes arrived (for stall detection).
  std::chrono::steady_clock::time_point last_activity() const noexcept { return chunk_time_; }
  /// Changes the payload limit for the next frame headers.
  void set_max_payload(std::uint32_t max_payload) noexcept { parser_.set_max_payload(max_payload); }

 private:
  ReadOutcome finish();

  FrameParser parser_;
  std::vector<std::byte> staging_;
  std::size_t staged_begin_ = 0;
  std::size_t staged_end_ = 0;
  std::chrono::steady_clock::time_point chunk_time_{};
  std::chrono::steady_clock::time_point frame_start_{};
  std::size_t first_chunk_bytes_ = 0;
};

/// Queue of outgoing frames drained by one writer coroutine; queued frames are
/// coalesced into one gather write. Not thread-safe: use from the socket's executor.
class WriteQueue {
 public:
  /// `emulator` (may be null) shapes the bytes; it must outlive the queue.
  WriteQueue(boost::asio::ip::tcp::socket& socket, LinkEmulator* emulator);

  /// Queues a frame and wakes the writer; never blocks. `written` (optional)
  /// runs on the socket's executor once the frame has been handed to the
  /// socket (or, with an emulator, released at the link rate); never when
  /// the write fails or the queue stops first.
  void push(OutgoingFrame frame, std::function<void()> written = {});
  /// Writes queued frames until stop(), close_after_drain() with an empty queue, or an error,
  /// which it returns (none for a normal end).
  boost::asio::awaitable<boost::system::error_code> run();
  /// Ends run() as soon as the current write finishes; queued frames are dropped.
  void stop();
  /// Ends run() once everything queued has been written.
  void close_after_drain();
  /// True when nothing is queued or being written.
  bool idle() const noexcept { return queue_.empty() && !writing_; }
  /// Write system calls made so far (without an emulator): a batch the socket can take at
  /// once is one call, whatever its size.
  std::size_t write_calls() const noexcept { return write_calls_; }

 private:
  boost::asio::awaitable<boost::system::error_code> write_all(std::vector<boost::asio::const_buffer> buffers);

  boost::asio::ip::tcp::socket& socket_;
  LinkEmulator* emulator_;
  boost::asio::steady_timer wake_;
  struct Queued {
    OutgoingFrame frame;
    std::function<void()> written;
  };
  std::deque<Queued> queue_;
  bool writing_ = false;
  bool stopped_ = false;
  bool drain_then_stop_ = false;
  std::size_t write_calls_ = 0;
};

}  // namespace tandem::net
