#include "planner/planner.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "partition/optimise.hpp"

namespace tandem::planner {

predictor::DeviceProfile load_profile_for_planning(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error(fmt::format(
        "device profile {}: no such file (make one on that device with: tandem profile --device NAME "
        "--out {})",
        path.string(), path.string()));
  }
  return predictor::load_profile(path);
}

ModelCosts predict_costs(const predictor::Predictor& edge, const predictor::Predictor& cloud,
                         const GraphDesc& graph) {
  // The edge side of every cut but cloud-only starts at the graph's first
  // node; the cloud side of a split never does (a cloud-only run of a
  // profiled zoo model is charged the cold start its table already holds).
  return {edge.node_ms(graph), cloud.node_ms(graph), edge.cold_start_ms(graph, true),
          cloud.cold_start_ms(graph, false)};
}

namespace {

void check_scales(const Conditions& c) {
  const auto ok = [](double v) { return std::isfinite(v) && v > 0; };
  if (!ok(c.edge_scale) || !ok(c.cloud_scale)) {
    throw std::invalid_argument(
        fmt::format("compute scales must be finite and > 0 (edge {}, cloud {})", c.edge_scale, c.cloud_scale));
  }
}

}  // namespace

partition::CutWork scaled(partition::CutWork work, const Conditions& conditions) {
  work.edge_ms *= conditions.edge_scale;
  work.cloud_ms *= conditions.cloud_scale;
  return work;
}

Planner::Planner(partition::EdgePower power) : power_(power) {}

std::shared_ptr<Planner> Planner::from_profiles(const std::filesystem::path& edge_profile,
                                                const std::filesystem::path& cloud_profile,
                                                partition::EdgePower power) {
  auto planner = std::make_shared<Planner>(power);
  planner->edge_ = std::make_shared<const predictor::Predictor>(load_profile_for_planning(edge_profile));
  planner->cloud_ = std::make_shared<const predictor::Predictor>(load_profile_for_planning(cloud_profile));
  return planner;
}

void Planner::add_model(const GraphDesc& graph) {
  if (!edge_ || !cloud_) {
    throw std::logic_error(fmt::format("planner: no profiles to predict '{}' with", graph.name()));
  }
  add_model(graph, predict_costs(*edge_, *cloud_, graph));
}

void Planner::add_model(const GraphDesc& graph, ModelCosts costs) {
  if (costs.edge_ms.size() != graph.size() || costs.cloud_ms.size() != graph.size()) {
    throw std::invalid_argument(fmt::format("costs for '{}' do not cover its {} nodes",
                                            graph.name(), graph.size()));
  }
  models_.insert_or_assign(graph.name(), Entry{graph, std::move(costs)});
  {
    std::lock_guard lock(candidates_mutex_);
    std::erase_if(candidates_, [&](const auto& kv) { return kv.first.first == graph.name(); });
  }
  std::lock_guard lock(cache_mutex_);
  std::erase_if(cache_, [&](const auto& kv) { return std::get<0>(kv.first) == graph.name(); });
}

const Planner::Entry& Planner::entry(const std::string& model) const {
  const auto it = models_.find(model);
  if (it == models_.end()) {
    throw std::out_of_range(fmt::format("model '{}' is not known to the planner", model));
  }
  return it->second;
}

const GraphDesc& Planner::graph(const std::string& model) const { return entry(model).graph; }

const ModelCosts& Planner::costs(const std::string& model) const { return entry(model).costs; }

partition::CostModel Planner::cost_model(const std::string& model, const Conditions& c) const {
  const Entry& e = entry(model);
  partition::CostModel m;
  check_scales(c);
  m.edge_ms = e.costs.edge_ms;
  m.cloud_ms = e.costs.cloud_ms;
  for (double& v : m.edge_ms) v *= c.edge_scale;
  for (double& v : m.cloud_ms) v *= c.cloud_scale;
  m.edge_run_ms = e.costs.edge_run_ms * c.edge_scale;
  m.cloud_run_ms = e.costs.cloud_run_ms * c.cloud_scale;
  m.link = c.link;
  m.cloud_wait_ms = c.cloud_wait_ms;
  m.codec = c.codec;
  m.power = power_;
  m.edge_pinned = partition::privacy_pinned(e.graph, c.privacy);
  return m;
}

partition::Plan Planner::plan(const std::string& model, partition::Objective objective,
                              const Conditions& conditions) const {
  const Entry& e = entry(model);
  check_scales(conditions);
  constexpr double k_bandwidth_step = 1.02;  // 2% buckets (bandwidths and compute scales)
  constexpr double k_ms_step = 0.5;
  const auto bucket = [&](double bytes_per_s) {
    return std::lround(std::log(std::max(bytes_per_s, 1.0)) / std::log(k_bandwidth_step));
  };
  const CacheKey key{model,
                     static_cast<int>(objective),
                     static_cast<int>(conditions.codec),
                     bucket(conditions.link.uplink_bytes_per_s),
                     bucket(conditions.link.downlink_bytes_per_s),
                     std::lround(std::log(conditions.edge_scale) / std::log(k_bandwidth_step)),
                     std::lround(std::log(conditions.cloud_scale) / std::log(k_bandwidth_step)),
                     std::lround(conditions.link.rtt_ms / k_ms_step),
                     std::lround(conditions.cloud_wait_ms / k_ms_step),
                     conditions.privacy.empty() ? std::string() : partition::to_string(conditions.privacy)};
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  partition::Plan plan = partition::optimise(e.graph, cost_model(model, conditions), objective);
  std::lock_guard lock(cache_mutex_);
  constexpr std::size_t k_max_cached = 4096;
  if (cache_.size() >= k_max_cached) cache_.clear();
  cache_.emplace(key, plan);
  return plan;
}

partition::Plan Planner::evaluate(const std::string& model, const Cut& cut,
                                  partition::Objective objective,
                                  const Conditions& conditions) const {
  return partition::make_plan(graph(model), cost_model(model, conditions), cut, objective);
}

std::shared_ptr<const std::vector<partition::CutWork>> Planner::candidates(const std::string& model,
                                                                           partition::Codec codec) const {
  const Entry& e = entry(model);
  std::lock_guard lock(candidates_mutex_);
  auto& slot = candidates_[{model, static_cast<int>(codec)}];
  if (!slot) {
    Conditions c;
    c.codec = codec;
    slot = std::make_shared<const std::vector<partition::CutWork>>(
        partition::candidate_cuts(e.graph, cost_model(model, c)));
  }
  return slot;
}

partition::CutWork Planner::cut_work(const std::string& model, const Cut& cut, partition::Codec codec) const {
  const Entry& e = entry(model);
  cut.check(e.graph);
  Conditions c;
  c.codec = codec;
  return partition::cut_work(e.graph, cost_model(model, c), cut);
}

}  // namespace tandem::planner
