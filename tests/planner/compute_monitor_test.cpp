#include "planner/compute_monitor.hpp"

#include <limits>

#include <gtest/gtest.h>

namespace tandem::planner {
namespace {

TEST(ComputeMonitor, IsOneUntilEnoughSamples) {
  ComputeMonitor m({.window = 8, .min_samples = 3});
  EXPECT_DOUBLE_EQ(m.edge_scale(), 1.0);
  m.add_edge(10, 20);
  m.add_edge(10, 20);
  EXPECT_DOUBLE_EQ(m.edge_scale(), 1.0);
  m.add_edge(10, 20);
  EXPECT_DOUBLE_EQ(m.edge_scale(), 2.0);
  EXPECT_DOUBLE_EQ(m.cloud_scale(), 1.0);  // the sides are separate
}

TEST(ComputeMonitor, IsTheMedianOfTheLastWindowAndShrugsOffOneBurst) {
  ComputeMonitor m({.window = 5, .min_samples = 1});
  for (double r : {1.2, 1.1, 9.0, 1.3, 1.0}) m.add_cloud(10, 10 * r);  // one task met a burst of load
  EXPECT_DOUBLE_EQ(m.cloud_scale(), 1.2);
  for (int i = 0; i < 5; ++i) m.add_cloud(10, 7);  // the machine got faster: the old ratios leave the window
  EXPECT_DOUBLE_EQ(m.cloud_scale(), 0.7);
  EXPECT_EQ(m.cloud_samples(), 5u);
  ComputeMonitor even({.window = 4, .min_samples = 1});
  for (double r : {1.0, 2.0, 3.0, 4.0}) even.add_edge(10, 10 * r);
  EXPECT_DOUBLE_EQ(even.edge_scale(), 2.5);
}

TEST(ComputeMonitor, IgnoresTinyRunsAndNonsenseAndClamps) {
  ComputeMonitor m({.window = 4, .min_samples = 1, .min_predicted_ms = 1.0, .min_scale = 0.5, .max_scale = 3.0});
  m.add_edge(0.5, 5.0);  // below min_predicted_ms: mostly clock and wake-ups
  m.add_edge(10, std::numeric_limits<double>::quiet_NaN());
  m.add_edge(std::numeric_limits<double>::infinity(), 10);
  m.add_edge(10, 0);
  m.add_edge(10, -3);
  EXPECT_EQ(m.edge_samples(), 0u);
  EXPECT_DOUBLE_EQ(m.edge_scale(), 1.0);
  m.add_edge(10, 100);
  EXPECT_DOUBLE_EQ(m.edge_scale(), 3.0);
  m.add_cloud(10, 1);
  EXPECT_DOUBLE_EQ(m.cloud_scale(), 0.5);
}

TEST(ComputeMonitor, ByDefaultASmallModelsRunsDoNotSetTheScale) {
  // LeNet on the 4x edge: predicted 3.7 ms (its cold start included),
  // measured 1.0 ms run after itself. Its ratio is about per-run costs, not
  // the device's speed, and must not carry over to the next large model.
  ComputeMonitor m;
  for (int i = 0; i < 20; ++i) m.add_edge(3.7, 1.0);
  EXPECT_EQ(m.edge_samples(), 0u);
  EXPECT_DOUBLE_EQ(m.edge_scale(), 1.0);
  for (int i = 0; i < 3; ++i) m.add_edge(58.0, 60.0);
  EXPECT_NEAR(m.edge_scale(), 60.0 / 58.0, 1e-12);
}

}  // namespace
}  // namespace tandem::planner
