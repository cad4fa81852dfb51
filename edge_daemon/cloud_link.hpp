#pragma once
// The edge's connection to the cloud: connects, reconnects with exponential
// back-off when the cloud is unreachable or lost, asks the cloud's load and
// probes the link when idle, and keeps the latest cloud load. Owns a
// background thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "net/bandwidth_monitor.hpp"
#include "net/client.hpp"

namespace tandem::edge {

struct CloudLinkConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;
  net::ClientConfig client;                    // models, link emulation
  std::chrono::milliseconds min_backoff{100};  // first retry delay
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds probe_interval{500};  // ask the load and probe this often while nothing is in flight
  std::uint32_t probe_bytes = 64 * 1024;  // smallest probe; grows until a probe can be timed
  double probe_duty = 0.1;  // probes hold the link at most this part of the time (0, 1]
};

/// How long after a probe that held the link for `took_ms` (sent to
/// acknowledged) an idle edge waits before the next: the probe interval,
/// or longer where probes would otherwise hold the link more than `duty`
/// of the time — on a 1.1 mbit uplink the smallest probe, 64 KB, takes
/// 0.48 s, and at a 500 ms interval an idle edge kept its link busy
/// without pause (docs/design.md §5).
std::chrono::milliseconds probe_gap(std::chrono::milliseconds interval, double took_ms, double duty);

class CloudLink {
 public:
  explicit CloudLink(CloudLinkConfig config, net::AuthKey key);
  /// Calls stop().
  ~CloudLink();
  CloudLink(const CloudLink&) = delete;
  CloudLink& operator=(const CloudLink&) = delete;

  /// Starts connecting in the background; returns at once.
  void start();
  /// Stops reconnecting and probing, joins the background thread and closes
  /// the connection: requests in flight fail (not_connected). Idempotent;
  /// not from the client's I/O thread.
  void stop();
  /// Blocks until connected or `timeout` passes; true when connected.
  bool wait_connected(std::chrono::milliseconds timeout);
  /// True while a handshaken connection is up. Thread-safe.
  bool connected() const { return client_->connected(); }
  /// The client for INFER requests; valid for the CloudLink's life. Thread-safe.
  net::Client& client() { return *client_; }
  /// Link estimate (bandwidth, RTT). Thread-safe.
  net::LinkEstimate estimate() const { return monitor_->estimate(); }
  /// Latest cloud load seen (handshake, RESULT, STATUS). Thread-safe.
  net::CloudLoad cloud_load() const;
  /// Records the load a RESULT carried. Thread-safe.
  void note_load(const net::CloudLoad& load);
  /// Why the last connection attempt failed, if it did. Thread-safe.
  std::string last_error() const;
  /// Connections made so far (1 after the first, +1 per reconnect). Thread-safe.
  std::uint64_t connections() const { return connections_.load(); }

 private:
  void run();

  CloudLinkConfig config_;
  std::shared_ptr<net::BandwidthMonitor> monitor_;
  std::unique_ptr<net::Client> client_;
  std::thread thread_;
  std::atomic<std::uint64_t> connections_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  net::CloudLoad load_;
  std::string last_error_;
  std::uint32_t probe_bytes_ = 0;  // current probe size, adapted to the link
};

}  // namespace tandem::edge
