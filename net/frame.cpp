#include "net/frame.hpp"

#include "net/crc32c.hpp"

namespace tandem::net {
namespace {

template <class U>
void put_le(std::span<std::byte, k_header_size> out, std::size_t offset, U v) noexcept {
  for (std::size_t i = 0; i < sizeof(U); ++i) out[offset + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFu);
}

template <class U>
U get_le(std::span<const std::byte, k_header_size> in, std::size_t offset) noexcept {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(static_cast<U>(in[offset + i]) << (8 * i));
  return v;
}

}  // namespace

bool is_known_message_type(std::uint8_t v) noexcept { return v >= 1 && v <= k_max_message_type; }

std::string_view to_string(MessageType type) noexcept {
  switch (type) {
    case MessageType::challenge: return "challenge";
    case MessageType::hello: return "hello";
    case MessageType::hello_ack: return "hello_ack";
    case MessageType::infer: return "infer";
    case MessageType::result: return "result";
    case MessageType::error: return "error";
    case MessageType::probe: return "probe";
    case MessageType::probe_ack: return "probe_ack";
    case MessageType::status_request: return "status_request";
    case MessageType::status: return "status";
  }
  return "unknown";
}

void encode_header(const FrameHeader& h, std::span<std::byte, k_header_size> out) noexcept {
  put_le<std::uint32_t>(out, k_off_magic, k_frame_magic);
  put_le<std::uint16_t>(out, k_off_version, h.version);
  put_le<std::uint8_t>(out, k_off_type, static_cast<std::uint8_t>(h.type));
  put_le<std::uint8_t>(out, k_off_flags, h.flags);
  put_le<std::uint64_t>(out, k_off_request_id, h.request_id);
  put_le<std::uint32_t>(out, k_off_length, h.payload_length);
  put_le<std::uint32_t>(out, k_off_crc, h.payload_crc);
}

FrameHeader decode_header(std::span<const std::byte, k_header_size> in, std::uint32_t* magic) noexcept {
  if (magic) *magic = get_le<std::uint32_t>(in, k_off_magic);
  FrameHeader h;
  h.version = get_le<std::uint16_t>(in, k_off_version);
  h.type = static_cast<MessageType>(get_le<std::uint8_t>(in, k_off_type));
  h.flags = get_le<std::uint8_t>(in, k_off_flags);
  h.request_id = get_le<std::uint64_t>(in, k_off_request_id);
  h.payload_length = get_le<std::uint32_t>(in, k_off_length);
  h.payload_crc = get_le<std::uint32_t>(in, k_off_crc);
  return h;
}

OutgoingFrame::OutgoingFrame(MessageType type, std::uint64_t request_id, std::uint8_t flags) {
  header_.type = type;
  header_.request_id = request_id;
  header_.flags = flags;
}

void OutgoingFrame::pad_payload_to(std::size_t alignment) {
  while (payload_size() % alignment != 0) inline_.push_back(std::byte{0});
}

void OutgoingFrame::close_inline_range() {
  if (inline_.size() > inline_mark_) pieces_.push_back({nullptr, inline_mark_, inline_.size() - inline_mark_});
  inline_mark_ = inline_.size();
}

void OutgoingFrame::append_external(std::span<const std::byte> bytes, std::shared_ptr<const void> owner) {
  close_inline_range();
  if (!bytes.empty()) pieces_.push_back({bytes.data(), 0, bytes.size()});
  external_total_ += bytes.size();
  if (owner) owners_.push_back(std::move(owner));
}

bool OutgoingFrame::finish() {
  close_inline_range();
  if (payload_size() > UINT32_MAX) return false;
  std::uint32_t crc = 0;
  for (const Piece& p : pieces_) {
    const std::byte* data = p.external ? p.external : inline_.data() + p.offset;
    crc = crc32c_update(crc, std::span<const std::byte>(data, p.length));
  }
  header_.payload_length = static_cast<std::uint32_t>(payload_size());
  header_.payload_crc = crc;
  encode_header(header_, header_bytes_);
  finished_ = true;
  return true;
}

std::vector<boost::asio::const_buffer> OutgoingFrame::buffers() const {
  std::vector<boost::asio::const_buffer> out;
  out.reserve(pieces_.size() + 1);
  out.emplace_back(header_bytes_.data(), header_bytes_.size());
  for (const Piece& p : pieces_) {
    const std::byte* data = p.external ? p.external : inline_.data() + p.offset;
    out.emplace_back(data, p.length);
  }
  return out;
}

}  // namespace tandem::net
