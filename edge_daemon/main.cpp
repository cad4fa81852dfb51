// edge_daemon: accepts tasks on its control port, plans each one against the
// live link, runs the edge side and sends the rest to cloud_daemon.

#include <cxxopts.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "edge_daemon/edge_daemon.hpp"
#include "net/endpoint.hpp"
#include "partition/units.hpp"

int main(int argc, char** argv) {
  cxxopts::Options options(
      "edge_daemon",
      "Runs the edge side of split DNN inference. Tasks arrive on the control port\n"
      "(newline-delimited JSON; see README \"Control protocol\", or use tandem submit).\n"
      "Each task is planned with the device profiles and the measured bandwidth, RTT and\n"
      "cloud load; the edge computes its part and streams the crossing tensors to\n"
      "cloud_daemon. If the cloud is unreachable, too slow or lost mid-request, the edge\n"
      "finishes the task itself and says so in the result.");
  options.add_options()
      ("cloud", "cloud_daemon address", cxxopts::value<std::string>()->default_value("127.0.0.1:7070"), "HOST:PORT")
      ("no-cloud", "run every task on the edge (no cloud connection)")
      ("key-file", "shared key file (same as the cloud's)", cxxopts::value<std::string>(), "FILE")
      ("profiles", "directory holding edge.json and cloud.json", cxxopts::value<std::string>()->default_value("profiles"), "DIR")
      ("edge-profile", "edge profile file name in --profiles", cxxopts::value<std::string>()->default_value("edge.json"), "FILE")
      ("cloud-profile", "cloud profile file name in --profiles", cxxopts::value<std::string>()->default_value("cloud.json"), "FILE")
      ("threads", "LibTorch intra-op threads on the edge", cxxopts::value<int>()->default_value("1"), "N")
      ("slowdown", "stretch each node's compute time by F (emulates a slower device)", cxxopts::value<double>()->default_value("1"), "F")
      ("control", "control port address; port 0 picks one (logged)", cxxopts::value<std::string>()->default_value("127.0.0.1:7071"), "HOST:PORT")
      ("emulate-link", "shape the uplink: RATE[,DELAY] e.g. 5.85mbit,20ms (delay one-way)", cxxopts::value<std::string>(), "SPEC")
      ("models", "models to load, comma-separated, or all", cxxopts::value<std::string>()->default_value("all"), "LIST")
      ("seed", "weights seed (must match the cloud's)", cxxopts::value<std::uint64_t>()->default_value("0"), "N")
      ("weights-dir", "load <DIR>/<model>.tw instead of seeded weights", cxxopts::value<std::string>(), "DIR")
      ("deadline", "default per-task deadline for the cloud part (0: none)", cxxopts::value<std::string>()->default_value("0ms"), "TIME")
      ("no-pipeline", "wait for each task's cloud part before starting the next")
      ("assume-bandwidth", "uplink assumed before the first measurement", cxxopts::value<std::string>()->default_value("10mbit"), "RATE")
      ("probe-interval", "probe the link when idle this often", cxxopts::value<std::string>()->default_value("2s"), "TIME")
      ("metrics", "serve Prometheus metrics at http://HOST:PORT/metrics", cxxopts::value<std::string>(), "HOST:PORT")
      ("heavy-backlog", "plan for throughput while this many tasks wait (0: never)", cxxopts::value<std::size_t>()->default_value("4"), "N")
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
    spdlog::set_level(spdlog::level::from_str(args["log-level"].as<std::string>()));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e edge %^%l%$ %v");

    tandem::edge::EdgeConfig c;
    c.no_cloud = args.count("no-cloud") > 0;
    if (!c.no_cloud) {
      if (!args.count("key-file")) throw std::invalid_argument("--key-file is required (or --no-cloud)");
      c.key_file = args["key-file"].as<std::string>();
      const auto cloud = tandem::net::parse_endpoint(args["cloud"].as<std::string>());
      c.cloud_host = cloud.host;
      c.cloud_port = cloud.port;
    }
    c.profiles_dir = args["profiles"].as<std::string>();
    c.edge_profile = args["edge-profile"].as<std::string>();
    c.cloud_profile = args["cloud-profile"].as<std::string>();
    const auto control = tandem::net::parse_endpoint(args["control"].as<std::string>());
    c.control_host = control.host;
    c.control_port = control.port;
    if (args.count("emulate-link")) c.emulate_link = args["emulate-link"].as<std::string>();
    c.models = tandem::net::split_list(args["models"].as<std::string>());
    c.seed = args["seed"].as<std::uint64_t>();
    if (args.count("weights-dir")) c.weights_dir = args["weights-dir"].as<std::string>();
    c.service.threads = args["threads"].as<int>();
    c.service.slowdown = args["slowdown"].as<double>();
    if (c.service.threads < 1) throw std::invalid_argument("--threads must be at least 1");
    if (!(c.service.slowdown >= 1)) throw std::invalid_argument("--slowdown must be at least 1");
    c.service.pipeline = args.count("no-pipeline") == 0;
    c.service.default_deadline_ms = tandem::partition::parse_duration_ms(args["deadline"].as<std::string>());
    c.service.assumed_bandwidth_bytes_per_s =
        tandem::partition::parse_bandwidth(args["assume-bandwidth"].as<std::string>());
    c.probe_interval = std::chrono::milliseconds(static_cast<long>(
        tandem::partition::parse_duration_ms(args["probe-interval"].as<std::string>())));
    if (args.count("metrics")) c.metrics = args["metrics"].as<std::string>();
    c.service.heavy_backlog = args["heavy-backlog"].as<std::size_t>();
    return tandem::edge::run_edge_daemon(c);
  } catch (const std::exception& e) {
    fmt::print(stderr, "edge_daemon: {}\n", e.what());
    return 1;
  }
}
