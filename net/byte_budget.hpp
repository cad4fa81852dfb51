#pragma once
// The memory a server holds on behalf of its peers — frames being received,
// requests being computed, replies not yet written — counted per connection
// and in total, each against a limit (docs/design.md §6). A peer cannot make
// the server hold more than its connection's limit by announcing lengths: a
// frame's payload is charged as its bytes arrive (parser.hpp), and what does
// not fit is refused.

#include <atomic>
#include <cstddef>
#include <memory>

namespace tandem::net {

/// One server's total. Thread-safe.
class ByteBudget {
 public:
  explicit ByteBudget(std::size_t limit) : limit_(limit) {}

  /// Bytes held now, over every account; never throws.
  std::size_t used() const noexcept { return used_.load(); }
  /// The most ever held at once; never throws.
  std::size_t peak() const noexcept { return peak_.load(); }
  std::size_t limit() const noexcept { return limit_; }

 private:
  friend class ByteAccount;
  bool try_take(std::size_t n) noexcept;
  void take(std::size_t n) noexcept;
  void give_back(std::size_t n) noexcept;
  void note_peak(std::size_t now) noexcept;

  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> peak_{0};
};

/// One connection's share of a ByteBudget. Thread-safe: charged on I/O threads, released
/// wherever the bytes are freed (worker threads included).
class ByteAccount {
 public:
  /// `budget` may be null: then only this account's own limit applies.
  ByteAccount(std::shared_ptr<ByteBudget> budget, std::size_t limit) : budget_(std::move(budget)), limit_(limit) {}
  ByteAccount(const ByteAccount&) = delete;
  ByteAccount& operator=(const ByteAccount&) = delete;

  /// Charges `n` bytes when this account and the budget both stay within their limits;
  /// false (nothing charged) otherwise. Never throws.
  bool try_charge(std::size_t n) noexcept;
  /// Charges `n` bytes even past the limits — for bytes that exist already (a computed
  /// reply); the next try_charge() then fails until enough is released. Never throws.
  void charge(std::size_t n) noexcept;
  /// Returns `n` charged bytes; never throws.
  void release(std::size_t n) noexcept;
  /// Bytes charged now; never throws.
  std::size_t used() const noexcept { return used_.load(); }
  std::size_t limit() const noexcept { return limit_; }

 private:
  const std::shared_ptr<ByteBudget> budget_;
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

/// Keeps `n` bytes charged to `account` (already charged by the caller) until the returned
/// handle and all its copies are gone: attach it to whatever holds the bytes. Throws only bad_alloc.
std::shared_ptr<const void> hold_charge(std::shared_ptr<ByteAccount> account, std::size_t n);

}  // namespace tandem::net
