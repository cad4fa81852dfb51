// The executables' shared scaffolding: flags, exit statuses, log levels,
// metrics. (Printable text is net's: tests/net/printable_test.cpp.)
#include <chrono>
#include <string>
#include <thread>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>
#include <prometheus/counter.h>

#include "app/cli.hpp"
#include "app/logging.hpp"
#include "app/metrics.hpp"
#include "testutil/http_get.hpp"

namespace tandem::app {
namespace {

cxxopts::Options sample_options() {
  cxxopts::Options options("prog", "a test program");
  options.add_options()("count", "a number", cxxopts::value<int>()->default_value("1"), "N")(
      "name", "a name", cxxopts::value<std::string>(), "NAME");
  add_log_options(options);
  return options;
}

TEST(AppCli, ParsesHelpsAndRefuses) {
  auto options = sample_options();
  const auto parsed = parse_args(options, {"prog", "--count", "3", "--name", "x"});
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["count"].as<int>(), 3);
  auto again = sample_options();
  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse_args(again, {"prog", "--help"}));
  EXPECT_NE(testing::internal::GetCapturedStdout().find("a test program"), std::string::npos);
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"prog", "--nope"}, {"prog", "--count", "x"}, {"prog", "stray"}}) {
    auto o = sample_options();
    EXPECT_THROW(parse_args(o, bad), UsageError) << bad.back();
  }
}

TEST(AppCli, RunMainMapsErrorsToOneLineAndAStatus) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run_main("prog", [] { return 0; }), k_exit_ok);
  EXPECT_EQ(run_main("prog", []() -> int { throw UsageError("--count: bad"); }), k_exit_usage);
  EXPECT_EQ(run_main("prog", []() -> int { throw std::runtime_error("disk on fire"); }), k_exit_failure);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "prog: --count: bad\nprog: disk on fire\n");
}

TEST(AppLogging, UnknownLevelIsAUsageErrorListingTheLevels) {
  auto options = sample_options();
  const auto parsed = parse_args(options, {"prog", "--log-level", "nonsense"});
  try {
    setup_logging(*parsed, "test");
    FAIL() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'nonsense' is not one of trace, debug, info, warn, error"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(setup_logging("warn", "test"));
  EXPECT_NO_THROW(setup_logging("info", "test"));
}

TEST(AppMetrics, ServesCountersHistogramsAndScrapeTimeGauges) {
  Metrics metrics;
  auto& family = prometheus::BuildCounter().Name("tandem_test_total").Help("Things.").Register(metrics.registry());
  family.Add({{"model", "lenet"}}).Increment(2);
  int queue = 3;
  metrics.gauge_fn("tandem_test_queue_length", "Waiting.", [&queue] { return static_cast<double>(queue); });
  MetricsHttp http(metrics, {"127.0.0.1", 0});
  ASSERT_GT(http.port(), 0);
  std::string body = testutil::http_get(http.port());
  EXPECT_NE(body.find("200 OK"), std::string::npos) << body;
  EXPECT_NE(body.find("tandem_test_total{model=\"lenet\"} 2"), std::string::npos) << body;
  EXPECT_NE(body.find("# TYPE tandem_test_queue_length gauge"), std::string::npos) << body;
  EXPECT_NE(body.find("tandem_test_queue_length 3"), std::string::npos) << body;
  queue = 7;
  EXPECT_NE(testutil::http_get(http.port()).find("tandem_test_queue_length 7"), std::string::npos);
  EXPECT_NE(metrics.render().find("tandem_test_queue_length 7"), std::string::npos);
}

TEST(AppMetrics, AClientThatSendsNothingIsDroppedAfterTheReadTimeout) {
  Metrics metrics;
  MetricsHttp http(metrics, {"127.0.0.1", 0}, std::chrono::milliseconds(300));
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), http.port()});
  // Read until the server closes; bounded by a receive timeout far above the server's.
  const timeval bound{20, 0};
  ASSERT_EQ(setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound), 0);
  char byte;
  boost::system::error_code ec;
  socket.read_some(asio::buffer(&byte, 1), ec);
  // Dropped: EOF or reset. Never dropped: the 20 s bound expires (would_block).
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_THROW(MetricsHttp(metrics, {"256.1.1.1", 0}), std::runtime_error);
}

}  // namespace
}  // namespace tandem::app
