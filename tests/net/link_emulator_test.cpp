#include "net/link_emulator.hpp"

#include <gtest/gtest.h>

#include "net/bandwidth_monitor.hpp"
#include "net/client.hpp"
#include "net_test_support.hpp"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;

TEST(LinkSpec, Parses) {
  const auto a = parse_link_spec("5.85mbit,20ms").value();
  EXPECT_DOUBLE_EQ(a.rate_bytes_per_s, 5.85e6 / 8);
  EXPECT_EQ(a.one_way_delay, 20ms);
  const auto b = parse_link_spec("40ms,1.5MBps").value();
  EXPECT_DOUBLE_EQ(b.rate_bytes_per_s, 1.5e6);
  EXPECT_EQ(b.one_way_delay, 40ms);
  EXPECT_DOUBLE_EQ(parse_link_spec("100kbit").value().rate_bytes_per_s, 100e3 / 8);
  EXPECT_EQ(parse_link_spec("250us").value().one_way_delay, 250us);
  EXPECT_EQ(parse_link_spec("0.5s").value().one_way_delay, 500ms);
  EXPECT_TRUE(parse_link_spec("off").value().is_passthrough());
  EXPECT_EQ(to_string(a), "5.85mbit,20ms");
}

TEST(LinkSpec, RejectsWithTheReason) {
  for (const char* bad : {"", "fast", "10", "10furlongs", "-5mbit", "0mbit", "10mbit,20ms,", "10mbit,20mbit",
                          "20ms,30ms", "mbit"}) {
    const auto r = parse_link_spec(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, make_error_code(Errc::bad_link_spec)) << bad;
    EXPECT_NE(r.error().message.find("link spec"), std::string::npos);
  }
}

// The emulated uplink, measured by the monitor from probes and from INFERs.
class EmulatedLink : public ::testing::TestWithParam<double> {};

TEST_P(EmulatedLink, MonitorEstimatesTheRateWithin15Percent) {
  const double mbit = GetParam();
  const double rate = mbit * 1e6 / 8;
  test::ServerFixture fx;
  auto monitor = std::make_shared<BandwidthMonitor>();
  ClientConfig cc;
  cc.models = {{"toy", test::k_toy_fingerprint}};
  cc.link.rate_bytes_per_s = rate;
  cc.link.one_way_delay = 10ms;
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
  EXPECT_NEAR(*from_probes.bandwidth_bytes_per_s, rate, 0.15 * rate) << mbit << " mbit from probes";
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
  EXPECT_NEAR(*passive.bandwidth_bytes_per_s, rate, 0.15 * rate) << mbit << " mbit from INFERs";
}

INSTANTIATE_TEST_SUITE_P(Rates, EmulatedLink, ::testing::Values(10.0, 50.0),
                         [](const auto& info) { return std::to_string(static_cast<int>(info.param)) + "mbit"; });

}  // namespace
}  // namespace tandem::net
