// bench_tls: what TLS costs the edge–cloud link, over loopback, with
// net::Server and net::Client directly (no models): the latency of a small
// request, the time to upload a large tensor, and the connect (handshake)
// time — plain TCP against TLS (one-way: the client verifies the server).
// Certificates are made at start in a temporary directory (P-256 keys) and
// removed at exit. Runs alternate plain / TLS so that drift on a shared
// machine hits both alike; each run reports its median, and the summary is
// the median over runs (with the range).
//
//   build/bin/bench_tls [--runs 7] [--small 200] [--large 10] [--large-mb 10]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/cli.hpp"
#include "net/client.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"
#include "testutil/test_pki.hpp"

namespace {

using namespace tandem;
using clock_type = std::chrono::steady_clock;
constexpr std::uint64_t k_fingerprint = 42;

// Replies to every request with one small tensor, so a large request times its upload.
class SmallReplyHandler : public net::ServerHandler {
 public:
  std::optional<net::Error> check_models(const std::vector<net::ModelFingerprint>&) override { return std::nullopt; }
  void infer(const net::InferContext&, net::InferRequest request, net::Responder responder) override {
    net::InferResult result;
    const float first = request.tensors.empty() ? 0.0f : net::to_floats(request.tensors[0]).front();
    result.outputs.push_back(net::make_f32_tensor(1, {1, 4}, {first, 0, 0, 0}));
    responder.reply(std::move(result));
  }
};

net::InferRequest request_of(std::size_t floats) {
  net::InferRequest r;
  r.model = "bench";
  r.edge_nodes = {true, false};
  r.tensors.push_back(net::make_f32_tensor(0, {1, static_cast<std::int64_t>(floats)}, std::vector<float>(floats, 1.0f)));
  return r;
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Round-trip times of `count` requests of `floats` each, one at a time.
std::vector<double> time_requests(net::Client& client, std::size_t floats, int count) {
  const net::InferRequest request = request_of(floats);
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    const auto start = clock_type::now();
    auto r = client.infer(request).get();
    if (!r) throw std::runtime_error("request failed: " + r.error().message);
    ms.push_back(ms_since(start));
  }
  return ms;
}

struct Side {
  const char* name;
  std::unique_ptr<net::Server> server;
  net::ClientConfig client_config;
  std::unique_ptr<net::Client> client;
  std::vector<double> connect_ms, small_ms, large_ms;  // one median per run
};

struct Summary {
  double median, low, high;
};
Summary summarise(const std::vector<double>& v) {
  return {median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_main("bench_tls", [&] {
    cxxopts::Options options("bench_tls", "Latency and throughput cost of TLS on the edge-cloud link, over loopback.");
    options.add_options()
        ("runs", "alternating plain/TLS runs", cxxopts::value<int>()->default_value("7"), "N")
        ("small", "small requests (1 KiB tensor) per run", cxxopts::value<int>()->default_value("200"), "N")
        ("large", "large requests per run", cxxopts::value<int>()->default_value("10"), "N")
        ("large-mb", "size of the large request's tensor, MB", cxxopts::value<int>()->default_value("10"), "MB")
        ("connects", "connects (TCP + TLS + HMAC handshakes) per run", cxxopts::value<int>()->default_value("20"), "N");
    const auto parsed = app::parse_args(options, argc, argv);
    if (!parsed) return app::k_exit_ok;
    const auto& args = *parsed;
    const int runs = args["runs"].as<int>(), small = args["small"].as<int>(), large = args["large"].as<int>();
    const int connects = args["connects"].as<int>();
    const std::size_t large_floats = static_cast<std::size_t>(args["large-mb"].as<int>()) * 1'000'000 / 4;
    if (runs < 1 || small < 1 || large < 1 || connects < 1 || large_floats < 1) {
      throw app::UsageError("--runs, --small, --large, --connects and --large-mb must be at least 1");
    }
    spdlog::set_level(spdlog::level::warn);

    const testutil::TestPki pki;
    auto server_tls = net::make_tls_context(net::TlsRole::server, {pki.server_cert, pki.server_key, ""});
    auto client_tls = net::make_tls_context(net::TlsRole::client, {"", "", pki.ca_cert});
    if (!server_tls || !client_tls) throw std::runtime_error("TLS set-up failed");
    std::vector<std::unique_ptr<Side>> sides;
    for (const bool tls : {false, true}) {
      auto side = std::make_unique<Side>();
      side->name = tls ? "TLS" : "plain";
      net::ServerConfig sc;
      sc.worker_threads = 1;
      if (tls) sc.tls = server_tls.value();
      net::AuthKey key = net::AuthKey::from_bytes(std::vector<std::uint8_t>(32, 7)).value();
      side->server = std::make_unique<net::Server>(sc, key, std::make_shared<SmallReplyHandler>());
      if (auto ec = side->server->start()) throw std::runtime_error("server: " + ec.message());
      side->client_config.models = {{"bench", k_fingerprint}};
      if (tls) side->client_config.tls = client_tls.value();
      side->client = std::make_unique<net::Client>(side->client_config, key);
      auto ack = side->client->connect("127.0.0.1", side->server->port());
      if (!ack) throw std::runtime_error("connect: " + ack.error().message);
      time_requests(*side->client, 256, 20);  // warm-up
      time_requests(*side->client, large_floats, 2);
      sides.push_back(std::move(side));
    }

    for (int run = 0; run < runs; ++run) {
      for (auto& s : sides) {
        std::vector<double> connect_ms;
        for (int i = 0; i < connects; ++i) {
          net::Client c(s->client_config, net::AuthKey::from_bytes(std::vector<std::uint8_t>(32, 7)).value());
          const auto start = clock_type::now();
          auto ack = c.connect("127.0.0.1", s->server->port());
          if (!ack) throw std::runtime_error("connect: " + ack.error().message);
          connect_ms.push_back(ms_since(start));
        }
        s->connect_ms.push_back(median(connect_ms));
        s->small_ms.push_back(median(time_requests(*s->client, 256, small)));
        s->large_ms.push_back(median(time_requests(*s->client, large_floats, large)));
      }
      std::fprintf(stderr, "run %d/%d done\n", run + 1, runs);
    }

    const double mb = static_cast<double>(large_floats) * 4 / 1e6;
    fmt::print("bench_tls: loopback, {} runs alternating plain/TLS; per run the median of {} connects, {} small "
               "requests (1 KiB), {} large requests ({:.0f} MB)\n",
               runs, connects, small, large, mb);
    fmt::print("{:<6} {:>22} {:>24} {:>26} {:>16}\n", "", "connect ms", "small request ms", "large request ms",
               "upload MB/s");
    for (const auto& s : sides) {
      const Summary c = summarise(s->connect_ms), sm = summarise(s->small_ms), lg = summarise(s->large_ms);
      fmt::print("{:<6} {:>8.3f} [{:.3f}-{:.3f}] {:>10.3f} [{:.3f}-{:.3f}] {:>10.2f} [{:.2f}-{:.2f}] {:>16.0f}\n", s->name,
                 c.median, c.low, c.high, sm.median, sm.low, sm.high, lg.median, lg.low, lg.high, mb / (lg.median / 1e3));
    }
    const Summary plain_small = summarise(sides[0]->small_ms), tls_small = summarise(sides[1]->small_ms);
    const Summary plain_large = summarise(sides[0]->large_ms), tls_large = summarise(sides[1]->large_ms);
    const Summary plain_connect = summarise(sides[0]->connect_ms), tls_connect = summarise(sides[1]->connect_ms);
    fmt::print("TLS cost: small request {:+.3f} ms ({:+.0f}%), {:.0f} MB upload {:+.2f} ms ({:+.0f}%), connect {:+.3f} ms\n",
               tls_small.median - plain_small.median, 100 * (tls_small.median / plain_small.median - 1), mb,
               tls_large.median - plain_large.median, 100 * (tls_large.median / plain_large.median - 1),
               tls_connect.median - plain_connect.median);
    return app::k_exit_ok;
  });
}
