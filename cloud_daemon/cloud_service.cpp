#include "cloud_daemon/cloud_service.hpp"

#include <stdexcept>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/endpoint.hpp"
#include "net/process.hpp"
#include "net/torch_bridge.hpp"

namespace tandem::cloud {

CloudService::CloudService(ModelSet models, int threads,
                           std::shared_ptr<net::MetricsRegistry> metrics)
    : models_(std::move(models)), threads_(threads), metrics_(std::move(metrics)) {}

std::optional<net::Error> CloudService::check_models(
    const std::vector<net::ModelFingerprint>& announced) {
  for (const auto& m : announced) {
    const auto it = models_.find(m.name);
    if (it == models_.end()) {
      return net::Error::make(net::Errc::unknown_model,
                              fmt::format("model '{}' is not served here", m.name));
    }
    if (it->second->fingerprint() != m.fingerprint) {
      return net::Error::make(
          net::Errc::fingerprint_mismatch,
          fmt::format("model '{}': edge weights {:016x} differ from cloud weights {:016x} "
                      "(use the same --seed or weights files on both sides)",
                      m.name, m.fingerprint, it->second->fingerprint()));
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
                   fmt::format("model '{}' is not served here", request.model));
    return;
  }
  const Model& model = *it->second;
  try {
    const Cut cut = Cut::parse(model.graph(), request.cut_id);
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
    if (metrics_) {
      metrics_->add("tandem_cloud_requests_total", "Requests computed by the cloud daemon.",
                    {{"model", request.model}, {"result", "ok"}});
      metrics_->observe("tandem_cloud_compute_ms", "Cloud-side compute time per request.",
                        result.compute_ms, net::latency_buckets_ms(), {{"model", request.model}});
    }
    responder.reply(std::move(result));
  } catch (const std::exception& e) {
    spdlog::warn("request {} from {} ({}): {}", context.request_id, context.client_name,
                 request.model, e.what());
    if (metrics_) {
      metrics_->add("tandem_cloud_requests_total", "Requests computed by the cloud daemon.",
                    {{"model", request.model}, {"result", "failed"}});
    }
    responder.fail(net::Errc::request_failed, e.what());
  }
}

int run_cloud_daemon(const CloudConfig& config, const std::function<void(std::uint16_t)>& on_ready,
                     const std::function<bool()>& should_stop) {
  // Before any thread starts (LibTorch's included): only the wait below
  // receives SIGINT/SIGTERM.
  const net::ShutdownSignals signals;
  auto key = net::AuthKey::from_file(config.key_file);
  if (!key) throw std::runtime_error(key.error().message);
  at::set_num_threads(config.threads);
  spdlog::info("loading models ({} intra-op threads)", config.threads);
  ModelSet models = load_models(config.models, config.seed, config.weights_dir);
  for (const auto& [name, model] : models) {
    // One warm-up run: oneDNN builds its kernels on first use.
    model->run(model->make_input(0));
    spdlog::info("model {} ready, weights {:016x}", name, model->fingerprint());
  }

  net::ServerConfig server_config;
  server_config.host = config.host;
  server_config.port = config.port;
  server_config.worker_threads = config.workers;
  server_config.max_payload = config.max_payload;
  auto metrics = std::make_shared<net::MetricsRegistry>();
  auto service = std::make_shared<CloudService>(std::move(models), config.threads, metrics);
  net::Server server(server_config, std::move(key.value()), service);
  if (auto ec = server.start()) {
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", config.host, config.port,
                                         ec.message()));
  }
  metrics->gauge_fn("tandem_cloud_queue_length", "Requests waiting for a worker.",
                    [&server] { return static_cast<double>(server.load().queue_length); });
  metrics->gauge_fn("tandem_cloud_in_service", "Requests being computed.",
                    [&server] { return static_cast<double>(server.load().in_service); });
  metrics->gauge_fn("tandem_cloud_recent_service_ms", "Moving average of compute time.",
                    [&server] { return server.load().recent_service_ms; });
  metrics->gauge_fn("tandem_cloud_sessions", "Open edge sessions.",
                    [&server] { return static_cast<double>(server.session_count()); });
  net::MetricsServer metrics_server(metrics);
  if (!config.metrics.empty()) {
    const auto ep = net::parse_endpoint(config.metrics);
    if (auto ec = metrics_server.start(ep.host, ep.port)) {
      throw std::runtime_error(fmt::format("cannot serve metrics on {}: {}", config.metrics, ec.message()));
    }
    spdlog::info("metrics listening on {}:{}", ep.host, metrics_server.port());
  }
  if (on_ready) on_ready(server.port());

  spdlog::info("{}: finishing in-flight requests", signals.wait(should_stop));
  server.stop();
  metrics_server.stop();
  const auto stats = server.stats();
  spdlog::info("stopped after {} requests from {} sessions", stats.requests_completed,
               stats.sessions_accepted);
  return 0;
}

}  // namespace tandem::cloud
