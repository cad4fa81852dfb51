#include "edge_daemon/cloud_link.hpp"

#include <algorithm>
#include <future>

#include <spdlog/spdlog.h>

#include "net/thread_name.hpp"

namespace tandem::edge {

std::chrono::milliseconds probe_gap(std::chrono::milliseconds interval, double took_ms, double duty) {
  if (!(took_ms > 0) || !(duty > 0)) return interval;
  const double gap_ms = std::min(took_ms / std::min(duty, 1.0), 3600e3);  // an hour at most
  return std::max(interval, std::chrono::milliseconds(static_cast<std::int64_t>(gap_ms)));
}

CloudLink::CloudLink(CloudLinkConfig config, net::AuthKey key)
    : config_(std::move(config)), monitor_(std::make_shared<net::BandwidthMonitor>()),
      probe_bytes_(config_.probe_bytes) {
  config_.client.monitor = monitor_;
  client_ = std::make_unique<net::Client>(config_.client, std::move(key));
}

CloudLink::~CloudLink() { stop(); }

void CloudLink::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  client_->close();
}

void CloudLink::start() {
  thread_ = std::thread([this] {
    net::name_this_thread("edge-cloud-link");
    run();
  });
}

bool CloudLink::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, timeout, [&] { return stopping_ || client_->connected(); }) &&
         client_->connected();
}

net::CloudLoad CloudLink::cloud_load() const {
  std::lock_guard lock(mutex_);
  return load_;
}

void CloudLink::note_load(const net::CloudLoad& load) {
  std::lock_guard lock(mutex_);
  load_ = load;
}

std::string CloudLink::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void CloudLink::run() {
  auto backoff = config_.min_backoff;
  auto last_status = std::chrono::steady_clock::now() - config_.probe_interval;
  auto next_probe = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!client_->connected()) {
      lock.unlock();
      auto ack = client_->connect(config_.host, config_.port);
      lock.lock();
      if (ack) {
        ++connections_;
        load_ = ack.value().load;
        last_error_.clear();
        backoff = config_.min_backoff;
        spdlog::info("connected to cloud {}:{} ({}), connection #{}", config_.host, config_.port,
                     ack.value().server_name, connections_.load());
        wake_.notify_all();
        last_status = std::chrono::steady_clock::now() - config_.probe_interval;
        next_probe = std::chrono::steady_clock::now();
      } else {
        if (last_error_ != ack.error().message) {
          spdlog::warn("cloud {}:{} unavailable: {} (retrying with back-off)", config_.host,
                       config_.port, ack.error().message);
        }
        last_error_ = ack.error().message;
        wake_.wait_for(lock, backoff, [&] { return stopping_; });
        backoff = std::min(backoff * 2, config_.max_backoff);
        continue;
      }
    }
    // When idle: ask the cloud's load every probe interval, and probe the
    // link when probe_gap allows (real transfers feed the monitor passively).
    const auto now = std::chrono::steady_clock::now();
    if (now - last_status >= config_.probe_interval && client_->in_flight() == 0) {
      last_status = now;
      const bool probing = now >= next_probe;
      lock.unlock();
      std::future<net::Expected<net::ProbeResult>> probe;
      if (probing) probe = client_->probe(probe_bytes_, 0);
      auto status = client_->status();
      const auto got = status.wait_for(std::chrono::seconds(5));
      const bool probed = probing && probe.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
      const double held_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - now).count();
      lock.lock();
      if (probing) next_probe = now + probe_gap(config_.probe_interval, held_ms, config_.probe_duty);
      if (probed) {
        // Adapt the probe to the link: one the cloud received in under
        // k_short_ms is too short to time (the monitor drops it), so it
        // doubles and goes again; one that occupies the link for more than
        // k_long_ms halves, to leave the link to real transfers.
        constexpr std::uint32_t k_max_probe = 16u << 20;
        constexpr double k_short_ms = 2.0;
        constexpr double k_long_ms = 50.0;
        auto result = probe.get();
        if (result) {
          const double took = result.value().receive.receive_ms;
          if (took < k_short_ms && probe_bytes_ < k_max_probe) {
            probe_bytes_ = std::min(probe_bytes_ * 2, k_max_probe);
            last_status = now - config_.probe_interval;
            next_probe = now;
          } else if (took > k_long_ms) {
            probe_bytes_ = std::max(probe_bytes_ / 2, config_.probe_bytes);
          }
        }
      }
      if (got == std::future_status::ready) {
        auto load = status.get();
        if (load) load_ = load.value();
      }
    }
    wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
  }
}

}  // namespace tandem::edge
