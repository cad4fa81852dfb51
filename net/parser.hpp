#pragma once
// Incremental frame parser: feed it bytes as they arrive; it answers
// need_more, good (one complete, verified frame), dropped (a frame whose
// payload did not fit the byte budget: read and thrown away) or bad (with the
// reason). Every header field is checked as soon as its bytes are in —
// garbage is refused after its first wrong byte — and the payload length is
// checked against the limit before anything is allocated. The payload buffer
// then grows with the bytes that arrive (payload_buffer.hpp), charged to the
// connection's ByteAccount if it has one: an announced length alone reserves
// nothing. No socket needed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/errors.hpp"
#include "net/frame.hpp"
#include "net/payload_buffer.hpp"

namespace tandem::net {

/// A payload's first allocation, and the window payload_window() offers while
/// that much is still to come. FrameReader's staging buffer is this size, so
/// every read of a large payload after its first goes straight into place.
inline constexpr std::size_t k_payload_step = 64 * 1024;

enum class ParseStatus { need_more, good, dropped, bad };

struct ParseStep {
  ParseStatus status = ParseStatus::need_more;
  std::size_t consumed = 0;  // bytes of the input used (never past the end of one frame)
};

/// Not thread-safe; one per connection.
class FrameParser {
 public:
  explicit FrameParser(std::uint32_t max_payload = k_default_max_payload) : max_payload_(max_payload) {}

  /// Consumes bytes up to the end of one frame; never throws except bad_alloc. After bad, stays bad.
  ParseStep feed(std::span<const std::byte> data);
  /// Room for the next payload bytes, as a writable window (empty when not reading a payload,
  /// or when the payload is being dropped): lets a reader receive straight into the payload.
  /// May grow the buffer by one step (charged to the account). Throws only bad_alloc.
  std::span<std::byte> payload_window();
  /// Accounts for n bytes written into payload_window(); never throws.
  ParseStep commit_payload(std::size_t n) noexcept;
  /// Moves out the frame and resets for the next one; precondition: the last step was good or
  /// dropped (a dropped frame has its header and no payload).
  Frame take_frame();
  /// Why the parser failed; meaningful after bad.
  const Error& error() const noexcept { return error_; }
  /// True when some bytes of a frame have been consumed but the frame is not complete.
  bool mid_frame() const noexcept { return header_fill_ > 0 && !complete_; }
  /// Bytes of the current frame consumed so far (header + payload).
  std::size_t frame_bytes_seen() const noexcept { return header_fill_ + payload_fill_; }
  /// Changes the payload limit (e.g. looser after the handshake); applies to the next header.
  void set_max_payload(std::uint32_t max_payload) noexcept { max_payload_ = max_payload; }
  /// Charges payload buffers to `account` from the next header on (null: no budget). A payload
  /// that the account refuses is read and dropped instead of kept.
  void set_account(std::shared_ptr<ByteAccount> account) noexcept { account_ = std::move(account); }

 private:
  ParseStep fail(Errc code, std::string message, std::size_t consumed);
  bool check_header_prefix(std::size_t old_fill, std::string* why, Errc* code) const;
  ParseStep finish_payload(std::size_t consumed);
  // Makes room for at least `n` more payload bytes; on a refusal the frame is dropped.
  void grow_for(std::size_t n);

  std::uint32_t max_payload_;
  std::shared_ptr<ByteAccount> account_;
  std::array<std::byte, k_header_size> header_bytes_{};
  std::size_t header_fill_ = 0;
  FrameHeader header_;
  std::shared_ptr<PayloadBuffer> payload_;
  std::size_t payload_fill_ = 0;
  bool dropping_ = false;  // the payload did not fit the account: counting bytes, keeping none
  bool complete_ = false;
  bool bad_ = false;
  Error error_;
};

}  // namespace tandem::net
