// ByteBudget / ByteAccount: what a server holds for its peers, per connection and in total.
#include "net/byte_budget.hpp"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

TEST(ByteBudget, TryChargeRespectsTheAccountAndTheTotal) {
  auto budget = std::make_shared<ByteBudget>(1000);
  ByteAccount a(budget, 600), b(budget, 600);
  EXPECT_TRUE(a.try_charge(600));
  EXPECT_FALSE(a.try_charge(1)) << "over the account's own limit";
  EXPECT_TRUE(b.try_charge(400));
  EXPECT_FALSE(b.try_charge(1)) << "over the total, though b has room";
  EXPECT_EQ(b.used(), 400u) << "a refusal charges nothing";
  EXPECT_EQ(budget->used(), 1000u);
  a.release(600);
  EXPECT_TRUE(b.try_charge(200));
  EXPECT_EQ(budget->used(), 600u);
  EXPECT_EQ(budget->peak(), 1000u);
  EXPECT_FALSE(a.try_charge(~std::size_t{0})) << "no overflow";
}

TEST(ByteBudget, ForcedChargesGoPastTheLimitsAndBlockNewOnes) {
  auto budget = std::make_shared<ByteBudget>(100);
  ByteAccount a(budget, 100);
  a.charge(150);
  EXPECT_EQ(budget->used(), 150u);
  EXPECT_EQ(budget->peak(), 150u);
  EXPECT_FALSE(a.try_charge(1));
  a.release(150);
  EXPECT_TRUE(a.try_charge(100));
}

TEST(ByteBudget, HoldReleasesWhenTheLastCopyGoes) {
  auto budget = std::make_shared<ByteBudget>(100);
  auto account = std::make_shared<ByteAccount>(budget, 100);
  ASSERT_TRUE(account->try_charge(40));
  auto hold = hold_charge(account, 40);
  auto copy = hold;
  hold.reset();
  EXPECT_EQ(account->used(), 40u);
  copy.reset();
  EXPECT_EQ(account->used(), 0u);
  EXPECT_EQ(budget->used(), 0u);
}

TEST(ByteBudget, ConcurrentChargesNeverExceedTheLimit) {
  auto budget = std::make_shared<ByteBudget>(10'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([budget] {
      ByteAccount account(budget, 10'000);
      for (int i = 0; i < 20'000; ++i) {
        if (account.try_charge(7)) account.release(7);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(budget->used(), 0u);
  EXPECT_LE(budget->peak(), 10'000u);
}

}  // namespace
}  // namespace tandem::net
