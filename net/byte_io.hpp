#pragma once
// Explicit little-endian writers and readers for payload fields. Nothing here
// copies structs to or from the wire; every integer is assembled byte by byte.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tandem::net {

/// Appends little-endian fields to a byte vector. Not thread-safe.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::byte>& out) : out_(out) {}

  /// Appends one unsigned integer of N bytes, least significant first; throws only bad_alloc.
  template <class U>
  void put_uint(U v) {
    static_assert(std::is_unsigned_v<U>);
    for (std::size_t i = 0; i < sizeof(U); ++i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFFu));
  }
  void u8(std::uint8_t v) { put_uint(v); }
  void u16(std::uint16_t v) { put_uint(v); }
  void u32(std::uint32_t v) { put_uint(v); }
  void u64(std::uint64_t v) { put_uint(v); }
  void i32(std::int32_t v) { put_uint(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { put_uint(static_cast<std::uint64_t>(v)); }
  /// IEEE-754 binary64, little-endian; throws only bad_alloc.
  void f64(double v) { put_uint(std::bit_cast<std::uint64_t>(v)); }
  /// Appends raw bytes; throws only bad_alloc.
  void bytes(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  /// u16 length then the characters; precondition s.size() <= 65535 (checked by callers).
  void str16(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    bytes(std::as_bytes(std::span(s.data(), s.size())));
  }
  /// Appends zero bytes until size() is a multiple of `alignment`; throws only bad_alloc.
  void pad_to(std::size_t alignment, std::size_t base = 0) {
    while ((base + out_.size()) % alignment != 0) out_.push_back(std::byte{0});
  }
  std::size_t size() const { return out_.size(); }

 private:
  std::vector<std::byte>& out_;
};

/// Reads little-endian fields from a span with bounds checks. A read past the
/// end fails (returns false) and leaves the reader failed; nothing throws.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> in) : in_(in) {}

  template <class U>
  bool get_uint(U& v) noexcept {
    static_assert(std::is_unsigned_v<U>);
    if (!need(sizeof(U))) return false;
    U r = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) r |= static_cast<U>(static_cast<U>(in_[pos_ + i]) << (8 * i));
    pos_ += sizeof(U);
    v = r;
    return true;
  }
  bool u8(std::uint8_t& v) noexcept { return get_uint(v); }
  bool u16(std::uint16_t& v) noexcept { return get_uint(v); }
  bool u32(std::uint32_t& v) noexcept { return get_uint(v); }
  bool u64(std::uint64_t& v) noexcept { return get_uint(v); }
  bool i32(std::int32_t& v) noexcept {
    std::uint32_t u = 0;
    if (!get_uint(u)) return false;
    v = static_cast<std::int32_t>(u);
    return true;
  }
  bool i64(std::int64_t& v) noexcept {
    std::uint64_t u = 0;
    if (!get_uint(u)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool f64(double& v) noexcept {
    std::uint64_t u = 0;
    if (!get_uint(u)) return false;
    v = std::bit_cast<double>(u);
    return true;
  }
  /// Reads a u16-prefixed string of at most `max_len` characters; false when longer or truncated.
  bool str16(std::string& s, std::size_t max_len) {
    std::uint16_t n = 0;
    if (!u16(n) || n > max_len || !need(n)) return fail();
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  /// A view of the next n bytes (no copy); false when fewer remain.
  bool view(std::size_t n, std::span<const std::byte>& out) noexcept {
    if (!need(n)) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  /// Skips zero padding up to `alignment`; false when the padding is missing or non-zero.
  bool skip_pad(std::size_t alignment) noexcept {
    while (pos_ % alignment != 0) {
      if (!need(1) || in_[pos_] != std::byte{0}) return fail();
      ++pos_;
    }
    return true;
  }
  std::size_t remaining() const noexcept { return failed_ ? 0 : in_.size() - pos_; }
  std::size_t position() const noexcept { return pos_; }
  bool failed() const noexcept { return failed_; }
  bool at_end() const noexcept { return !failed_ && pos_ == in_.size(); }

 private:
  bool need(std::size_t n) noexcept {
    if (failed_ || in_.size() - pos_ < n) return fail();
    return true;
  }
  bool fail() noexcept {
    failed_ = true;
    return false;
  }

  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace tandem::net
