#pragma once
// Uplink bandwidth and RTT estimates for the planner, fed by periodic probes
// and passively by every INFER (the cloud reports how long the request took
// to arrive and how many bytes that time covers).
//
// Bandwidth: harmonic mean of the last K fresh samples. Each sample is
// bytes/seconds of one transfer; the harmonic mean weights them by time, so
// one transfer that happened to be fast (e.g. it arrived in a single read)
// cannot inflate the estimate the way an arithmetic mean would. Samples too
// small to time (below min_timed_bytes) are rejected; one faster than
// min_duration counts as bytes/min_duration (a lower bound) when that is above
// the estimate, and is ignored otherwise. When
// the newest change_samples samples all lie beyond change_factor of the older
// ones' estimate, in the same direction, the link has stepped: the older
// samples are dropped (a 40 -> 3 mbit step is followed within two samples,
// not a window).
// RTT: median of the last K fresh samples.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "net/messages.hpp"

namespace tandem::net {

struct MonitorConfig {
  std::size_t window = 8;                          // K
  std::chrono::steady_clock::duration max_age = std::chrono::seconds(60);
  std::uint64_t min_timed_bytes = 8 * 1024;
  std::chrono::microseconds min_duration{500};
  std::size_t change_samples = 2;  // 0: never drop samples on a step
  double change_factor = 1.6;
};

enum class SampleSource { probe, passive };

struct LinkEstimate {
  std::optional<double> bandwidth_bytes_per_s;  // none without fresh samples
  std::optional<double> rtt_ms;
  std::size_t bandwidth_samples = 0;  // fresh samples behind the estimate
  std::size_t rtt_samples = 0;
  /// Bandwidth in Mbit/s, or nullopt.
  std::optional<double> mbit() const {
    if (!bandwidth_bytes_per_s) return std::nullopt;
    return *bandwidth_bytes_per_s * 8 / 1e6;
  }
};

/// Thread-safe: any thread may add samples and read estimates.
class BandwidthMonitor {
 public:
  explicit BandwidthMonitor(MonitorConfig config = {});

  /// Adds a transfer of `bytes` in `seconds`; returns false (and ignores it) when too small to
  /// time, or too fast to time and no faster than the estimate already says.
  bool add_bandwidth_sample(std::uint64_t bytes, double seconds, SampleSource source,
                            std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now());
  /// Adds the receive timing the cloud reported for one frame; returns false when too small to time.
  bool add_receive_timing(const ReceiveTiming& timing, SampleSource source,
                          std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now());
  /// Adds a round-trip time; returns false for a negative or non-finite value.
  bool add_rtt_sample(double rtt_ms, std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now());
  /// Current estimate from fresh samples; never blocks for long (one mutex).
  LinkEstimate estimate(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const;
  /// Drops all samples (e.g. after reconnecting to another path).
  void clear();

 private:
  struct Sample {
    std::chrono::steady_clock::time_point at;
    double value;
  };

  MonitorConfig config_;
  mutable std::mutex mutex_;
  std::deque<Sample> bandwidth_;
  std::deque<Sample> rtt_;
};

}  // namespace tandem::net
