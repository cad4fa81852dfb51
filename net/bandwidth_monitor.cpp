#include "net/bandwidth_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tandem::net {

BandwidthMonitor::BandwidthMonitor(MonitorConfig config) : config_(config) {
  if (config_.window == 0) config_.window = 1;
}

bool BandwidthMonitor::add_bandwidth_sample(std::uint64_t bytes, double seconds, SampleSource,
                                            std::chrono::steady_clock::time_point at) {
  const double min_seconds = std::chrono::duration<double>(config_.min_duration).count();
  if (bytes < config_.min_timed_bytes || !std::isfinite(seconds) || seconds < 0) return false;
  std::lock_guard lock(mutex_);
  double value = static_cast<double>(bytes) / seconds;
  if (seconds < min_seconds) {
    // Too fast to time: the link carries at least bytes / min_duration. Only
    // the slow transfers of a fast link could be timed, so dropping these
    // would bias the estimate low (loopback: 7.5 gbit/s from probes fell to
    // 0.53 after 30 passive 602 KB transfers). The bound counts where it says
    // more than the estimate does; without an estimate it says too little.
    const double bound = static_cast<double>(bytes) / min_seconds;
    double inverse_sum = 0;
    std::size_t fresh = 0;
    for (const Sample& s : bandwidth_) {
      if (at - s.at > config_.max_age) continue;
      inverse_sum += 1.0 / s.value;
      ++fresh;
    }
    if (fresh == 0 || bound <= static_cast<double>(fresh) / inverse_sum) return false;
    value = bound;
  }
  bandwidth_.push_back({at, value});
  while (bandwidth_.size() > config_.window) bandwidth_.pop_front();
  // A step: the newest samples all off the older ones' estimate by more
  // than change_factor, the same way. The link changed; forget the old
  // samples instead of averaging across the step for a whole window.
  const std::size_t recent = config_.change_samples;
  if (recent > 0 && bandwidth_.size() > recent) {
    double inverse_sum = 0;
    for (std::size_t i = 0; i + recent < bandwidth_.size(); ++i) inverse_sum += 1.0 / bandwidth_[i].value;
    const double older = static_cast<double>(bandwidth_.size() - recent) / inverse_sum;
    bool all_lower = true, all_higher = true;
    for (std::size_t i = bandwidth_.size() - recent; i < bandwidth_.size(); ++i) {
      all_lower = all_lower && bandwidth_[i].value * config_.change_factor < older;
      all_higher = all_higher && bandwidth_[i].value > older * config_.change_factor;
    }
    if (all_lower || all_higher) {
      bandwidth_.erase(bandwidth_.begin(), bandwidth_.end() - static_cast<std::ptrdiff_t>(recent));
    }
  }
  return true;
}

bool BandwidthMonitor::add_receive_timing(const ReceiveTiming& timing, SampleSource source,
                                          std::chrono::steady_clock::time_point at) {
  return add_bandwidth_sample(timing.timed_bytes, timing.receive_ms / 1e3, source, at);
}

bool BandwidthMonitor::add_rtt_sample(double rtt_ms, std::chrono::steady_clock::time_point at) {
  if (!std::isfinite(rtt_ms) || rtt_ms < 0) return false;
  std::lock_guard lock(mutex_);
  rtt_.push_back({at, rtt_ms});
  while (rtt_.size() > config_.window) rtt_.pop_front();
  return true;
}

LinkEstimate BandwidthMonitor::estimate(std::chrono::steady_clock::time_point now) const {
  LinkEstimate out;
  std::lock_guard lock(mutex_);
  const auto fresh = [&](const Sample& s) { return now - s.at <= config_.max_age; };
  double inverse_sum = 0;
  for (const Sample& s : bandwidth_) {
    if (!fresh(s)) continue;
    inverse_sum += 1.0 / s.value;
    ++out.bandwidth_samples;
  }
  if (out.bandwidth_samples > 0) out.bandwidth_bytes_per_s = static_cast<double>(out.bandwidth_samples) / inverse_sum;
  std::vector<double> rtts;
  for (const Sample& s : rtt_) {
    if (fresh(s)) rtts.push_back(s.value);
  }
  out.rtt_samples = rtts.size();
  if (!rtts.empty()) {
    std::sort(rtts.begin(), rtts.end());
    const std::size_t mid = rtts.size() / 2;
    out.rtt_ms = rtts.size() % 2 == 1 ? rtts[mid] : (rtts[mid - 1] + rtts[mid]) / 2;
  }
  return out;
}

void BandwidthMonitor::clear() {
  std::lock_guard lock(mutex_);
  bandwidth_.clear();
  rtt_.clear();
}

}  // namespace tandem::net
