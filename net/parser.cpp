#include "net/parser.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "net/crc32c.hpp"

namespace tandem::net {
ParseStep FrameParser::fail(Errc code, std::string message, std::size_t consumed) {
  bad_ = true;
  error_ = Error::make(code, std::move(message));
  return {ParseStatus::bad, consumed};
}

// Checks every header field whose bytes have all arrived, as soon as they have.
bool FrameParser::check_header_prefix(std::size_t old_fill, std::string* why, Errc* code) const {
  auto have = [&](std::size_t end) { return header_fill_ >= end && old_fill < header_fill_; };
  for (std::size_t i = old_fill; i < std::min<std::size_t>(header_fill_, 4); ++i) {
    const auto expected = static_cast<std::byte>((k_frame_magic >> (8 * i)) & 0xFFu);
    if (header_bytes_[i] != expected) {
      *code = Errc::bad_magic;
      *why = fmt::format("bad magic: byte {} is 0x{:02x}, expected 0x{:02x}", i,
                         static_cast<unsigned>(header_bytes_[i]), static_cast<unsigned>(expected));
      return false;
    }
  }
  auto u = [&](std::size_t off, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(header_bytes_[off + i]) << (8 * i);
    return v;
  };
  if (have(k_off_type) && old_fill < k_off_type) {
    const auto version = u(k_off_version, 2);
    if (version != k_protocol_version) {
      *code = Errc::unsupported_version;
      *why = fmt::format("unsupported protocol version {} (this peer speaks {})", version, k_protocol_version);
      return false;
    }
  }
  if (have(k_off_flags) && old_fill < k_off_flags) {
    const auto type = u(k_off_type, 1);
    if (!is_known_message_type(static_cast<std::uint8_t>(type))) {
      *code = Errc::unknown_message_type;
      *why = fmt::format("unknown message type {}", type);
      return false;
    }
  }
  if (have(k_off_request_id) && old_fill < k_off_request_id) {
    const auto flags = u(k_off_flags, 1);
    if ((flags & ~std::uint64_t{frame_flags::known_mask}) != 0) {
      *code = Errc::bad_flags;
      *why = fmt::format("unknown frame flags 0x{:02x}", flags);
      return false;
    }
  }
  if (have(k_off_crc) && old_fill < k_off_crc) {
    const auto length = u(k_off_length, 4);
    if (length > max_payload_) {
      *code = Errc::frame_too_large;
      *why = fmt::format("payload length {} exceeds the limit of {} bytes", length, max_payload_);
      return false;
    }
  }
  return true;
}

ParseStep FrameParser::finish_payload(std::size_t consumed) {
  complete_ = true;
  if (dropping_) return {ParseStatus::dropped, consumed};
  const std::uint32_t crc = payload_ ? crc32c(payload_->bytes()) : 0u;
  if (crc != header_.payload_crc) {
    complete_ = false;
    return fail(Errc::bad_checksum,
                fmt::format("{} frame (request {}): payload CRC32C 0x{:08x}, header says 0x{:08x}",
                            to_string(header_.type), header_.request_id, crc, header_.payload_crc),
                consumed);
  }
  return {ParseStatus::good, consumed};
}

void FrameParser::grow_for(std::size_t n) {
  if (dropping_) return;
  const std::size_t need = payload_fill_ + n;
  if (need <= payload_->capacity()) return;
  // One step: double what is there (at least the first step), never past
  // twice what has arrived plus one step, nor past the announced length.
  const std::size_t doubled = std::min(2 * payload_->capacity(), 2 * payload_fill_ + k_payload_step);
  const std::size_t step = std::max(need, std::max(doubled, k_payload_step));
  if (!payload_->reserve(std::min<std::size_t>(step, header_.payload_length))) {
    dropping_ = true;
    payload_.reset();
  }
}

ParseStep FrameParser::feed(std::span<const std::byte> data) {
  if (bad_) return {ParseStatus::bad, 0};
  if (complete_) return {dropping_ ? ParseStatus::dropped : ParseStatus::good, 0};
  std::size_t used = 0;
  if (header_fill_ < k_header_size) {
    const std::size_t old_fill = header_fill_;
    const std::size_t n = std::min(k_header_size - header_fill_, data.size());
    std::memcpy(header_bytes_.data() + header_fill_, data.data(), n);
    header_fill_ += n;
    used += n;
    std::string why;
    Errc code{};
    if (!check_header_prefix(old_fill, &why, &code)) return fail(code, std::move(why), used);
    if (header_fill_ < k_header_size) return {ParseStatus::need_more, used};
    header_ = decode_header(header_bytes_, nullptr);
    // The length is within the limit (checked above); memory follows the bytes that arrive.
    payload_fill_ = 0;
    dropping_ = false;
    payload_ = header_.payload_length > 0 ? std::make_shared<PayloadBuffer>(account_) : nullptr;
    if (header_.payload_length == 0) return finish_payload(used);
  }
  const std::size_t want = header_.payload_length - payload_fill_;
  const std::size_t n = std::min(want, data.size() - used);
  if (n > 0) {
    grow_for(n);
    if (!dropping_) {
      std::memcpy(payload_->room().data(), data.data() + used, n);
      payload_->commit(n);
    }
    payload_fill_ += n;
    used += n;
  }
  if (payload_fill_ < header_.payload_length) return {ParseStatus::need_more, used};
  return finish_payload(used);
}

std::span<std::byte> FrameParser::payload_window() {
  if (bad_ || complete_ || header_fill_ < k_header_size || dropping_ || !payload_) return {};
  // Room for a whole staging-sized read, so large payloads are read straight
  // into place from their second read on (they went through the staging
  // buffer until the doubling happened to leave 64 KiB free: four extra
  // copies of 64 KiB for a 602 KB tensor).
  const std::size_t remaining = header_.payload_length - payload_fill_;
  const std::size_t want = std::min(remaining, k_payload_step);
  if (payload_->room().size() < want) grow_for(want);
  if (dropping_) return {};
  const auto room = payload_->room();
  return room.first(std::min(room.size(), remaining));
}

ParseStep FrameParser::commit_payload(std::size_t n) noexcept {
  payload_->commit(n);
  payload_fill_ += n;
  if (payload_fill_ < header_.payload_length) return {ParseStatus::need_more, n};
  return finish_payload(n);
}

Frame FrameParser::take_frame() {
  Frame frame{header_, std::move(payload_)};
  payload_.reset();
  header_fill_ = 0;
  payload_fill_ = 0;
  dropping_ = false;
  complete_ = false;
  return frame;
}

}  // namespace tandem::net
