// cloud_daemon: runs the cloud side of split inferences for many edges.

#include <cxxopts.hpp>
#include <fmt/format.h>

#include "app/cli.hpp"
#include "app/endpoint.hpp"
#include "app/logging.hpp"
#include "app/models.hpp"
#include "cloud_daemon/cloud_service.hpp"
#include "units/units.hpp"

namespace {

// A default from net::ServerConfig, as the flag's text ("512MiB").
std::string mib(std::size_t bytes) { return fmt::format("{}MiB", bytes >> 20); }

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  return app::run_main("cloud_daemon", [&] {
    cxxopts::Options options(
        "cloud_daemon",
        "Serves the cloud side of split DNN inference to many edge daemons.\n"
        "Edges connect over TCP, prove they hold the shared key, announce their models'\n"
        "weight fingerprints, then send the tensors crossing their cut; the daemon runs\n"
        "the rest of the graph and replies with the outputs. SIGINT/SIGTERM stop it\n"
        "after in-flight requests finish.");
    options.add_options()
        ("listen", "address to listen on; port 0 picks a free port (logged)",
         cxxopts::value<std::string>()->default_value("127.0.0.1:7070"), "HOST:PORT")
        ("threads", "LibTorch intra-op threads per request; on cores other busy processes share, use 1, or run under "
         "OMP_WAIT_POLICY=PASSIVE (the threads spin at a barrier after every operator, and one that lost its core "
         "stalls the rest)", cxxopts::value<int>()->default_value("2"), "N")
        ("workers", "requests computed at once; keep workers x threads within the cores (each worker's OpenMP team "
         "counts, and past the cores its barriers stop spinning)", cxxopts::value<std::size_t>()->default_value("1"), "N")
        ("key-file", "shared key file (16+ random bytes, mode 600), e.g. head -c 32 /dev/urandom > key",
         cxxopts::value<std::string>(), "FILE")
        ("metrics", "serve Prometheus metrics at http://HOST:PORT/metrics", cxxopts::value<std::string>(), "HOST:PORT");
    options.add_options("HAProxy")
        ("agent", "answer HAProxy's agent-check here: 'up N%' (weight from queue and service time), "
                  "'drain' while stopping, 'down' while loading", cxxopts::value<std::string>(), "HOST:PORT")
        ("agent-reference", "expected queue wait at which the agent's weight halves",
         cxxopts::value<std::string>()->default_value("100ms"), "TIME")
        ("drain-grace", "with --agent: on SIGTERM say 'drain' this long before refusing requests (a second signal cuts it short)",
         cxxopts::value<std::string>()->default_value("2s"), "TIME");
    const tandem::net::ServerConfig defaults;
    options.add_options("limits (docs/design.md §6)")
        ("max-connections", "edge connections at once; more get ERROR overloaded and are closed",
         cxxopts::value<std::size_t>()->default_value(std::to_string(defaults.max_connections)), "N")
        ("max-in-flight", "requests in flight on one connection; more are answered ERROR overloaded at once "
         "(the edge computes them itself)",
         cxxopts::value<std::size_t>()->default_value(std::to_string(defaults.max_in_flight_per_connection)), "N")
        ("max-in-flight-total", "requests in flight over all connections; more are answered ERROR overloaded",
         cxxopts::value<std::size_t>()->default_value(std::to_string(defaults.max_in_flight_total)), "N")
        ("max-connection-bytes", "memory one connection may hold: frames arriving, requests, unwritten replies",
         cxxopts::value<std::string>()->default_value(mib(defaults.max_connection_bytes)), "SIZE")
        ("max-total-bytes", "memory all connections together may hold",
         cxxopts::value<std::string>()->default_value(mib(defaults.max_total_bytes)), "SIZE")
        ("max-probe-reply", "largest PROBE reply an edge may ask for",
         cxxopts::value<std::string>()->default_value(mib(defaults.max_probe_reply)), "SIZE");
    options.add_options("TLS")
        ("tls-cert", "serve TLS with this PEM certificate chain (with --tls-key); edges then need --tls-ca",
         cxxopts::value<std::string>(), "FILE")
        ("tls-key", "PEM private key of --tls-cert", cxxopts::value<std::string>(), "FILE")
        ("tls-ca", "require edges to present a certificate signed by this PEM CA (mutual TLS)",
         cxxopts::value<std::string>(), "FILE");
    app::add_model_options(options, "edge");
    app::add_log_options(options);
    const auto parsed = app::parse_args(options, argc, argv);
    if (!parsed) return app::k_exit_ok;
    const cxxopts::ParseResult& args = *parsed;
    app::setup_logging(args, "cloud");

    cloud::CloudConfig config;
    config.listen = app::parse_flag(args, "listen", app::parse_endpoint);
    config.threads = args["threads"].as<int>();
    config.workers = args["workers"].as<std::size_t>();
    if (config.threads < 1 || config.workers < 1) {
      throw app::UsageError("--threads and --workers must be at least 1");
    }
    config.key_file = app::required(args, "key-file", "the edge daemons use the same file");
    config.models = app::model_options(args);
    if (args.count("metrics")) config.metrics = app::parse_flag(args, "metrics", app::parse_endpoint);
    if (args.count("agent")) config.agent = app::parse_flag(args, "agent", app::parse_endpoint);
    config.agent_reference_ms = app::parse_flag(args, "agent-reference", units::parse_duration_ms);
    if (!(config.agent_reference_ms > 0)) throw app::UsageError("--agent-reference must be above 0ms");
    config.drain_grace = std::chrono::milliseconds(
        static_cast<std::int64_t>(app::parse_flag(args, "drain-grace", units::parse_duration_ms)));

    net::ServerConfig& limits = config.limits;
    limits.max_connections = args["max-connections"].as<std::size_t>();
    limits.max_in_flight_per_connection = args["max-in-flight"].as<std::size_t>();
    limits.max_in_flight_total = args["max-in-flight-total"].as<std::size_t>();
    limits.max_connection_bytes = app::parse_flag(args, "max-connection-bytes", units::parse_size);
    limits.max_total_bytes = app::parse_flag(args, "max-total-bytes", units::parse_size);
    const std::uint64_t probe_reply = app::parse_flag(args, "max-probe-reply", units::parse_size);
    if (limits.max_connections < 1 || limits.max_in_flight_per_connection < 1 || limits.max_in_flight_total < 1) {
      throw app::UsageError("--max-connections, --max-in-flight and --max-in-flight-total must be at least 1");
    }
    if (limits.max_connection_bytes < config.max_payload || limits.max_total_bytes < limits.max_connection_bytes) {
      throw app::UsageError(fmt::format("--max-connection-bytes must be at least the largest frame ({} bytes) and "
                                        "--max-total-bytes at least --max-connection-bytes",
                                        config.max_payload));
    }
    if (probe_reply > config.max_payload) {
      throw app::UsageError(fmt::format("--max-probe-reply must be at most the largest frame ({} bytes)",
                                        config.max_payload));
    }
    limits.max_probe_reply = static_cast<std::uint32_t>(probe_reply);
    if (args.count("tls-cert")) config.tls.cert_file = args["tls-cert"].as<std::string>();
    if (args.count("tls-key")) config.tls.key_file = args["tls-key"].as<std::string>();
    if (args.count("tls-ca")) config.tls.ca_file = args["tls-ca"].as<std::string>();
    if (config.tls.cert_file.empty() != config.tls.key_file.empty() ||
        (!config.tls.ca_file.empty() && config.tls.cert_file.empty())) {
      throw app::UsageError("--tls-cert and --tls-key go together, and --tls-ca needs them");
    }
    return cloud::run_cloud_daemon(config);
  });
}
