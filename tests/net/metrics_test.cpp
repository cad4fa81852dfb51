#include "net/metrics.hpp"

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

TEST(Metrics, RendersCountersGaugesAndCumulativeHistograms) {
  MetricsRegistry r;
  r.add("tandem_x_total", "Things.", {{"model", "a"}});
  r.add("tandem_x_total", "Things.", {{"model", "a"}}, 2);
  r.add("tandem_x_total", "Things.", {{"model", "b\"q"}});
  r.set("tandem_g", "A gauge.", 7.5);
  double live = 3;
  r.gauge_fn("tandem_live", "Read at scrape.", [&] { return live; });
  for (double v : {0.5, 3.0, 3.0, 50.0}) r.observe("tandem_h_ms", "Hist.", v, {1, 5, 10});
  live = 4;
  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE tandem_x_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_x_total{model=\"a\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_x_total{model=\"b\\\"q\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_g 7.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_live 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_h_ms_bucket{le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_h_ms_bucket{le=\"5\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_h_ms_bucket{le=\"10\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_h_ms_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_h_ms_sum 56.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_h_ms_count 4\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace tandem::net
