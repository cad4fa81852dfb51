#include "net/link_emulator.hpp"

#include <string>

#include <gtest/gtest.h>

#include "net/bandwidth_monitor.hpp"
#include "net/client.hpp"
#include "net_test_support.hpp"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;

// The emulated uplink, measured by the monitor from probes and from INFERs.
// The bounds are functional, not a timing goal: the pacing caps what the
// monitor can see (at most the rate, plus 15% for how it splits off the
// RTT), and a loaded machine can only make transfers look slower, so the
// lower bound is loose (a quarter of the rate) — it catches a monitor that
// is wrong by a unit or a factor, not one that is 20% off. The estimates
// are recorded as test properties; on a quiet machine they are within 15%.
class EmulatedLink : public ::testing::TestWithParam<double> {};

void expect_plausible(double estimate, double rate, const std::string& what) {
  EXPECT_LE(estimate, 1.15 * rate) << what;
  EXPECT_GE(estimate, 0.25 * rate) << what;
}

TEST_P(EmulatedLink, MonitorEstimatesTheRate) {
  const double mbit = GetParam();
  const double rate = mbit * 1e6 / 8;
  test::ServerFixture fx;
  auto monitor = std::make_shared<BandwidthMonitor>();
  ClientConfig cc;
  cc.models = {{"toy", test::k_toy_fingerprint}};
  cc.link.rate_bytes_per_s = rate;
  cc.link.added_rtt = 20ms;
  cc.monitor = monitor;
  Client client(cc, test::make_key());
  ASSERT_TRUE(client.connect("127.0.0.1", fx.server->port()).ok());

  // ~0.15 s of link time per transfer.
  const auto probe_bytes = static_cast<std::uint32_t>(rate * 0.15);
  for (int i = 0; i < 3; ++i) {
    auto f = client.probe(probe_bytes);
    ASSERT_EQ(f.wait_for(test::k_wait_bound), std::future_status::ready);
    const auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r.value().bandwidth_bytes_per_s);
    // Bytes cannot arrive before the added delay: a bound by construction, not a timing guess.
    EXPECT_GE(r.value().round_trip_ms, 2 * 10.0);
  }
  const auto from_probes = monitor->estimate();
  ASSERT_EQ(from_probes.bandwidth_samples, 3u);
  RecordProperty("probe_estimate_mbit", std::to_string(*from_probes.mbit()));
  expect_plausible(*from_probes.bandwidth_bytes_per_s, rate, std::to_string(mbit) + " mbit from probes");
  ASSERT_TRUE(from_probes.rtt_ms);

  // Passive samples: INFERs with ~0.15 s of tensor bytes each.
  monitor->clear();
  for (int i = 0; i < 2; ++i) {
    auto f = client.infer(test::toy_request(static_cast<std::size_t>(rate * 0.15 / 4), 0));
    ASSERT_EQ(f.wait_for(test::k_wait_bound), std::future_status::ready);
    ASSERT_TRUE(f.get().ok());
  }
  const auto passive = monitor->estimate();
  ASSERT_EQ(passive.bandwidth_samples, 2u);
  RecordProperty("passive_estimate_mbit", std::to_string(*passive.mbit()));
  expect_plausible(*passive.bandwidth_bytes_per_s, rate, std::to_string(mbit) + " mbit from INFERs");
}

INSTANTIATE_TEST_SUITE_P(Rates, EmulatedLink, ::testing::Values(10.0, 50.0),
                         [](const auto& info) { return std::to_string(static_cast<int>(info.param)) + "mbit"; });

}  // namespace
}  // namespace tandem::net
