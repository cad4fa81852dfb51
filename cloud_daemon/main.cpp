// cloud_daemon: runs the cloud side of split inferences for many edges.

#include <cxxopts.hpp>

#include "app/cli.hpp"
#include "app/endpoint.hpp"
#include "app/logging.hpp"
#include "app/models.hpp"
#include "cloud_daemon/cloud_service.hpp"
#include "units/units.hpp"

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
        ("threads", "LibTorch intra-op threads per request", cxxopts::value<int>()->default_value("2"), "N")
        ("workers", "requests computed at once", cxxopts::value<std::size_t>()->default_value("1"), "N")
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
    return cloud::run_cloud_daemon(config);
  });
}
