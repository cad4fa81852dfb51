#include "edge_daemon/edge_daemon.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/daemon.hpp"
#include "app/metrics.hpp"
#include "app/serving.hpp"

namespace tandem::edge {
namespace {

net::LinkSpec emulation(const units::Link& link) {
  net::LinkSpec spec;
  spec.rate_bytes_per_s = link.bytes_per_s.value_or(0);
  spec.added_rtt = std::chrono::microseconds(static_cast<std::int64_t>(link.rtt_ms * 1e3));
  return spec;
}

void add_gauges(app::Metrics& metrics, const EdgeService& service, const std::shared_ptr<CloudLink>& link) {
  metrics.gauge_fn("tandem_edge_queue_length", "Tasks waiting in the edge queue.",
                   [&service] { return static_cast<double>(service.stats().queued); });
  metrics.gauge_fn("tandem_edge_in_flight", "Tasks started and not finished.",
                   [&service] { return static_cast<double>(service.stats().in_flight); });
  metrics.gauge_fn("tandem_edge_uplink_queue_length", "Tasks whose edge side is done, waiting for or on the uplink.",
                   [&service] { return static_cast<double>(service.stats().uplink_queued); });
  metrics.gauge_fn("tandem_edge_heavy_mode", "1 while a backlog makes the edge plan for throughput.",
                   [&service] { return service.stats().heavy ? 1.0 : 0.0; });
  metrics.gauge_fn("tandem_edge_edge_compute_scale",
                   "Measured / profiled edge compute of recent tasks (1: as profiled).",
                   [&service] { return service.stats().edge_compute_scale; });
  metrics.gauge_fn("tandem_edge_cloud_compute_scale",
                   "Measured / profiled cloud compute of recent tasks (1: as profiled).",
                   [&service] { return service.stats().cloud_compute_scale; });
  if (!link) return;
  metrics.gauge_fn("tandem_edge_bandwidth_mbit", "Uplink bandwidth estimate (Mbit/s; 0 before any sample).",
                   [link] { return link->estimate().mbit().value_or(0.0); });
  metrics.gauge_fn("tandem_edge_rtt_ms", "Round-trip time estimate (ms; 0 before any sample).",
                   [link] { return link->estimate().rtt_ms.value_or(0.0); });
  metrics.gauge_fn("tandem_edge_cloud_connected", "1 while connected to the cloud.",
                   [link] { return link->connected() ? 1.0 : 0.0; });
  metrics.gauge_fn("tandem_edge_cloud_queue_length", "Cloud queue length last reported.",
                   [link] { return static_cast<double>(link->cloud_load().queue_length); });
}

}  // namespace

int run_edge_daemon(const EdgeConfig& config, const std::function<void(std::uint16_t)>& on_ready,
                    const std::function<bool()>& should_stop) {
  // Before any thread starts (LibTorch's included): only the wait below
  // receives SIGINT/SIGTERM.
  const app::ShutdownSignals signals;
  auto planner = planner::Planner::from_profiles(config.edge_profile, config.cloud_profile);
  // LibTorch computes on the compute thread only (app/serving.hpp: why not here).
  ModelSet models = app::load_serving_models(config.models, config.service.threads);
  for (const auto& [name, model] : models) {
    planner->add_model(model->graph());
    try {
      partition::privacy_pinned(model->graph(), config.service.privacy_floor);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("--privacy-floor {}: {}", partition::to_string(config.service.privacy_floor),
                                           e.what()));
    }
  }
  if (!config.service.privacy_floor.empty()) {
    spdlog::info("privacy floor {}: nothing before it leaves the edge", partition::to_string(config.service.privacy_floor));
  }

  std::shared_ptr<CloudLink> link;
  if (config.cloud) {
    CloudLinkConfig lc;
    lc.host = config.cloud->host;
    lc.port = config.cloud->port;
    lc.probe_interval = config.probe_interval;
    lc.probe_duty = config.probe_duty;
    for (const auto& [name, model] : models) lc.client.models.push_back({name, model->fingerprint()});
    if (!config.tls.ca_file.empty() || !config.tls.cert_file.empty() || !config.tls.key_file.empty()) {
      auto tls = net::make_tls_context(net::TlsRole::client, config.tls);
      if (!tls) throw std::runtime_error(tls.error().message);
      lc.client.tls = std::move(tls).value();
      spdlog::info("connecting to the cloud over TLS{}", config.tls.cert_file.empty() ? "" : " with a client certificate");
    }
    if (config.emulate_link) {
      lc.client.link = emulation(*config.emulate_link);
      spdlog::info("emulating the uplink: {}", units::to_string(*config.emulate_link));
    }
    link = std::make_shared<CloudLink>(std::move(lc), app::load_key_file(config.key_file));
    link->start();
    if (!link->wait_connected(std::chrono::seconds(5))) {
      spdlog::warn("cloud {}:{} not reachable yet ({}); tasks run on the edge until it is", config.cloud->host,
                   config.cloud->port, link->last_error());
    }
  }

  app::Metrics metrics;
  EdgeService service(config.service, std::move(models), planner, link, &metrics);
  add_gauges(metrics, service, link);
  std::optional<app::MetricsHttp> metrics_http;
  if (config.metrics) {
    metrics_http.emplace(metrics, *config.metrics);
    spdlog::info("metrics listening on {}:{}", config.metrics->host, metrics_http->port());
  }
  ControlServer control(config.control, service);
  if (auto ec = control.start()) {
    throw std::runtime_error(fmt::format("cannot listen for control on {}:{}: {}", config.control.listen.host,
                                         config.control.listen.port, ec.message()));
  }
  spdlog::info("control listening on {}:{}", config.control.listen.host, control.port());
  if (on_ready) on_ready(control.port());

  spdlog::info("{}: finishing queued tasks", signals.wait(should_stop));
  // Finish queued work while the control port can still deliver results.
  if (!service.drain(std::chrono::minutes(5))) spdlog::warn("tasks still running after 5 minutes; stopping anyway");
  control.stop();
  metrics_http.reset();
  // Whatever is still with the cloud fails now and finishes on the edge.
  if (link) link->stop();
  const EdgeStats s = service.stats();
  spdlog::info("stopped: {} tasks completed ({} fell back), {} failed", s.completed, s.fallbacks, s.failed);
  return 0;
}

}  // namespace tandem::edge
