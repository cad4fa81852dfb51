// PayloadBuffer: received payloads grow with their bytes, charged to an account first.
#include "net/payload_buffer.hpp"

#include <algorithm>
#include <numeric>

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

// Fills the buffer's room with a counting pattern up to `n` bytes.
void fill(PayloadBuffer& b, std::size_t n) {
  while (b.size() < n) {
    auto room = b.room();
    const std::size_t k = std::min(room.size(), n - b.size());
    for (std::size_t i = 0; i < k; ++i) room[i] = static_cast<std::byte>((b.size() + i) * 31);
    b.commit(k);
  }
}

bool pattern_intact(const PayloadBuffer& b) {
  const auto bytes = b.bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != static_cast<std::byte>(i * 31)) return false;
  }
  return true;
}

TEST(PayloadBuffer, GrowsAcrossTheMappingThresholdKeepingItsBytes) {
  auto account = std::make_shared<ByteAccount>(nullptr, std::size_t{64} << 20);
  {
    PayloadBuffer b(account);
    std::size_t capacity = 4096;
    while (capacity <= (std::size_t{16} << 20)) {
      ASSERT_TRUE(b.reserve(capacity));
      EXPECT_GE(b.capacity(), capacity);
      EXPECT_EQ(account->used(), b.capacity()) << "the account is charged for what is allocated";
      fill(b, capacity);
      capacity *= 2;
    }
    EXPECT_TRUE(pattern_intact(b));
  }
  EXPECT_EQ(account->used(), 0u) << "destruction releases the charge";
}

TEST(PayloadBuffer, RefusedGrowthChangesNothing) {
  auto account = std::make_shared<ByteAccount>(nullptr, 100'000);
  PayloadBuffer b(account);
  ASSERT_TRUE(b.reserve(60'000));
  fill(b, 60'000);
  EXPECT_FALSE(b.reserve(200'000));
  EXPECT_EQ(b.capacity(), 60'000u);
  EXPECT_EQ(account->used(), 60'000u);
  EXPECT_TRUE(pattern_intact(b));
  EXPECT_TRUE(b.reserve(100'000));
}

}  // namespace
}  // namespace tandem::net
