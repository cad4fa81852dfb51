#include "planner/compute_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tandem::planner {

ComputeMonitor::ComputeMonitor() : ComputeMonitor(Options{}) {}

ComputeMonitor::ComputeMonitor(Options options) : options_(options) {
  options_.window = std::max<std::size_t>(options_.window, 1);
  options_.min_samples = std::clamp<std::size_t>(options_.min_samples, 1, options_.window);
}

void ComputeMonitor::add_edge(double predicted_ms, double measured_ms) { add(edge_, predicted_ms, measured_ms); }

void ComputeMonitor::add_cloud(double predicted_ms, double measured_ms) { add(cloud_, predicted_ms, measured_ms); }

void ComputeMonitor::add(std::deque<double>& ratios, double predicted_ms, double measured_ms) {
  if (!std::isfinite(predicted_ms) || !std::isfinite(measured_ms) || measured_ms <= 0 ||
      predicted_ms < options_.min_predicted_ms) {
    return;
  }
  ratios.push_back(measured_ms / predicted_ms);
  while (ratios.size() > options_.window) ratios.pop_front();
}

double ComputeMonitor::scale(const std::deque<double>& ratios) const {
  if (ratios.size() < options_.min_samples) return 1.0;
  std::vector<double> v(ratios.begin(), ratios.end());
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  double median = *mid;
  if (v.size() % 2 == 0) median = (median + *std::max_element(v.begin(), mid)) / 2;
  return std::clamp(median, options_.min_scale, options_.max_scale);
}

}  // namespace tandem::planner
