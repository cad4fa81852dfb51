// edge_daemon: accepts tasks on its control port, plans each one against the
// live link, runs the edge side and sends the rest to cloud_daemon.

#include <fstream>

#include <cxxopts.hpp>
#include <fmt/format.h>

#include "app/cli.hpp"
#include "app/endpoint.hpp"
#include "app/logging.hpp"
#include "app/models.hpp"
#include "edge_daemon/edge_daemon.hpp"
#include "units/units.hpp"

namespace {

using namespace tandem;

// The control token: the file's first line, which must not be empty.
std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty()) {
    throw std::runtime_error(fmt::format("--control-token-file {}: cannot read a token from its first line", path));
  }
  return token;
}

std::chrono::milliseconds duration_flag(const cxxopts::ParseResult& args, const std::string& flag) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(app::parse_flag(args, flag, units::parse_duration_ms)));
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_main("edge_daemon", [&] {
    cxxopts::Options options(
        "edge_daemon",
        "Runs the edge side of split DNN inference. Tasks arrive on the control port\n"
        "(newline-delimited JSON; see README \"Control protocol\", or use tandem submit).\n"
        "Each task is planned with the device profiles and the measured bandwidth, RTT and\n"
        "cloud load; the edge computes its part and streams the crossing tensors to\n"
        "cloud_daemon. If the cloud is unreachable, too slow or lost mid-request, the edge\n"
        "finishes the task itself and says so in the result.\n"
        "Links: RATE[,rtt=TIME|,one-way=TIME], e.g. 5.85mbit,rtt=40ms; times: 150us, 20ms, 2s.");
    options.add_options()
        ("cloud", "cloud_daemon address", cxxopts::value<std::string>()->default_value("127.0.0.1:7070"), "HOST:PORT")
        ("no-cloud", "run every task on the edge (no cloud connection)")
        ("key-file", "shared key file (the cloud's)", cxxopts::value<std::string>(), "FILE")
        ("profiles", "directory holding the device profiles", cxxopts::value<std::string>()->default_value("profiles"), "DIR")
        ("edge-profile", "edge profile file name in --profiles", cxxopts::value<std::string>()->default_value("edge.json"), "FILE")
        ("cloud-profile", "cloud profile file name in --profiles", cxxopts::value<std::string>()->default_value("cloud.json"), "FILE")
        ("threads", "LibTorch intra-op threads on the edge", cxxopts::value<int>()->default_value("1"), "N")
        ("slowdown", "emulate a device F times slower: each side of a task computes, then waits (F-1)x its compute time", cxxopts::value<double>()->default_value("1"), "F")
        ("emulate-link", "shape the uplink to the cloud, e.g. 5.85mbit,rtt=40ms", cxxopts::value<std::string>(), "LINK")
        ("deadline", "default deadline of each task's cloud part (0ms: none)", cxxopts::value<std::string>()->default_value("0ms"), "TIME")
        ("no-pipeline", "wait for each task's cloud part before starting the next")
        ("no-calibrate", "plan with the profiles' compute costs as made; by default they are scaled by how "
                         "fast the last tasks really computed on each side (status: edge_compute_scale, "
                         "cloud_compute_scale)")
        ("scheduler", "timeline: plan each task on the edge/uplink/cloud timeline, waiting tasks ordered together; alone: each task as if alone (Neurosurgeon), for comparison", cxxopts::value<std::string>()->default_value("timeline"), "S")
        ("batch-window", "timeline: waiting tasks ordered and planned together (also the most later tasks that may overtake one)", cxxopts::value<std::size_t>()->default_value("16"), "N")
        ("heavy-backlog", "alone: plan for throughput while this many tasks wait (0: never)", cxxopts::value<std::size_t>()->default_value("4"), "N")
        ("assume-bandwidth", "uplink assumed before the first measurement", cxxopts::value<std::string>()->default_value("10mbit"), "RATE")
        ("probe-interval", "when idle, ask the cloud's load and probe the link this often", cxxopts::value<std::string>()->default_value("500ms"), "TIME")
        ("probe-duty", "idle probes hold the uplink at most this part of the time; on a slow link they space out (0-1]", cxxopts::value<double>()->default_value("0.1"), "F")
        ("input-dir", "tasks may name tensor files (input_file) under this directory only; default: none allowed", cxxopts::value<std::string>(), "DIR")
        ("privacy-floor", "nothing computed before this leaves the edge: layers:N (N weight layers deep on every path) or node:NAME; tasks may add to it", cxxopts::value<std::string>()->default_value("none"), "FLOOR")
        ("codec-accuracy", "measured top-1 change of lossy codecs per model (JSON, bench/joint.sh writes it), for tasks' accuracy budgets", cxxopts::value<std::string>(), "FILE")
        ("metrics", "serve Prometheus metrics at http://HOST:PORT/metrics", cxxopts::value<std::string>(), "HOST:PORT");
    options.add_options("control port")
        ("control", "control port address; port 0 picks one (logged)", cxxopts::value<std::string>()->default_value("127.0.0.1:7071"), "HOST:PORT")
        ("control-token-file", "clients must first send the token in this file's first line (required off loopback)", cxxopts::value<std::string>(), "FILE")
        ("control-max-line", "longest control line accepted", cxxopts::value<std::string>()->default_value("64KiB"), "SIZE")
        ("control-max-depth", "deepest nesting of arrays and objects in a control line (checked before parsing)", cxxopts::value<std::size_t>()->default_value("16"), "N")
        ("control-max-connections", "control connections open at once", cxxopts::value<std::size_t>()->default_value("64"), "N")
        ("control-max-unread", "replies a client may leave unread before it is disconnected", cxxopts::value<std::string>()->default_value("16MiB"), "SIZE")
        ("control-max-pending", "unanswered tasks per control connection", cxxopts::value<std::size_t>()->default_value("4096"), "N")
        ("control-idle-timeout", "close a control connection idle this long with nothing pending", cxxopts::value<std::string>()->default_value("120s"), "TIME");
    options.add_options("TLS to the cloud")
        ("tls-ca", "connect to the cloud over TLS, verifying its certificate against this PEM CA", cxxopts::value<std::string>(), "FILE")
        ("tls-cert", "present this PEM certificate to the cloud (mutual TLS; with --tls-key and --tls-ca)", cxxopts::value<std::string>(), "FILE")
        ("tls-key", "PEM private key of --tls-cert", cxxopts::value<std::string>(), "FILE");
    app::add_model_options(options, "cloud");
    app::add_log_options(options);
    const auto parsed = app::parse_args(options, argc, argv);
    if (!parsed) return app::k_exit_ok;
    const cxxopts::ParseResult& args = *parsed;
    app::setup_logging(args, "edge");

    edge::EdgeConfig c;
    if (args.count("no-cloud")) {
      c.cloud.reset();
    } else {
      c.key_file = app::required(args, "key-file", "or --no-cloud");
      c.cloud = app::parse_flag(args, "cloud", app::parse_endpoint);
    }
    const std::filesystem::path profiles = args["profiles"].as<std::string>();
    c.edge_profile = profiles / args["edge-profile"].as<std::string>();
    c.cloud_profile = profiles / args["cloud-profile"].as<std::string>();
    if (args.count("emulate-link")) c.emulate_link = app::parse_flag(args, "emulate-link", units::parse_link);
    c.models = app::model_options(args);
    c.service.threads = args["threads"].as<int>();
    c.service.slowdown = args["slowdown"].as<double>();
    if (c.service.threads < 1) throw app::UsageError("--threads must be at least 1");
    if (!(c.service.slowdown >= 1)) throw app::UsageError("--slowdown must be at least 1");
    c.service.pipeline = args.count("no-pipeline") == 0;
    c.service.calibrate_compute = args.count("no-calibrate") == 0;
    c.service.default_deadline_ms = app::parse_flag(args, "deadline", units::parse_duration_ms);
    c.service.assumed_bandwidth_bytes_per_s = app::parse_flag(args, "assume-bandwidth", units::parse_bandwidth);
    c.service.heavy_backlog = args["heavy-backlog"].as<std::size_t>();
    const auto scheduler = edge::scheduler_from_string(args["scheduler"].as<std::string>());
    if (!scheduler) {
      throw app::UsageError(fmt::format("--scheduler '{}': expected timeline or alone",
                                        app::printable(args["scheduler"].as<std::string>())));
    }
    c.service.scheduler = *scheduler;
    c.service.batch_window = args["batch-window"].as<std::size_t>();
    if (c.service.batch_window < 1 || c.service.batch_window > 64) {
      throw app::UsageError("--batch-window must be between 1 and 64 (planning time grows with its cube)");
    }
    if (args.count("input-dir")) c.service.input_dir = args["input-dir"].as<std::string>();
    c.service.privacy_floor = app::parse_flag(args, "privacy-floor", partition::parse_privacy_floor);
    if (args.count("codec-accuracy")) {
      c.service.codec_accuracy = std::make_shared<const edge::CodecAccuracy>(
          edge::load_codec_accuracy(args["codec-accuracy"].as<std::string>()));
    }
    c.probe_interval = duration_flag(args, "probe-interval");
    c.probe_duty = args["probe-duty"].as<double>();
    if (!(c.probe_duty > 0 && c.probe_duty <= 1)) {
      throw app::UsageError("--probe-duty must be above 0 and at most 1 (the part of the time idle probes may hold the uplink)");
    }
    if (args.count("metrics")) c.metrics = app::parse_flag(args, "metrics", app::parse_endpoint);

    c.control.listen = app::parse_flag(args, "control", app::parse_endpoint);
    if (args.count("control-token-file")) c.control.token = read_token(args["control-token-file"].as<std::string>());
    c.control.max_line_bytes = app::parse_flag(args, "control-max-line", units::parse_size);
    c.control.max_depth = args["control-max-depth"].as<std::size_t>();
    c.control.max_connections = args["control-max-connections"].as<std::size_t>();
    c.control.max_unread_bytes = app::parse_flag(args, "control-max-unread", units::parse_size);
    c.control.max_pending_tasks = args["control-max-pending"].as<std::size_t>();
    c.control.idle_timeout = duration_flag(args, "control-idle-timeout");
    if (c.control.max_line_bytes < 256 || c.control.max_connections < 1 || c.control.max_pending_tasks < 1 ||
        c.control.max_depth < 2 || c.control.max_depth > 256) {
      throw app::UsageError("--control-max-line must be at least 256B, --control-max-connections and "
                            "--control-max-pending at least 1, --control-max-depth from 2 to 256");
    }
    if (args.count("tls-ca")) c.tls.ca_file = args["tls-ca"].as<std::string>();
    if (args.count("tls-cert")) c.tls.cert_file = args["tls-cert"].as<std::string>();
    if (args.count("tls-key")) c.tls.key_file = args["tls-key"].as<std::string>();
    if (c.tls.cert_file.empty() != c.tls.key_file.empty() || (!c.tls.cert_file.empty() && c.tls.ca_file.empty())) {
      throw app::UsageError("--tls-cert and --tls-key go together, and need --tls-ca (the edge always verifies the cloud)");
    }
    return edge::run_edge_daemon(c);
  });
}
