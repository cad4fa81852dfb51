#include "net/byte_budget.hpp"

namespace tandem::net {

bool ByteBudget::try_take(std::size_t n) noexcept {
  std::size_t used = used_.load();
  do {
    if (n > limit_ || used > limit_ - n) return false;
  } while (!used_.compare_exchange_weak(used, used + n));
  note_peak(used + n);
  return true;
}

void ByteBudget::take(std::size_t n) noexcept { note_peak(used_.fetch_add(n) + n); }

void ByteBudget::give_back(std::size_t n) noexcept { used_.fetch_sub(n); }

void ByteBudget::note_peak(std::size_t now) noexcept {
  std::size_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
}

bool ByteAccount::try_charge(std::size_t n) noexcept {
  std::size_t used = used_.load();
  do {
    if (n > limit_ || used > limit_ - n) return false;
  } while (!used_.compare_exchange_weak(used, used + n));
  if (budget_ && !budget_->try_take(n)) {
    used_.fetch_sub(n);
    return false;
  }
  return true;
}

void ByteAccount::charge(std::size_t n) noexcept {
  used_.fetch_add(n);
  if (budget_) budget_->take(n);
}

void ByteAccount::release(std::size_t n) noexcept {
  used_.fetch_sub(n);
  if (budget_) budget_->give_back(n);
}

std::shared_ptr<const void> hold_charge(std::shared_ptr<ByteAccount> account, std::size_t n) {
  class Hold {
   public:
    Hold(std::shared_ptr<ByteAccount> account, std::size_t n) : account_(std::move(account)), n_(n) {}
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() {
      if (account_) account_->release(n_);
    }

   private:
    std::shared_ptr<ByteAccount> account_;
    std::size_t n_;
  };
  return std::make_shared<const Hold>(std::move(account), n);
}

}  // namespace tandem::net
