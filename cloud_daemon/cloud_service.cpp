#include "cloud_daemon/cloud_service.hpp"

#include <stdexcept>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include "app/agent_check.hpp"
#include "app/daemon.hpp"
#include "app/logging.hpp"
#include "app/serving.hpp"
#include "net/torch_bridge.hpp"

namespace tandem::cloud {

CloudService::CloudService(ModelSet models, int threads, app::Metrics* metrics)
    : models_(std::move(models)), threads_(threads) {
  if (metrics) {
    requests_ = &prometheus::BuildCounter()
                     .Name("tandem_cloud_requests_total")
                     .Help("Requests computed by the cloud daemon.")
                     .Register(metrics->registry());
    compute_ms_ = &prometheus::BuildHistogram()
                       .Name("tandem_cloud_compute_ms")
                       .Help("Cloud-side compute time per request.")
                       .Register(metrics->registry());
  }
}

void CloudService::count(const std::string& model, bool ok, double compute_ms) {
  if (!requests_) return;
  requests_->Add({{"model", model}, {"result", ok ? "ok" : "failed"}}).Increment();
  if (ok) compute_ms_->Add({{"model", model}}, app::latency_buckets_ms()).Observe(compute_ms);
}

std::optional<net::Error> CloudService::check_models(
    const std::vector<net::ModelFingerprint>& announced) {
  for (const auto& m : announced) {
    const auto it = models_.find(m.name);
    if (it == models_.end()) {
      return net::Error::make(net::Errc::unknown_model,
                              fmt::format("model '{}' is not served here", app::printable(m.name)));
    }
    if (it->second->fingerprint() != m.fingerprint) {
      return net::Error::make(
          net::Errc::fingerprint_mismatch,
          fmt::format("model '{}': edge weights {:016x} differ from cloud weights {:016x} "
                      "(use the same --seed or weights files on both sides)",
                      app::printable(m.name), m.fingerprint, it->second->fingerprint()));
    }
  }
  return std::nullopt;
}

void CloudService::infer(const net::InferContext& context, net::InferRequest request,
                         net::Responder responder) {
  // Worker threads are not LibTorch's: give each its intra-op thread count.
  thread_local int configured = 0;
  if (configured != threads_) {
    at::set_num_threads(threads_);
    configured = threads_;
  }
  const auto it = models_.find(request.model);
  if (it == models_.end()) {
    responder.fail(net::Errc::unknown_model,
                   fmt::format("model '{}' is not served here", app::printable(request.model)));
    return;
  }
  const Model& model = *it->second;
  try {
    const Cut cut(model.graph(), std::move(request.edge_nodes));
    if (auto why = cut.validate(model.graph()); !why.empty()) {
      responder.fail(net::Errc::malformed_payload, fmt::format("model '{}': {}", app::printable(request.model), why));
      return;
    }
    auto inputs = net::from_wire(request.tensors);
    if (!inputs) {
      responder.fail(net::Errc::invalid_tensor, inputs.error().message);
      return;
    }
    const net::Codec codec =
        request.tensors.empty() ? net::Codec::raw : request.tensors.front().codec;
    const auto start = std::chrono::steady_clock::now();
    TensorMap outputs = model.run_cloud(cut, inputs.value());
    net::InferResult result;
    result.compute_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    result.outputs = net::to_wire(outputs, codec);
    count(request.model, true, result.compute_ms);
    responder.reply(std::move(result));
  } catch (const std::exception& e) {
    spdlog::warn("request {} from {} ({}): {}", context.request_id, app::printable(context.client_name),
                 app::printable(request.model), app::printable(e.what()));
    count(request.model, false, 0);
    responder.fail(net::Errc::request_failed, e.what());
  }
}

int run_cloud_daemon(const CloudConfig& config, const std::function<void(std::uint16_t)>& on_ready,
                     const std::function<bool()>& should_stop) {
  // Before any thread starts (LibTorch's included): only the wait below
  // receives SIGINT/SIGTERM.
  const app::ShutdownSignals signals;
  net::AuthKey key = app::load_key_file(config.key_file);
  // The agent answers from the start: "down" while the models load.
  app::AgentStatus agent_status(config.workers, config.agent_reference_ms);
  std::optional<app::AgentCheckServer> agent;
  if (config.agent) {
    agent.emplace(*config.agent, [&agent_status] { return agent_status.reply(); });
    spdlog::info("agent-check listening on {}:{}", config.agent->host, agent->port());
  }
  spdlog::info("loading models ({} intra-op threads)", config.threads);
  // LibTorch computes on the workers only (app/serving.hpp: why not here).
  ModelSet models = app::load_serving_models(config.models, config.threads);

  net::ServerConfig server_config = config.limits;
  if (!config.tls.cert_file.empty() || !config.tls.key_file.empty() || !config.tls.ca_file.empty()) {
    auto tls = net::make_tls_context(net::TlsRole::server, config.tls);
    if (!tls) throw std::runtime_error(tls.error().message);
    server_config.tls = std::move(tls).value();
  }
  server_config.host = config.listen.host;
  server_config.port = config.listen.port;
  server_config.worker_threads = config.workers;
  server_config.max_payload = config.max_payload;
  app::Metrics metrics;
  auto service = std::make_shared<CloudService>(std::move(models), config.threads, &metrics);
  net::Server server(server_config, std::move(key), service);
  if (auto ec = server.start()) {
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", config.listen.host,
                                         config.listen.port, ec.message()));
  }
  // The agent reads the server's load until stop(), also when leaving by an exception.
  struct StopAgent {
    app::AgentStatus& status;
    ~StopAgent() { status.stop(); }
  } stop_agent{agent_status};
  agent_status.serve([&server] { return server.load(); });
  metrics.gauge_fn("tandem_cloud_queue_length", "Requests waiting for a worker.",
                   [&server] { return static_cast<double>(server.load().queue_length); });
  metrics.gauge_fn("tandem_cloud_in_service", "Requests being computed.",
                   [&server] { return static_cast<double>(server.load().in_service); });
  metrics.gauge_fn("tandem_cloud_recent_service_ms", "Moving average of compute time.",
                   [&server] { return server.load().recent_service_ms; });
  metrics.gauge_fn("tandem_cloud_sessions", "Open edge sessions.",
                   [&server] { return static_cast<double>(server.session_count()); });
  std::optional<app::MetricsHttp> metrics_http;
  if (config.metrics) {
    metrics_http.emplace(metrics, *config.metrics);
    spdlog::info("metrics listening on {}:{}", config.metrics->host, metrics_http->port());
  }
  if (on_ready) on_ready(server.port());

  const std::string why = signals.wait(should_stop);
  if (agent && config.drain_grace.count() > 0) {
    agent_status.drain();
    spdlog::info("{}: draining for {} ms (agent says drain; open sessions still served)", why,
                 config.drain_grace.count());
    if (auto again = signals.wait_for(config.drain_grace, should_stop)) {
      spdlog::info("{}: cutting the drain short", *again);
    }
  }
  spdlog::info("{}: finishing in-flight requests", why);
  server.stop();
  agent_status.stop();
  metrics_http.reset();
  const auto stats = server.stats();
  spdlog::info("stopped after {} requests from {} sessions", stats.requests_completed,
               stats.sessions_accepted);
  return 0;
}

}  // namespace tandem::cloud
