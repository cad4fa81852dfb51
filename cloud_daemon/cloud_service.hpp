#pragma once
// The cloud daemon: serves many edges at once. Each INFER carries a model
// name, a cut (Cut::to_string form) and the crossing tensors; a worker runs the
// cloud side of the cut and replies with the outputs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/endpoint.hpp"
#include "app/metrics.hpp"
#include "app/models.hpp"
#include "models/model.hpp"
#include "net/server.hpp"

namespace tandem::cloud {

struct CloudConfig {
  app::Endpoint listen{"127.0.0.1", 7070};  // port 0: the OS picks; logged and reported to on_ready
  int threads = 2;                           // LibTorch intra-op threads per request
  std::size_t workers = 1;                   // requests computed at once
  std::filesystem::path key_file;            // shared HMAC key (see net/auth.hpp)
  app::ModelOptions models;
  std::uint32_t max_payload = net::k_default_max_payload;
  std::optional<app::Endpoint> metrics;      // Prometheus /metrics; none: off
  std::optional<app::Endpoint> agent;        // HAProxy agent-check (app/agent_check.hpp); none: off
  double agent_reference_ms = 100;           // expected wait at which the agent's weight halves
  std::chrono::milliseconds drain_grace{2000};  // with an agent: say "drain" this long before stopping
  /// Limits on what edges may make the daemon hold (max_connections, max_in_flight_*,
  /// max_*_bytes, max_probe_reply; net/server.hpp). Its host, port, worker threads, payload
  /// limit and TLS context are set from the fields above and below.
  net::ServerConfig limits;
  /// TLS: cert_file and key_file serve TLS; ca_file also requires client certificates signed
  /// by it. All empty: plain TCP.
  net::TlsFiles tls;
};

/// The request handler: checks announced models against its own weights and
/// runs cloud sides. Thread-safe.
class CloudService : public net::ServerHandler {
 public:
  /// `metrics` may be null (no counters).
  CloudService(ModelSet models, int threads, app::Metrics* metrics = nullptr);

  /// Accepts when every announced model is loaded here with the same fingerprint.
  std::optional<net::Error> check_models(const std::vector<net::ModelFingerprint>& models) override;
  /// Runs the cloud side on the calling worker thread and replies.
  void infer(const net::InferContext& context, net::InferRequest request,
             net::Responder responder) override;

  const ModelSet& models() const { return models_; }

 private:
  void count(const std::string& model, bool ok, double compute_ms);

  ModelSet models_;
  int threads_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* compute_ms_ = nullptr;
};

/// Loads the models, warms them up, serves until SIGINT/SIGTERM or until
/// `should_stop` returns true (polled), then stops cleanly after in-flight
/// requests. With an agent-check port (answering "down" while the models
/// load), stopping first drains: the agent says "drain" for `drain_grace`
/// (cut short by a second signal) so HAProxy sends no new connections while
/// the open ones are still served; then new requests are refused with
/// shutting_down (the edge finishes them itself), in-flight ones finish, the
/// sessions close and the edges reconnect through HAProxy to another cloud.
/// `on_ready` gets the bound port. Returns the exit code; throws
/// std::runtime_error for a bad key file, model or address.
int run_cloud_daemon(const CloudConfig& config, const std::function<void(std::uint16_t)>& on_ready = {},
                     const std::function<bool()>& should_stop = {});

}  // namespace tandem::cloud
