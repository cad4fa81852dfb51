// cloud_daemon: runs the cloud side of split inferences for many edges.

#include <cstdio>

#include <cxxopts.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cloud_daemon/cloud_service.hpp"
#include "net/endpoint.hpp"

int main(int argc, char** argv) {
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
      ("key-file", "shared key file (32+ random bytes, e.g. head -c 32 /dev/urandom > key)",
       cxxopts::value<std::string>(), "FILE")
      ("models", "models to serve, comma-separated, or all",
       cxxopts::value<std::string>()->default_value("all"), "LIST")
      ("seed", "weights seed (must match the edge's)", cxxopts::value<std::uint64_t>()->default_value("0"), "N")
      ("weights-dir", "load <DIR>/<model>.tw instead of seeded weights", cxxopts::value<std::string>(), "DIR")
      ("metrics", "serve Prometheus metrics at http://HOST:PORT/metrics", cxxopts::value<std::string>(), "HOST:PORT")
      ("log-level", "trace, debug, info, warn, error", cxxopts::value<std::string>()->default_value("info"), "L")
      ("h,help", "show this help");
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      fmt::print("{}\n", options.help());
      return 0;
    }
    if (!args.unmatched().empty()) {
      throw std::invalid_argument(fmt::format("unexpected argument '{}'", args.unmatched().front()));
    }
    if (!args.count("key-file")) throw std::invalid_argument("--key-file is required");
    spdlog::set_level(spdlog::level::from_str(args["log-level"].as<std::string>()));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e cloud %^%l%$ %v");

    tandem::cloud::CloudConfig config;
    const auto endpoint = tandem::net::parse_endpoint(args["listen"].as<std::string>());
    config.host = endpoint.host;
    config.port = endpoint.port;
    config.threads = args["threads"].as<int>();
    config.workers = args["workers"].as<std::size_t>();
    if (config.threads < 1 || config.workers < 1) {
      throw std::invalid_argument("--threads and --workers must be at least 1");
    }
    config.key_file = args["key-file"].as<std::string>();
    config.models = tandem::net::split_list(args["models"].as<std::string>());
    config.seed = args["seed"].as<std::uint64_t>();
    if (args.count("weights-dir")) config.weights_dir = args["weights-dir"].as<std::string>();
    if (args.count("metrics")) config.metrics = args["metrics"].as<std::string>();
    return tandem::cloud::run_cloud_daemon(config);
  } catch (const std::exception& e) {
    fmt::print(stderr, "cloud_daemon: {}\n", e.what());
    return 1;
  }
}
