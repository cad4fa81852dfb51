#include "edge_daemon/edge_daemon.hpp"


#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "edge_daemon/control_server.hpp"
#include "net/endpoint.hpp"
#include "net/link_emulator.hpp"
#include "net/metrics.hpp"
#include "net/process.hpp"
#include "predictor/predictor.hpp"

namespace tandem::edge {

std::vector<double> predict_node_ms(const std::filesystem::path& profile, const GraphDesc& graph) {
  return predictor::Predictor(predictor::load_profile(profile)).node_ms(graph);
}

int run_edge_daemon(const EdgeConfig& config, const std::function<void(std::uint16_t)>& on_ready,
                    const std::function<bool()>& should_stop) {
  // Before any thread starts (LibTorch's included): only the wait below
  // receives SIGINT/SIGTERM.
  const net::ShutdownSignals signals;
  at::set_num_threads(config.service.threads);
  ModelSet models = load_models(config.models, config.seed, config.weights_dir);

  auto planner = std::make_shared<Planner>();
  const predictor::Predictor edge_predictor(
      predictor::load_profile(config.profiles_dir / config.edge_profile));
  const predictor::Predictor cloud_predictor(
      predictor::load_profile(config.profiles_dir / config.cloud_profile));
  for (const auto& [name, model] : models) {
    planner->add_model(model->graph(), {edge_predictor.node_ms(model->graph()),
                                        cloud_predictor.node_ms(model->graph())});
    model->run(model->make_input(0));  // warm-up: oneDNN builds kernels on first use
    spdlog::info("model {} ready, weights {:016x}", name, model->fingerprint());
  }

  std::shared_ptr<CloudLink> link;
  if (!config.no_cloud) {
    auto key = net::AuthKey::from_file(config.key_file);
    if (!key) throw std::runtime_error(key.error().message);
    CloudLinkConfig lc;
    lc.host = config.cloud_host;
    lc.port = config.cloud_port;
    lc.probe_interval = config.probe_interval;
    for (const auto& [name, model] : models) lc.client.models.push_back({name, model->fingerprint()});
    if (!config.emulate_link.empty()) {
      auto spec = net::parse_link_spec(config.emulate_link);
      if (!spec) throw std::runtime_error(spec.error().message);
      lc.client.link = spec.value();
      spdlog::info("emulating the uplink: {}", net::to_string(spec.value()));
    }
    link = std::make_shared<CloudLink>(std::move(lc), std::move(key.value()));
    link->start();
    if (!link->wait_connected(std::chrono::seconds(5))) {
      spdlog::warn("cloud {}:{} not reachable yet ({}); tasks run on the edge until it is",
                   config.cloud_host, config.cloud_port, link->last_error());
    }
  }

  auto metrics = std::make_shared<net::MetricsRegistry>();
  EdgeService service(config.service, std::move(models), planner, link, metrics);
  metrics->gauge_fn("tandem_edge_queue_length", "Tasks waiting in the edge queue.",
                    [&service] { return static_cast<double>(service.stats().queued); });
  metrics->gauge_fn("tandem_edge_in_flight", "Tasks started and not finished.",
                    [&service] { return static_cast<double>(service.stats().in_flight); });
  metrics->gauge_fn("tandem_edge_heavy_mode", "1 while a backlog makes the edge plan for throughput.",
                    [&service] { return service.stats().heavy ? 1.0 : 0.0; });
  if (link) {
    metrics->gauge_fn("tandem_edge_bandwidth_mbit", "Uplink bandwidth estimate (Mbit/s; 0 before any sample).",
                      [link] { return link->estimate().mbit().value_or(0.0); });
    metrics->gauge_fn("tandem_edge_rtt_ms", "Round-trip time estimate (ms; 0 before any sample).",
                      [link] { return link->estimate().rtt_ms.value_or(0.0); });
    metrics->gauge_fn("tandem_edge_cloud_connected", "1 while connected to the cloud.",
                      [link] { return link->connected() ? 1.0 : 0.0; });
    metrics->gauge_fn("tandem_edge_cloud_queue_length", "Cloud queue length last reported.",
                      [link] { return static_cast<double>(link->cloud_load().queue_length); });
  }
  net::MetricsServer metrics_server(metrics);
  if (!config.metrics.empty()) {
    const auto ep = net::parse_endpoint(config.metrics);
    if (auto ec = metrics_server.start(ep.host, ep.port)) {
      throw std::runtime_error(fmt::format("cannot serve metrics on {}: {}", config.metrics, ec.message()));
    }
    spdlog::info("metrics listening on {}:{}", ep.host, metrics_server.port());
  }
  auto status = [&]() {
    const EdgeStats s = service.stats();
    nlohmann::json j{{"submitted", s.submitted}, {"completed", s.completed}, {"failed", s.failed},
                     {"fallbacks", s.fallbacks}, {"queued", s.queued},       {"in_flight", s.in_flight},
                     {"edge_only", s.edge_only}, {"split", s.split},         {"cloud_only", s.cloud_only},
                     {"cloud_connected", link && link->connected()}};
    if (link) {
      const auto est = link->estimate();
      j["bandwidth_mbit"] = est.mbit() ? nlohmann::json(*est.mbit()) : nlohmann::json(nullptr);
      j["rtt_ms"] = est.rtt_ms ? nlohmann::json(*est.rtt_ms) : nlohmann::json(nullptr);
      j["cloud_connections"] = link->connections();
      const auto load = link->cloud_load();
      j["cloud_queue_length"] = load.queue_length;
      j["cloud_recent_service_ms"] = load.recent_service_ms;
    }
    return j;
  };
  ControlServer control(config.control_host, config.control_port, service, status);
  if (auto ec = control.start()) {
    throw std::runtime_error(fmt::format("cannot listen for control on {}:{}: {}",
                                         config.control_host, config.control_port, ec.message()));
  }
  spdlog::info("control listening on {}:{}", config.control_host, control.port());
  if (on_ready) on_ready(control.port());

  spdlog::info("{}: finishing queued tasks", signals.wait(should_stop));
  // Finish queued work while the control port can still deliver results.
  service.drain(std::chrono::minutes(5));
  control.stop();
  metrics_server.stop();
  const EdgeStats s = service.stats();
  spdlog::info("stopped: {} tasks completed ({} fell back), {} failed", s.completed, s.fallbacks,
               s.failed);
  return 0;
}

}  // namespace tandem::edge
