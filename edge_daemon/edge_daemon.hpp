#pragma once
// Wiring of the edge daemon: models, profiles → planner, cloud link,
// engine, control port, metrics; runs until SIGINT/SIGTERM.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "app/endpoint.hpp"
#include "app/models.hpp"
#include "edge_daemon/control_server.hpp"
#include "edge_daemon/edge_service.hpp"
#include "net/tls.hpp"
#include "units/units.hpp"

namespace tandem::edge {

struct EdgeConfig {
  std::optional<app::Endpoint> cloud = app::Endpoint{"127.0.0.1", 7070};  // none: run everything on the edge
  std::filesystem::path key_file;
  std::filesystem::path edge_profile = "profiles/edge.json";
  std::filesystem::path cloud_profile = "profiles/cloud.json";
  ControlConfig control;
  std::optional<units::Link> emulate_link;  // shape the uplink (tests, demos)
  app::ModelOptions models;
  EdgeServiceConfig service;
  std::chrono::milliseconds probe_interval{500};
  double probe_duty = 0.1;                  // CloudLinkConfig::probe_duty
  std::optional<app::Endpoint> metrics;     // Prometheus /metrics; none: off
  /// TLS to the cloud: ca_file turns it on and verifies the cloud's certificate; cert_file and
  /// key_file are presented when the cloud asks for a client certificate. All empty: plain TCP.
  net::TlsFiles tls;
};

/// Runs the daemon until SIGINT/SIGTERM or `should_stop()`; `on_ready` gets
/// the control port once tasks are accepted. Returns the exit code; throws
/// std::runtime_error for bad configuration (key, profiles, models, address).
int run_edge_daemon(const EdgeConfig& config,
                    const std::function<void(std::uint16_t)>& on_ready = {},
                    const std::function<bool()>& should_stop = {});

}  // namespace tandem::edge
