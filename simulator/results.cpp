// The summary of a finished simulation (engine_state.hpp).

#include <algorithm>

#include "simulator/engine_state.hpp"

namespace tandem::sim {

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  // Linear between the two nearest ranks, as tandem submit's summary.
  const auto at = [&](double q) {
    const double rank = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(rank);
    const auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
  };
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  p.max = v.back();
  return p;
}

namespace detail {
namespace {

// bench/cluster/analyse.py's stretch of a measured run: the median of
// simulated / predicted over completed tasks predicted above 1 ms on that
// side, fallbacks left out.
double stretch_p50(const std::vector<TaskRecord>& records, double TaskRecord::*simulated,
                   double TaskRecord::*predicted) {
  std::vector<double> ratios;
  for (const TaskRecord& r : records) {
    if (r.done_s >= 0 && !r.fallback && r.*predicted > 1) ratios.push_back(r.*simulated / r.*predicted);
  }
  return ratios.empty() ? 0 : percentiles(std::move(ratios)).p50;
}

}  // namespace

SimResult summarise(std::vector<TaskRecord> records, const std::vector<CloudState>& clouds, std::size_t cloud_workers,
                    const Host* host, double now_s, std::uint64_t events) {
  SimResult out;
  out.events = events;
  std::vector<double> latencies;
  double first = -1, last = 0;
  for (const TaskRecord& r : records) {
    if (r.done_s < 0) {
      ++out.lost;
      continue;
    }
    ++out.completed;
    latencies.push_back(r.latency_ms());
    if (r.fallback) ++out.fallbacks;
    switch (r.placement) {
      case partition::Placement::edge_only: ++out.edge_only; break;
      case partition::Placement::split: ++out.split; break;
      case partition::Placement::cloud_only: ++out.cloud_only; break;
    }
    if (first < 0 || r.arrival_s < first) first = r.arrival_s;
    last = std::max(last, r.done_s);
  }
  out.latency_ms = percentiles(std::move(latencies));
  out.makespan_s = first < 0 ? 0 : last - first;
  out.throughput_per_s = out.makespan_s > 0 ? static_cast<double>(out.completed) / out.makespan_s : 0;
  // No job runs before the first arrival or after the last result.
  if (host && out.makespan_s > 0) {
    out.host_cores_edges = host->jobs_core_seconds(last, k_edge_jobs) / out.makespan_s;
    out.host_cores_clouds = host->jobs_core_seconds(last, k_cloud_jobs) / out.makespan_s;
    out.host_cores_daemons = out.host_cores_edges + out.host_cores_clouds;
  }
  out.edge_stretch_p50 = stretch_p50(records, &TaskRecord::edge_ms, &TaskRecord::predicted_edge_ms);
  out.cloud_stretch_p50 = stretch_p50(records, &TaskRecord::cloud_ms, &TaskRecord::predicted_cloud_ms);
  for (const CloudState& cloud : clouds) {
    // Up until it went down, or until the last result (not until trailing
    // events such as the background trace's last points).
    const double up_s = cloud.down_at_s >= 0 ? cloud.down_at_s : (last > 0 ? last : now_s);
    CloudSummary summary = cloud.summary;
    summary.utilisation = up_s > 0 ? summary.busy_s / (up_s * static_cast<double>(cloud_workers)) : 0;
    out.clouds.push_back(summary);
  }
  out.tasks = std::move(records);
  return out;
}

}  // namespace detail
}  // namespace tandem::sim
