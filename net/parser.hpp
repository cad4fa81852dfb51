#pragma once
// Incremental frame parser: feed it bytes as they arrive; it answers
// need_more, good (one complete, verified frame) or bad (with the reason).
// Every header field is checked as soon as its bytes are in — garbage is
// refused after its first wrong byte — and the payload length is checked
// against the limit before the payload buffer is allocated. No socket needed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/errors.hpp"
#include "net/frame.hpp"

namespace tandem::net {

enum class ParseStatus { need_more, good, bad };

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
  /// Remaining payload bytes still to arrive, as a writable window (empty when not
  /// reading a payload): lets a reader receive straight into the payload. Never throws.
  std::span<std::byte> payload_window() noexcept;
  /// Accounts for n bytes written into payload_window(); never throws.
  ParseStep commit_payload(std::size_t n) noexcept;
  /// Moves out the complete frame and resets for the next one; precondition: last step was good.
  Frame take_frame();
  /// Why the parser failed; meaningful after bad.
  const Error& error() const noexcept { return error_; }
  /// True when some bytes of a frame have been consumed but the frame is not complete.
  bool mid_frame() const noexcept { return header_fill_ > 0 && !complete_; }
  /// Bytes of the current frame consumed so far (header + payload).
  std::size_t frame_bytes_seen() const noexcept { return header_fill_ + payload_fill_; }
  /// Changes the payload limit (e.g. looser after the handshake); applies to the next header.
  void set_max_payload(std::uint32_t max_payload) noexcept { max_payload_ = max_payload; }

 private:
  ParseStep fail(Errc code, std::string message, std::size_t consumed);
  bool check_header_prefix(std::size_t old_fill, std::string* why, Errc* code) const;
  ParseStep finish_payload(std::size_t consumed);

  std::uint32_t max_payload_;
  std::array<std::byte, k_header_size> header_bytes_{};
  std::size_t header_fill_ = 0;
  FrameHeader header_;
  std::shared_ptr<std::vector<std::byte>> payload_;
  std::size_t payload_fill_ = 0;
  bool complete_ = false;
  bool bad_ = false;
  Error error_;
};

}  // namespace tandem::net
