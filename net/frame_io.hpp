#pragma once
// Frame I/O over a Stream (plain TCP or TLS; stream.hpp), shared by the
// server sessions and the client: a reader that parses frames incrementally
// (receiving big payloads straight into their buffer, which grows with the
// bytes) and timestamps their first and last bytes, and a write queue with
// one outstanding gather write.
//
// Both must only be used from the executor (strand) that owns the stream.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/byte_budget.hpp"
#include "net/errors.hpp"
#include "net/frame.hpp"
#include "net/messages.hpp"
#include "net/parser.hpp"
#include "net/stream.hpp"

namespace tandem::net {

class LinkEmulator;

struct ReadOutcome {
  boost::system::error_code io_error;   // socket failure, EOF between frames, cancellation
  std::optional<Error> protocol_error;  // the peer sent something invalid or stopped mid-frame
  bool dropped = false;  // the payload did not fit the byte budget: read and thrown away (header only)
  Frame frame;
  ReceiveTiming timing;  // first to last byte of this frame

  /// A complete frame with its payload.
  bool ok() const noexcept { return !io_error && !protocol_error && !dropped; }
};

/// Reads whole frames from a stream. Not thread-safe.
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_payload);

  /// Reads the next frame; reports errors in the outcome (EOF mid-frame is truncated_frame),
  /// never throws except bad_alloc. Call from the stream's executor.
  boost::asio::awaitable<ReadOutcome> read(Stream& stream);
  /// True when part of a frame has arrived but not all of it.
  bool mid_frame() const noexcept { return parser_.mid_frame() || parser_.frame_bytes_seen() > 0; }
  /// When the last bytes arrived (for stall detection).
  std::chrono::steady_clock::time_point last_activity() const noexcept { return chunk_time_; }
  /// Changes the payload limit for the next frame headers.
  void set_max_payload(std::uint32_t max_payload) noexcept { parser_.set_max_payload(max_payload); }
  /// Charges payloads to `account` from the next frame on (parser.hpp).
  void set_account(std::shared_ptr<ByteAccount> account) noexcept { parser_.set_account(std::move(account)); }

 private:
  ReadOutcome finish(bool dropped);

  FrameParser parser_;
  std::vector<std::byte> staging_;
  std::size_t staged_begin_ = 0;
  std::size_t staged_end_ = 0;
  std::chrono::steady_clock::time_point chunk_time_{};
  std::chrono::steady_clock::time_point frame_start_{};
  std::size_t first_chunk_bytes_ = 0;
};

/// Lets a thread other than the stream's write a frame straight to an idle
/// plain-TCP socket (the client's caller, sparing the hop to its I/O
/// thread; docs/design.md §5) without interleaving with the write queue's
/// frames. The queue is `quiet` while nothing is queued or being written;
/// another thread writes only then, holding `mutex` through the write, and a
/// frame it wrote in part holds the queue (`remainder_pending`) until its
/// remainder is queued first (WriteQueue::push_remainder).
struct DirectWriteGate {
  std::mutex mutex;
  bool quiet = true;
  bool remainder_pending = false;
  bool closed = false;  // the connection is going: no more direct writes

  /// From any thread: if the gate is open and the queue quiet with no remainder pending, runs
  /// `before` (e.g. booking the request, so its reply finds it), then one non-blocking sendmsg
  /// of `frame` on `stream`'s socket, all under `mutex`; returns the bytes the kernel took (0
  /// on any error, which the queue's own write of the rest then reports) and marks a remainder
  /// pending when that is not all. None, and nothing done, when the frame must be queued.
  std::optional<std::size_t> try_write(Stream& stream, const OutgoingFrame& frame,
                                       const std::function<void()>& before = {});
  /// Closes the gate (takes `mutex`): call before the socket may be closed.
  void close() {
    std::lock_guard lock(mutex);
    closed = true;
  }
};

/// Queue of outgoing frames drained by one writer coroutine; queued frames are
/// coalesced into one gather write. Not thread-safe: use from the stream's
/// executor (a DirectWriteGate, if set, is the one thing shared with others).
class WriteQueue {
 public:
  /// `emulator` (may be null) shapes the bytes; it must outlive the queue.
  WriteQueue(Stream& stream, LinkEmulator* emulator);

  /// Queues a frame and wakes the writer; never blocks. `written` (optional)
  /// runs on the socket's executor once the frame has been handed to the
  /// socket (or, with an emulator, released at the link rate); never when
  /// the write fails or the queue stops first.
  void push(OutgoingFrame frame, std::function<void()> written = {});
  /// Queues what is left of a frame another thread wrote its first `written_bytes` of through
  /// the gate, ahead of everything queued, and releases the queue. Needs set_gate().
  void push_remainder(OutgoingFrame frame, std::size_t written_bytes, std::function<void()> written = {});
  /// Shares the socket with writers on other threads through `gate` (outlives the queue).
  void set_gate(DirectWriteGate* gate) noexcept { gate_ = gate; }
  /// Writes queued frames until stop(), close_after_drain() with an empty queue, or an error,
  /// which it returns (none for a normal end).
  boost::asio::awaitable<boost::system::error_code> run();
  /// Ends run() as soon as the current write finishes; queued frames are dropped.
  void stop();
  /// Ends run() once everything queued has been written.
  void close_after_drain();
  /// True when nothing is queued or being written.
  bool idle() const noexcept { return queue_.empty() && !writing_; }
  /// Wire bytes queued or being written; never throws.
  std::size_t pending_bytes() const noexcept { return pending_bytes_; }
  /// When bytes last left (or, if none have since, when the queue last became busy): a peer
  /// that reads nothing keeps this in the past while pending_bytes() > 0.
  std::chrono::steady_clock::time_point last_progress() const noexcept { return progress_; }

 private:
  Stream& stream_;
  LinkEmulator* emulator_;
  boost::asio::steady_timer wake_;
  struct Queued {
    OutgoingFrame frame;
    std::function<void()> written;
    std::size_t skip = 0;  // bytes of the frame already written (push_remainder)
  };
  // Under the gate: may this queue write now (no remainder pending)? Marks it busy.
  bool claim();
  // Under the gate: nothing queued or being written.
  void mark_quiet();
  // A frame written in part through the gate is on its way (push_remainder).
  bool remainder_pending();
  std::deque<Queued> queue_;
  std::size_t pending_bytes_ = 0;
  std::chrono::steady_clock::time_point progress_{};
  bool writing_ = false;
  bool stopped_ = false;
  bool drain_then_stop_ = false;
  DirectWriteGate* gate_ = nullptr;
};

}  // namespace tandem::net
