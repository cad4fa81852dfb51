#include "edge_daemon/planner.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "partition/optimise.hpp"

namespace tandem::edge {

void Planner::add_model(const GraphDesc& graph, ModelCosts costs) {
  if (costs.edge_ms.size() != graph.size() || costs.cloud_ms.size() != graph.size()) {
    throw std::invalid_argument(fmt::format("costs for '{}' do not cover its {} nodes",
                                            graph.name(), graph.size()));
  }
  models_.insert_or_assign(graph.name(), Entry{graph, std::move(costs)});
}

const Planner::Entry& Planner::entry(const std::string& model) const {
  const auto it = models_.find(model);
  if (it == models_.end()) {
    throw std::out_of_range(fmt::format("model '{}' is not loaded on this edge", model));
  }
  return it->second;
}

const GraphDesc& Planner::graph(const std::string& model) const { return entry(model).graph; }

partition::CostModel Planner::cost_model(const Entry& e, const Conditions& c) const {
  partition::CostModel m;
  m.edge_ms = e.costs.edge_ms;
  m.cloud_ms = e.costs.cloud_ms;
  m.link.uplink_bytes_per_s = c.uplink_bytes_per_s;
  m.link.downlink_bytes_per_s = c.downlink_bytes_per_s;
  m.link.rtt_ms = c.rtt_ms;
  m.cloud_wait_ms = c.cloud_wait_ms;
  m.codec = c.codec;
  m.power = power_;
  return m;
}

partition::Plan Planner::plan(const std::string& model, partition::Objective objective,
                              const Conditions& conditions) const {
  const Entry& e = entry(model);
  constexpr double k_bandwidth_step = 1.02;  // 2% buckets
  constexpr double k_ms_step = 0.5;
  const CacheKey key{model,
                     static_cast<int>(objective),
                     static_cast<int>(conditions.codec),
                     std::lround(std::log(std::max(conditions.uplink_bytes_per_s, 1.0)) /
                                 std::log(k_bandwidth_step)),
                     std::lround(conditions.rtt_ms / k_ms_step),
                     std::lround(conditions.cloud_wait_ms / k_ms_step)};
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  partition::Plan plan = partition::optimise(e.graph, cost_model(e, conditions), objective);
  std::lock_guard lock(cache_mutex_);
  constexpr std::size_t k_max_cached = 4096;
  if (cache_.size() >= k_max_cached) cache_.clear();
  cache_.emplace(key, plan);
  return plan;
}

partition::Plan Planner::evaluate(const std::string& model, const Cut& cut,
                                  partition::Objective objective,
                                  const Conditions& conditions) const {
  const Entry& e = entry(model);
  return partition::make_plan(e.graph, cost_model(e, conditions), cut, objective);
}

}  // namespace tandem::edge
