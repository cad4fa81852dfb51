#pragma once
// Wiring of the edge daemon: models, profiles → planner, cloud link,
// engine, control port; runs until SIGINT/SIGTERM.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "edge_daemon/edge_service.hpp"

namespace tandem::edge {

struct EdgeConfig {
  std::string cloud_host = "127.0.0.1";
  std::uint16_t cloud_port = 7070;
  bool no_cloud = false;                    // run everything on the edge
  std::filesystem::path key_file;
  std::filesystem::path profiles_dir = "profiles";  // edge.json and cloud.json
  std::string edge_profile = "edge.json";
  std::string cloud_profile = "cloud.json";
  std::string control_host = "127.0.0.1";
  std::uint16_t control_port = 7071;        // 0: the OS picks (logged)
  std::string emulate_link;                 // "5.85mbit,20ms"; empty: none
  std::vector<std::string> models;          // empty: the whole zoo
  std::uint64_t seed = 0;
  std::filesystem::path weights_dir;
  EdgeServiceConfig service;
  std::chrono::milliseconds probe_interval{2000};
  std::string metrics;                      // HOST:PORT for Prometheus /metrics; empty: off
};

/// Per-node predicted ms of `graph` from a device profile file. Throws
/// std::runtime_error naming the file when it is missing or invalid.
std::vector<double> predict_node_ms(const std::filesystem::path& profile, const GraphDesc& graph);

/// Runs the daemon until SIGINT/SIGTERM or `should_stop()`; `on_ready` gets
/// the control port once tasks are accepted. Returns the exit code; throws
/// std::runtime_error for bad configuration (key, profiles, models, address).
int run_edge_daemon(const EdgeConfig& config,
                    const std::function<void(std::uint16_t)>& on_ready = {},
                    const std::function<bool()>& should_stop = {});

}  // namespace tandem::edge
