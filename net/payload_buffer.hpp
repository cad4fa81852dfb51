#pragma once
// A received frame's payload. It grows as the bytes arrive, never ahead of
// them by more than one step (at most twice what has arrived, plus 64 KiB),
// and every growth is charged to a ByteAccount before memory is taken — so a
// header announcing 256 MiB costs nothing until the bytes come. Buffers of
// 1 MiB and more live in their own anonymous mapping and grow with mremap:
// growing never copies them.

#include <cstddef>
#include <memory>
#include <span>

#include "net/byte_budget.hpp"

namespace tandem::net {

/// Not thread-safe while filled; read-only (and shareable) once complete.
class PayloadBuffer {
 public:
  /// Capacity is charged to `account` (null: unbounded) and released on destruction.
  explicit PayloadBuffer(std::shared_ptr<ByteAccount> account = nullptr) noexcept : account_(std::move(account)) {}
  ~PayloadBuffer();
  PayloadBuffer(const PayloadBuffer&) = delete;
  PayloadBuffer& operator=(const PayloadBuffer&) = delete;

  /// The bytes filled so far; never throws.
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::size_t size() const noexcept { return size_; }
  /// Bytes allocated (and charged); never throws.
  std::size_t capacity() const noexcept { return capacity_; }
  /// The allocated room after the filled bytes; never throws.
  std::span<std::byte> room() noexcept { return {data_ + size_, capacity_ - size_}; }
  /// Grows the capacity to at least `capacity` (nothing when already there). Returns false, with
  /// nothing changed, when the account refuses the bytes; throws std::bad_alloc when memory
  /// cannot be had (the charge is then returned).
  bool reserve(std::size_t capacity);
  /// Marks the first `n` bytes of room() as filled; precondition n <= room().size(). Never throws.
  void commit(std::size_t n) noexcept { size_ += n; }
  /// A complete, uncharged buffer holding a copy of `bytes`: a frame built outside a parser
  /// (tests, fuzzers). Throws only std::bad_alloc.
  static std::shared_ptr<const PayloadBuffer> copy_of(std::span<const std::byte> bytes);

 private:
  void grow_memory(std::size_t capacity);

  std::shared_ptr<ByteAccount> account_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  bool mapped_ = false;
};

}  // namespace tandem::net
