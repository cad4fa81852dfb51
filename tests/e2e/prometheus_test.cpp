// End-to-end with Debian's Prometheus: a cloud_daemon and an edge_daemon with
// --metrics, a Prometheus scraping both every second (generated config,
// temporary directory, a free loopback port), a few tasks, then
// tandem_edge_tasks_total and tandem_cloud_requests_total read back through
// Prometheus's HTTP API. Skipped when the prometheus binary is absent.

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "control/client.hpp"
#include "daemon_process.hpp"
#include "testutil/http_get.hpp"
#include "testutil/tasks.hpp"

namespace tandem {
namespace {

using namespace std::chrono_literals;
using test::DaemonProcess;

constexpr auto k_start_timeout = 180s;
constexpr auto k_prometheus_timeout = 60s;
constexpr int k_tasks = 6;  // half forced to the cloud

const std::string k_bin = TANDEM_BIN_DIR;
const std::string k_profiles = TANDEM_PROFILES_DIR;

const std::string k_source = TANDEM_SOURCE_DIR;

// Prometheus's JSON answer to an instant query; discarded when there is none.
nlohmann::json query_json(std::uint16_t port, const std::string& promql) {
  std::string encoded;
  for (unsigned char ch : promql) {
    if (std::isalnum(ch) || ch == '_') {
      encoded += static_cast<char>(ch);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", ch);
      encoded += hex;
    }
  }
  std::string response;
  try {
    response = testutil::http_get(port, "/api/v1/query?query=" + encoded);
  } catch (const std::exception&) {
    return nlohmann::json::value_t::discarded;
  }
  const auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) return nlohmann::json::value_t::discarded;
  return nlohmann::json::parse(response.substr(body + 4), nullptr, false);
}

// The number an instant query returns (the first sample), if any.
std::optional<double> query(std::uint16_t port, const std::string& promql) {
  const auto j = query_json(port, promql);
  if (j.is_discarded() || !j.is_object() || j.value("status", "") != "success") return std::nullopt;
  const auto& result = j["data"]["result"];
  if (!result.is_array() || result.empty()) return std::nullopt;
  return std::stod(result[0]["value"][1].get<std::string>());
}

// Waits (bounded) until `promql` returns a value `ok` accepts; returns the last value seen.
template <typename F>
std::optional<double> wait_query(std::uint16_t port, const std::string& promql, F ok) {
  const auto until = std::chrono::steady_clock::now() + k_prometheus_timeout;
  std::optional<double> v;
  while (std::chrono::steady_clock::now() < until) {
    v = query(port, promql);
    if (v && ok(*v)) break;
    std::this_thread::sleep_for(250ms);
  }
  return v;
}

std::optional<double> wait_value(std::uint16_t port, const std::string& promql, double want) {
  return wait_query(port, promql, [want](double v) { return v == want; });
}

TEST(Prometheus, ScrapesBothDaemonsAndAnswersQueries) {
  const std::string prometheus = test::find_program("prometheus");
  if (prometheus.empty()) GTEST_SKIP() << "prometheus is not installed (scripts/install-deps.sh --cluster)";
  const std::string key = test::make_key_file("prometheus");
  DaemonProcess cloud(k_bin + "/cloud_daemon", {"--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--threads", "1",
                                                "--key-file", key, "--models", "lenet"});
  const std::uint16_t cloud_metrics = cloud.wait_for_port("metrics listening", k_start_timeout);
  const std::uint16_t cloud_port = cloud.wait_for_port("'tandem-cloud' listening", k_start_timeout);
  ASSERT_NE(cloud_port, 0) << cloud.output();
  DaemonProcess edge(k_bin + "/edge_daemon",
                     {"--cloud", "127.0.0.1:" + std::to_string(cloud_port), "--key-file", key, "--profiles", k_profiles,
                      "--control", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--threads", "1", "--models", "lenet"});
  const std::uint16_t edge_metrics = edge.wait_for_port("metrics listening", k_start_timeout);
  const std::uint16_t control_port = edge.wait_for_port("control listening", k_start_timeout);
  ASSERT_NE(control_port, 0) << edge.output();

  const auto dir = std::filesystem::temp_directory_path() / ("tandem_prometheus_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "prometheus.yml") << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                        << "scrape_configs:\n"
                                        << "  - job_name: tandem_cloud\n    static_configs:\n      - targets: ['127.0.0.1:"
                                        << cloud_metrics << "']\n"
                                        << "  - job_name: tandem_edge\n    static_configs:\n      - targets: ['127.0.0.1:"
                                        << edge_metrics << "']\n";
  // Prometheus cannot listen on port 0: take a free port; if it is gone by
  // the time Prometheus binds, Prometheus exits and another is tried.
  std::unique_ptr<DaemonProcess> prom;
  std::uint16_t prom_port = 0;
  for (int attempt = 0; attempt < 5 && !prom; ++attempt) {
    const std::uint16_t port = test::free_loopback_port();
    auto p = std::make_unique<DaemonProcess>(
        prometheus, std::vector<std::string>{"--config.file=" + (dir / "prometheus.yml").string(),
                                             "--storage.tsdb.path=" + (dir / "data").string(),
                                             "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"});
    const auto until = std::chrono::steady_clock::now() + k_prometheus_timeout;
    while (std::chrono::steady_clock::now() < until && !p->wait_exit(0ms)) {
      std::string ready;
      try {
        ready = testutil::http_get(port, "/-/ready");
      } catch (const std::exception&) {
      }
      if (ready.find(" 200 ") != std::string::npos) {
        prom = std::move(p);
        prom_port = port;
        break;
      }
      std::this_thread::sleep_for(200ms);
    }
  }
  ASSERT_TRUE(prom) << "Prometheus did not become ready";

  control::Client control("127.0.0.1", control_port);
  for (int i = 0; i < k_tasks; ++i) {
    control.submit(testutil::make_task(i, "lenet", i, i % 2 == 0 ? "cloud_only" : "auto"));
  }
  for (int i = 0; i < k_tasks; ++i) {
    const auto reply = control.next(120s);
    ASSERT_TRUE(reply.has_value()) << edge.output();
    const auto* r = std::get_if<control::TaskResult>(&*reply);
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->ok) << control::to_line(*r);
  }
  EXPECT_EQ(wait_value(prom_port, "sum(tandem_edge_tasks_total)", k_tasks), k_tasks);
  // The forced ones at least (on loopback the planner may send the others to the cloud too).
  EXPECT_GE(wait_query(prom_port, "sum(tandem_edge_tasks_total{placement=\"cloud_only\",result=\"ok\"})",
                       [](double v) { return v >= k_tasks / 2; })
                .value_or(0),
            k_tasks / 2);
  const auto cloud_ok = wait_query(prom_port, "sum(tandem_cloud_requests_total{result=\"ok\"})",
                                   [](double v) { return v >= k_tasks / 2; });
  EXPECT_GE(cloud_ok.value_or(0), k_tasks / 2);
  // Both daemons were scraped as targets that are up.
  EXPECT_EQ(wait_value(prom_port, "sum(up{job=~\"tandem_.*\"})", 2), 2);

  // Every query of the Grafana dashboard is valid PromQL for this Prometheus
  // (with its variables as Grafana would fill them) and finds data.
  std::ifstream in(k_source + "/deploy/grafana/tandem.json");
  const auto dashboard = nlohmann::json::parse(in);
  int queries = 0;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) {
      std::string expr = target["expr"];
      for (const auto& [from, to] : {std::pair<std::string, std::string>{"$__rate_interval", "1m"}, {"$edge", ".*"},
                                     {"$cloud", ".*"}}) {
        for (auto at = expr.find(from); at != std::string::npos; at = expr.find(from)) expr.replace(at, from.size(), to);
      }
      const auto j = query_json(prom_port, expr);
      ASSERT_FALSE(j.is_discarded()) << expr;
      EXPECT_EQ(j.value("status", ""), "success") << panel["title"] << ": " << expr << "\n" << j.dump();
      ++queries;
    }
  }
  EXPECT_GE(queries, 15);
  prom.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace tandem
