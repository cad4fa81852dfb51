// End-to-end through HAProxy: three cloud_daemons with agent-checks behind
// Debian's haproxy running the shipped deploy/haproxy/tandem.cfg (its bind
// address, stats socket and servers replaced), one edge_daemon pointed at
// HAProxy. The edge's cloud is drained (SIGTERM), then the next one killed
// (SIGKILL) while tasks run: no task is lost, every output equals local
// execution, and the edge ends up on the live cloud. Skipped without haproxy.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "control/client.hpp"
#include "daemon_process.hpp"
#include "models/catalog.hpp"
#include "models/model.hpp"
#include "testutil/tasks.hpp"
#include "testutil/tensor_compare.hpp"

namespace tandem {
namespace {

using namespace std::chrono_literals;
using control::TaskResult;
using test::DaemonProcess;

constexpr auto k_start_timeout = 180s;
constexpr auto k_task_timeout = 120s;
constexpr auto k_haproxy_timeout = 30s;
constexpr int k_clouds = 3;

const std::string k_bin = TANDEM_BIN_DIR;
const std::string k_profiles = TANDEM_PROFILES_DIR;
const std::string k_source = TANDEM_SOURCE_DIR;

using StatRow = std::map<std::string, std::string>;

// HAProxy's "show stat" CSV as rows keyed by its header.
std::vector<StatRow> parse_stat(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> header;
  std::vector<StatRow> rows;
  const auto split = [](const std::string& text) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream fields(text);
    while (std::getline(fields, field, ',')) out.push_back(field);
    return out;
  };
  while (std::getline(in, line)) {
    if (line.starts_with("# ")) {
      header = split(line.substr(2));
    } else if (!line.empty() && !header.empty()) {
      const auto fields = split(line);
      StatRow row;
      for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

struct Cloud {
  std::unique_ptr<DaemonProcess> process;
  std::uint16_t port = 0, agent = 0;
};

struct Cluster {
  std::string key = test::make_key_file("cluster");
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("tandem_cluster_" + std::to_string(::getpid()));
  std::vector<Cloud> clouds;
  std::unique_ptr<DaemonProcess> haproxy, edge;
  std::uint16_t haproxy_port = 0, control_port = 0;
  std::string sock;

  ~Cluster() {
    edge.reset();
    haproxy.reset();
    clouds.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void start_clouds(const std::string& models) {
    std::filesystem::create_directories(dir);
    for (int i = 0; i < k_clouds; ++i) {
      Cloud c;
      c.process = std::make_unique<DaemonProcess>(
          k_bin + "/cloud_daemon",
          std::vector<std::string>{"--listen", "127.0.0.1:0", "--agent", "127.0.0.1:0", "--threads", "1", "--key-file",
                                   key, "--models", models, "--drain-grace", "3s"});
      clouds.push_back(std::move(c));
    }
    for (auto& c : clouds) {
      c.agent = c.process->wait_for_port("agent-check listening", k_start_timeout);
      c.port = c.process->wait_for_port("'tandem-cloud' listening", k_start_timeout);
      ASSERT_NE(c.port, 0) << c.process->output();
      ASSERT_NE(c.agent, 0) << c.process->output();
    }
  }

  // The shipped configuration with this cluster's address, socket and servers.
  std::string config(std::uint16_t port) const {
    std::ifstream in(k_source + "/deploy/haproxy/tandem.cfg");
    std::string line, out;
    bool in_servers = false;
    while (std::getline(in, line)) {
      if (line.find("# END SERVERS") != std::string::npos) in_servers = false;
      if (in_servers) continue;
      if (line.starts_with("    bind ")) line = "    bind 127.0.0.1:" + std::to_string(port);
      if (const auto at = line.find("/run/haproxy/tandem.sock"); at != std::string::npos) {
        line.replace(at, std::string("/run/haproxy/tandem.sock").size(), sock);
      }
      out += line + "\n";
      if (line.find("# BEGIN SERVERS") != std::string::npos) {
        in_servers = true;
        for (int i = 0; i < k_clouds; ++i) {
          out += "    server cloud" + std::to_string(i + 1) + " 127.0.0.1:" + std::to_string(clouds[i].port) +
                 " agent-port " + std::to_string(clouds[i].agent) + "\n";
        }
      }
    }
    return out;
  }

  void start_haproxy(const std::string& exe) {
    sock = (dir / "haproxy.sock").string();
    for (int attempt = 0; attempt < 5 && !haproxy; ++attempt) {
      const std::uint16_t port = test::free_loopback_port();
      std::ofstream(dir / "haproxy.cfg") << config(port);
      auto p = std::make_unique<DaemonProcess>(exe, std::vector<std::string>{"-db", "-f", (dir / "haproxy.cfg").string()});
      // Up once the stats socket answers; a port taken meanwhile ends the process: try another.
      const auto until = std::chrono::steady_clock::now() + k_haproxy_timeout;
      while (std::chrono::steady_clock::now() < until && !p->wait_exit(0ms)) {
        if (!test::unix_socket_command(sock, "show info").empty()) {
          haproxy = std::move(p);
          haproxy_port = port;
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
    }
    ASSERT_TRUE(haproxy) << "HAProxy did not start";
  }

  std::vector<StatRow> servers() const {
    std::vector<StatRow> out;
    for (auto& row : parse_stat(test::unix_socket_command(sock, "show stat"))) {
      if (row["pxname"] == "tandem_clouds" && row["svname"].starts_with("cloud")) out.push_back(row);
    }
    return out;
  }

  /// Waits (bounded) until `ok` holds for HAProxy's server rows; returns the last rows.
  template <typename F>
  std::vector<StatRow> wait_servers(F ok, std::chrono::milliseconds timeout = k_haproxy_timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::vector<StatRow> rows = servers();
    while (!ok(rows) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(100ms);
      rows = servers();
    }
    return rows;
  }

  /// The cloud the edge is connected through (one session open), waiting for it.
  int connected_cloud() const {
    int found = -1;
    wait_servers([&](const std::vector<StatRow>& rows) {
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].count("scur") && rows[i].at("scur") != "0" && rows[i].at("status").starts_with("UP")) {
          found = std::stoi(rows[i].at("svname").substr(5)) - 1;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  void start_edge(const std::string& models) {
    edge = std::make_unique<DaemonProcess>(
        k_bin + "/edge_daemon",
        std::vector<std::string>{"--cloud", "127.0.0.1:" + std::to_string(haproxy_port), "--key-file", key, "--profiles",
                                 k_profiles, "--control", "127.0.0.1:0", "--threads", "1", "--models", models,
                                 "--probe-interval", "200ms"});
    control_port = edge->wait_for_port("control listening", k_start_timeout);
    ASSERT_NE(control_port, 0) << edge->output();
  }
};

std::optional<TaskResult> next_result(control::Client& client) {
  auto reply = client.next(k_task_timeout);
  if (!reply) return std::nullopt;
  if (auto* r = std::get_if<TaskResult>(&*reply)) return *r;
  return std::nullopt;
}

TEST(Cluster, DrainedAndKilledCloudsBehindHAProxyLoseNoTask) {
  const std::string haproxy = test::find_program("haproxy");
  if (haproxy.empty()) GTEST_SKIP() << "haproxy is not installed (scripts/install-deps.sh --cluster)";
  Cluster c;
  const std::string models = "resnet18,lenet";
  ASSERT_NO_FATAL_FAILURE(c.start_clouds(models));
  ASSERT_NO_FATAL_FAILURE(c.start_haproxy(haproxy));
  // Every cloud up by its health check, and its agent answering with a weight.
  auto rows = c.wait_servers([](const std::vector<StatRow>& rs) {
    if (rs.size() != k_clouds) return false;
    for (const auto& r : rs) {
      if (!r.at("status").starts_with("UP") || r.at("agent_status") != "L7OK") return false;
    }
    return true;
  });
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(k_clouds));
  for (const auto& r : rows) {
    EXPECT_EQ(r.at("status"), "UP") << r.at("svname");
    EXPECT_EQ(r.at("agent_status"), "L7OK") << r.at("svname") << " " << r.at("agent_desc");
    EXPECT_EQ(r.at("weight"), "100") << r.at("svname");  // idle: up 100% of 100
  }
  ASSERT_NO_FATAL_FAILURE(c.start_edge(models));

  const auto r18 = build_model("resnet18");
  const auto cuts = articulation_cuts(r18->graph());
  const std::string cut = "cut:" + cuts[cuts.size() / 2].to_string();
  control::Client control("127.0.0.1", c.control_port);
  constexpr int k_tasks = 40;
  for (int i = 0; i < k_tasks; ++i) control.submit(testutil::make_task(i, "resnet18", i, cut, true));

  int results = 0, fallbacks = 0;
  const auto check = [&](const TaskResult& r) {
    ASSERT_TRUE(r.ok) << control::to_line(r);
    const at::Tensor want = r18->run(r18->make_input(r.task)).begin()->second;
    EXPECT_LE(testutil::max_rel_diff(r.outputs, want), 1e-4) << control::to_line(r);
    if (r.fallback) ++fallbacks;
  };
  const auto take = [&](int until) {
    for (; results < until; ++results) {
      const auto r = next_result(control);
      ASSERT_TRUE(r.has_value()) << "task lost\n" << c.edge->output();
      ASSERT_NO_FATAL_FAILURE(check(*r));
    }
  };

  ASSERT_NO_FATAL_FAILURE(take(3));
  const int drained = c.connected_cloud();
  ASSERT_GE(drained, 0);
  c.clouds[drained].process->signal(SIGTERM);
  // The agent says drain; HAProxy shows the server draining.
  rows = c.wait_servers([&](const std::vector<StatRow>& rs) {
    return rs.size() == k_clouds && rs[drained].at("status").starts_with("DRAIN");
  });
  EXPECT_EQ(rows[drained].at("status"), "DRAIN (agent)");
  // After its grace it stops; the edge reconnects through HAProxy elsewhere.
  ASSERT_TRUE(c.edge->wait_for_line(std::regex("connection #2"), 60s).has_value()) << c.edge->output();
  EXPECT_EQ(c.clouds[drained].process->wait_exit(60s), 0) << c.clouds[drained].process->output();
  ASSERT_NO_FATAL_FAILURE(take(results + 3));

  const int killed = c.connected_cloud();
  ASSERT_GE(killed, 0);
  ASSERT_NE(killed, drained);
  c.clouds[killed].process->signal(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(take(k_tasks));
  EXPECT_EQ(results, k_tasks);

  // The edge is back on the one live cloud: new tasks split again.
  ASSERT_TRUE(c.edge->wait_for_line(std::regex("connection #3"), 60s).has_value()) << c.edge->output();
  const int live = 3 - drained - killed;
  EXPECT_EQ(c.connected_cloud(), live);
  for (int i = 0; i < 4; ++i) control.submit(testutil::make_task(100 + i, "resnet18", 100 + i, cut, true));
  for (int i = 0; i < 4; ++i) {
    const auto r = next_result(control);
    ASSERT_TRUE(r.has_value()) << c.edge->output();
    ASSERT_NO_FATAL_FAILURE(check(*r));
    EXPECT_FALSE(r->fallback) << control::to_line(*r);
    EXPECT_EQ(r->placement, partition::Placement::split);
  }
  rows = c.wait_servers([&](const std::vector<StatRow>& rs) {
    return rs.size() == k_clouds && rs[drained].at("status").starts_with("DOWN") &&
           rs[killed].at("status").starts_with("DOWN");
  });
  EXPECT_TRUE(rows[drained].at("status").starts_with("DOWN")) << rows[drained].at("status");
  EXPECT_TRUE(rows[killed].at("status").starts_with("DOWN")) << rows[killed].at("status");
  EXPECT_EQ(rows[live].at("status"), "UP");
  RecordProperty("fallbacks", fallbacks);
}

}  // namespace
}  // namespace tandem
