#pragma once
// docs/design.md §5 frames: a fixed 24-byte little-endian header, then the payload.
//
//  offset size field            notes
//  ------ ---- ---------------- ---------------------------------------------
//     0     4  magic            bytes 'T' 'N' 'D' 'M' (u32 0x4D444E54)
//     4     2  version          k_protocol_version (2)
//     6     1  type             MessageType; unknown values are rejected
//     7     1  flags            FrameFlags bits; unknown bits are rejected
//     8     8  request_id       matches RESULT/ERROR to INFER; 0 = connection level
//    16     4  payload_length   bytes after the header; <= the receiver's limit
//    20     4  payload_crc32c   CRC32C of the payload (0 for an empty payload)
//    24     …  payload          message body (messages.hpp)
//
// Encoding builds the frame as a list of buffers — header, small metadata,
// and pointers to caller-owned tensor bytes — written with one gather write.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "net/payload_buffer.hpp"

namespace tandem::net {

inline constexpr std::uint32_t k_frame_magic = 0x4D444E54u;  // "TNDM" little-endian
inline constexpr std::uint16_t k_protocol_version = 2;  // 2: INFER carries the cut as a bitmap
inline constexpr std::size_t k_header_size = 24;
inline constexpr std::uint32_t k_default_max_payload = 256u * 1024u * 1024u;

// Field offsets and sizes; the static_asserts pin the layout above.
inline constexpr std::size_t k_off_magic = 0, k_off_version = 4, k_off_type = 6, k_off_flags = 7,
                             k_off_request_id = 8, k_off_length = 16, k_off_crc = 20;
static_assert(k_off_version == k_off_magic + sizeof(std::uint32_t));
static_assert(k_off_type == k_off_version + sizeof(std::uint16_t));
static_assert(k_off_flags == k_off_type + sizeof(std::uint8_t));
static_assert(k_off_request_id == k_off_flags + sizeof(std::uint8_t));
static_assert(k_off_length == k_off_request_id + sizeof(std::uint64_t));
static_assert(k_off_crc == k_off_length + sizeof(std::uint32_t));
static_assert(k_header_size == k_off_crc + sizeof(std::uint32_t));

enum class MessageType : std::uint8_t {
  challenge = 1,       // server → client, first frame on a connection: nonce
  hello = 2,           // client → server: version, name, proof, models
  hello_ack = 3,       // server → client: accepted; server proof, load
  infer = 4,           // client → server: crossing tensors of one request
  result = 5,          // server → client: output tensors and timings
  error = 6,           // either way: code + text
  probe = 7,           // client → server: filler bytes for bandwidth/RTT
  probe_ack = 8,       // server → client: sizes and receive duration
  status_request = 9,  // client → server: empty
  status = 10,         // server → client: cloud load
};
inline constexpr std::uint8_t k_max_message_type = 10;

/// True when `v` names a MessageType; never throws.
bool is_known_message_type(std::uint8_t v) noexcept;
/// Lowercase name ("infer"); "unknown" for other values; never throws.
std::string_view to_string(MessageType type) noexcept;

namespace frame_flags {
/// On ERROR: the sender closes the connection after this frame.
inline constexpr std::uint8_t closing = 0x01;
inline constexpr std::uint8_t known_mask = closing;
}  // namespace frame_flags

struct FrameHeader {
  std::uint16_t version = k_protocol_version;
  MessageType type = MessageType::error;
  std::uint8_t flags = 0;
  std::uint64_t request_id = 0;
  std::uint32_t payload_length = 0;
  std::uint32_t payload_crc = 0;
};

/// Writes the header (with the magic) into `out`, little-endian; never throws.
void encode_header(const FrameHeader& header, std::span<std::byte, k_header_size> out) noexcept;
/// Reads the fields of a complete header without validating them; never throws.
FrameHeader decode_header(std::span<const std::byte, k_header_size> in, std::uint32_t* magic) noexcept;

/// A received frame; the payload is shared so decoded tensors can point into it (and keep
/// its bytes charged to the connection's budget while they do).
struct Frame {
  FrameHeader header;
  std::shared_ptr<const PayloadBuffer> payload;

  /// The payload bytes (empty when there is none); never throws.
  std::span<const std::byte> bytes() const noexcept {
    return payload ? payload->bytes() : std::span<const std::byte>();
  }
};

/// An outgoing frame under construction, then ready to gather-write.
/// Small fields go into an inline buffer; large byte ranges are referenced,
/// not copied, and kept alive by the owners handed in with them. Not thread-safe.
class OutgoingFrame {
 public:
  OutgoingFrame(MessageType type, std::uint64_t request_id, std::uint8_t flags = 0);

  /// The inline buffer for small fields (append with ByteWriter); valid until finish().
  std::vector<std::byte>& inline_bytes() { return inline_; }
  /// Appends zero bytes so the payload size is a multiple of `alignment`; throws only bad_alloc.
  void pad_payload_to(std::size_t alignment);
  /// References `bytes` (no copy); `owner` (may be null) keeps them alive until the frame is destroyed.
  void append_external(std::span<const std::byte> bytes, std::shared_ptr<const void> owner);
  /// Keeps `owner` alive until the frame is destroyed (e.g. a byte-budget charge); never throws
  /// except bad_alloc.
  void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  /// Payload size so far; never throws.
  std::size_t payload_size() const noexcept { return inline_.size() + external_total_; }
  /// Computes length and CRC and writes the header; returns false when the payload exceeds u32.
  bool finish();
  /// Header + payload pieces for one gather write; precondition finish(). Valid while *this lives.
  std::vector<boost::asio::const_buffer> buffers() const;
  /// Total bytes on the wire (header + payload); precondition finish().
  std::size_t wire_size() const noexcept { return k_header_size + payload_size(); }
  const FrameHeader& header() const noexcept { return header_; }

 private:
  struct Piece {
    const std::byte* external = nullptr;  // null: a range of inline_
    std::size_t offset = 0;
    std::size_t length = 0;
  };
  void close_inline_range();

  FrameHeader header_;
  std::array<std::byte, k_header_size> header_bytes_{};
  std::vector<std::byte> inline_;
  std::vector<Piece> pieces_;
  std::vector<std::shared_ptr<const void>> owners_;
  std::size_t inline_mark_ = 0;
  std::size_t external_total_ = 0;
  bool finished_ = false;
};

}  // namespace tandem::net
