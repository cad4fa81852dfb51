#include "net/payload_buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace tandem::net {
namespace {

// From this size a buffer gets its own mapping (and mremap grows it in place or moves
// its pages, never its bytes); below it, realloc copies at most this much.
constexpr std::size_t k_map_threshold = std::size_t{1} << 20;

std::size_t page_rounded(std::size_t n) {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

}  // namespace

PayloadBuffer::~PayloadBuffer() {
  if (mapped_) {
    ::munmap(data_, capacity_);
  } else {
    std::free(data_);
  }
  if (account_) account_->release(capacity_);
}

bool PayloadBuffer::reserve(std::size_t capacity) {
  if (capacity <= capacity_) return true;
  const std::size_t target = capacity >= k_map_threshold ? page_rounded(capacity) : capacity;
  const std::size_t delta = target - capacity_;
  if (account_ && !account_->try_charge(delta)) return false;
  try {
    grow_memory(target);
  } catch (...) {
    if (account_) account_->release(delta);
    throw;
  }
  return true;
}

std::shared_ptr<const PayloadBuffer> PayloadBuffer::copy_of(std::span<const std::byte> bytes) {
  auto b = std::make_shared<PayloadBuffer>();
  b->reserve(bytes.size());
  if (!bytes.empty()) std::memcpy(b->room().data(), bytes.data(), bytes.size());
  b->commit(bytes.size());
  return b;
}

void PayloadBuffer::grow_memory(std::size_t target) {
  if (target < k_map_threshold) {
    void* p = std::realloc(data_, target);
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<std::byte*>(p);
  } else if (mapped_) {
    void* p = ::mremap(data_, capacity_, target, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<std::byte*>(p);
  } else {
    void* p = ::mmap(nullptr, target, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(p, data_, size_);
    std::free(data_);
    data_ = static_cast<std::byte*>(p);
    mapped_ = true;
  }
  capacity_ = target;
}

}  // namespace tandem::net
