// Bandwidth sweep: the intervals must cover the range, and inside every
// interval its plan must be the optimum.
#include "partition/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>

#include "partition/brute_force.hpp"
#include "testutil/random_graph.hpp"

namespace tandem::partition {
namespace {

constexpr double k_low = 1e3;   // bytes/s
constexpr double k_high = 1e9;

double slack(double value, double relative) { return relative * std::max(1.0, std::abs(value)); }

void check_cover(const std::vector<BandwidthInterval>& intervals, double low, double high) {
  ASSERT_FALSE(intervals.empty());
  EXPECT_EQ(intervals.front().low_bytes_per_s, low);
  EXPECT_EQ(intervals.back().high_bytes_per_s, high);
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    EXPECT_LE(intervals[i].low_bytes_per_s, intervals[i].high_bytes_per_s);
    if (i == 0) continue;
    EXPECT_EQ(intervals[i].low_bytes_per_s, intervals[i - 1].high_bytes_per_s);
    EXPECT_FALSE(intervals[i].plan.cut == intervals[i - 1].plan.cut) << "adjacent intervals share a plan";
  }
}

// Inside each interval (away from its ends) the interval's plan is optimal:
// exactly for latency and energy (envelopes of lines); for throughput to the
// bisection's tolerance, since an interval narrower than it may hold a plan
// change (SweepOptions::relative_tolerance).
void check_optimal_inside(const GraphDesc& g, const CostModel& m, Objective o,
                          const std::vector<BandwidthInterval>& intervals, bool use_oracle) {
  const double relative = o == Objective::throughput ? SweepOptions{}.relative_tolerance : 1e-9;
  for (const auto& interval : intervals) {
    const double lo = interval.low_bytes_per_s;
    const double hi = interval.high_bytes_per_s;
    for (double t : {0.01, 0.3, 0.5, 0.7, 0.99}) {
      const double b = lo * std::pow(hi / lo, t);
      const auto at_b = with_bandwidth(m, b, true);
      const double mine = objective_value(evaluate(g, at_b, interval.plan.cut), o);
      const double best = use_oracle ? brute_force(g, at_b, o).objective_value
                                     : optimise(g, at_b, o).objective_value;
      EXPECT_NEAR(mine, best, slack(best, relative)) << "bandwidth " << b << " in [" << lo << ", " << hi << "]";
    }
  }
}

TEST(BandwidthSweep, LatencyAndEnergyEnvelopesAreExact) {
  std::mt19937_64 rng(71);
  std::size_t interval_count = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const bool chain = trial % 2 == 0;
    testutil::RandomGraphOptions options;
    options.nodes = 2 + static_cast<std::size_t>(trial % 14);
    const auto g = chain ? testutil::random_chain(rng, 2 + trial % 30) : testutil::random_dag(rng, options);
    auto m = testutil::random_cost_model(g, rng);
    m.link.downlink_bytes_per_s = m.link.uplink_bytes_per_s;
    for (Objective o : {Objective::latency, Objective::energy}) {
      SCOPED_TRACE(testing::Message() << "trial " << trial << " " << to_string(o));
      const auto intervals = sweep_bandwidth(g, m, o, k_low, k_high);
      check_cover(intervals, k_low, k_high);
      check_optimal_inside(g, m, o, intervals, !chain);
      interval_count += intervals.size();
      // At a breakpoint both neighbours cost the same: the breakpoint is exact.
      for (std::size_t i = 1; i < intervals.size(); ++i) {
        const auto at = with_bandwidth(m, intervals[i].low_bytes_per_s, true);
        const double left = objective_value(evaluate(g, at, intervals[i - 1].plan.cut), o);
        const double right = objective_value(evaluate(g, at, intervals[i].plan.cut), o);
        EXPECT_NEAR(left, right, slack(right, 1e-7));
      }
      // Each interval's plan is evaluated at its low end.
      for (const auto& interval : intervals) {
        EXPECT_EQ(interval.plan.predicted,
                  evaluate(g, with_bandwidth(m, interval.low_bytes_per_s, true), interval.plan.cut));
      }
    }
  }
  EXPECT_GT(interval_count, 400u);  // the range really crosses plan changes (470 with seed 71)
}

TEST(BandwidthSweep, ThroughputIntervalsHoldTheOptimum) {
  std::mt19937_64 rng(72);
  for (int trial = 0; trial < 40; ++trial) {
    testutil::RandomGraphOptions options;
    options.nodes = 2 + static_cast<std::size_t>(trial % 12);
    const auto g = trial % 2 == 0 ? testutil::random_chain(rng, 2 + trial % 20) : testutil::random_dag(rng, options);
    const auto m = testutil::random_cost_model(g, rng);
    const auto intervals = sweep_bandwidth(g, m, Objective::throughput, k_low, k_high);
    check_cover(intervals, k_low, k_high);
    check_optimal_inside(g, m, Objective::throughput, intervals, true);
  }
}

TEST(BandwidthSweep, SlowLinkIsEdgeOnlyAndFastLinkCloudOnly) {
  std::mt19937_64 rng(73);
  for (int trial = 0; trial < 30; ++trial) {
    testutil::RandomGraphOptions options;
    options.nodes = 10;
    const auto g = trial % 2 == 0 ? testutil::random_chain(rng, 10) : testutil::random_dag(rng, options);
    auto m = testutil::random_cost_model(g, rng);
    m.link.rtt_ms = 0;
    m.cloud_wait_ms = 0;
    m.codec_prices = free_codec_prices();  // fp16's encode time would be a cost the link does not have
    for (std::size_t v = 0; v < g.size(); ++v) m.cloud_ms[v] = m.edge_ms[v] / 1000;
    const auto intervals = sweep_bandwidth(g, m, Objective::latency, 1e-3, 1e15);
    EXPECT_EQ(intervals.front().plan.placement, Placement::edge_only);
    EXPECT_EQ(intervals.back().plan.placement, Placement::cloud_only);
  }
}

TEST(BandwidthSweep, FixedDownlinkIsKept) {
  std::mt19937_64 rng(74);
  const auto g = testutil::random_chain(rng, 12);
  auto m = testutil::random_cost_model(g, rng);
  m.link.downlink_bytes_per_s = 1234.0;
  SweepOptions options;
  options.downlink_follows_uplink = false;
  const auto intervals = sweep_bandwidth(g, m, Objective::latency, k_low, k_high, options);
  check_cover(intervals, k_low, k_high);
  for (const auto& interval : intervals) {
    for (double t : {0.1, 0.5, 0.9}) {
      const double b = interval.low_bytes_per_s * std::pow(interval.high_bytes_per_s / interval.low_bytes_per_s, t);
      const auto at = with_bandwidth(m, b, false);
      EXPECT_EQ(at.link.downlink_bytes_per_s, 1234.0);
      const double best = brute_force(g, at, Objective::latency).objective_value;
      EXPECT_NEAR(latency(g, at, interval.plan.cut), best, slack(best, 1e-9));
    }
  }
}

TEST(BandwidthSweep, SinglePointRange) {
  std::mt19937_64 rng(75);
  const auto g = testutil::random_dag(rng);
  const auto m = testutil::random_cost_model(g, rng);
  const auto intervals = sweep_bandwidth(g, m, Objective::latency, 5e5, 5e5);
  ASSERT_EQ(intervals.size(), 1u);
  EXPECT_EQ(intervals.front().low_bytes_per_s, 5e5);
  EXPECT_EQ(intervals.front().high_bytes_per_s, 5e5);
}

TEST(BandwidthSweep, RejectsBadRanges) {
  std::mt19937_64 rng(76);
  const auto g = testutil::random_chain(rng, 5);
  const auto m = testutil::random_cost_model(g, rng);
  EXPECT_THROW(sweep_bandwidth(g, m, Objective::latency, 0, 1e6), std::invalid_argument);
  EXPECT_THROW(sweep_bandwidth(g, m, Objective::latency, 1e6, 1e5), std::invalid_argument);
  EXPECT_THROW(sweep_bandwidth(g, m, Objective::latency, 1e3, INFINITY), std::invalid_argument);
  SweepOptions options;
  options.samples = 1;
  EXPECT_THROW(sweep_bandwidth(g, m, Objective::throughput, 1e3, 1e6, options), std::invalid_argument);
}

}  // namespace
}  // namespace tandem::partition
