#include "simulator/engine.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace tandem::sim::detail {

units::Link Engine::link_of(const EdgeState& edge) const {
  if (s_.link_trace.empty()) return s_.link_mix[edge.link].link;
  const double span = s_.link_trace.back().at_s + 1;
  const double t = std::fmod(now_ + edge.trace_offset_s, span);
  auto it = std::upper_bound(s_.link_trace.begin(), s_.link_trace.end(), t,
                             [](double v, const LinkTracePoint& p) { return v < p.at_s; });
  return (it == s_.link_trace.begin() ? *it : *std::prev(it)).link;
}

// The timeline scheduler's dispatch (EdgeService::choose): the first
// `batch_window` waiting tasks, their options (the latency plan's cut, then
// the model's scheduling candidates) placed on the edge's timeline; one
// task alone (or one overtaken `batch_window` times) takes its earliest
// completion, several the first of schedule_batch's order. Returns the
// task's position in the queue and its side.
std::pair<std::size_t, const Side*> Engine::choose(EdgeState& edge) {
  const units::Link link = link_of(edge);
  planner::Conditions c;
  c.codec = s_.codec;
  c.link.uplink_bytes_per_s = c.link.downlink_bytes_per_s = *link.bytes_per_s;
  c.link.rtt_ms = link.rtt_ms;
  c.cloud_wait_ms = edge.known_load.queue_length * edge.known_load.recent_service_ms;
  calibrate(edge, c);
  const std::size_t n = std::min(edge.queue.size(), s_.batch_window);
  // Options per model (every task of a model has the same ones).
  std::map<std::uint32_t, std::vector<partition::CutWork>> works;
  std::vector<partition::BatchTask> tasks;
  std::size_t starving = n;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t id = edge.queue[i];
    const std::uint32_t model = records_[id].model;
    auto [it, fresh] = works.try_emplace(model);
    if (fresh) {
      const std::string& name = s_.models[model];
      it->second.push_back(planner::scaled(
          planner_.cut_work(name, planner_.plan(name, partition::Objective::latency, c).cut, s_.codec), c));
      for (const auto& w : *planner_.candidates(name, s_.codec)) it->second.push_back(planner::scaled(w, c));
    }
    partition::BatchTask task;
    for (const auto& w : it->second) task.options.push_back(partition::stages_of(w, c.link));
    task.group = model;
    tasks.push_back(std::move(task));
    if (starving == n && tasks_[id].overtaken >= s_.batch_window) starving = i;
  }
  const partition::Timeline t = timeline_of(edge, c.link);
  std::size_t pick = 0, option = 0;
  if (n == 1 || starving < n) {
    pick = starving < n ? starving : 0;
    option = partition::earliest_completion(tasks[pick].options, c.link.rtt_ms, t).option;
  } else {
    const auto objective = s_.objective == partition::Objective::throughput || s_.objective == partition::Objective::makespan
                               ? partition::BatchObjective::makespan
                               : partition::BatchObjective::total_completion;
    const partition::Schedule sched =
        partition::schedule_batch(tasks, c.link.rtt_ms, t, objective, partition::k_daemon_schedule_options);
    pick = sched.order.front();
    option = sched.slots[pick].option;
  }
  for (std::size_t i = 0; i < pick; ++i) ++tasks_[edge.queue[i]].overtaken;
  TaskRecord& r = records_[edge.queue[pick]];
  const partition::CutWork& w = works.at(r.model)[option];  // scaled
  r.predicted_edge_ms = w.edge_ms;
  r.predicted_cloud_ms = w.cloud_ms;
  return {pick, &side(r.model, w.cut)};
}

// When the edge's uplink and its cloud are next free, in ms from now, as
// EdgeService::timeline_locked: the cloud's reported queue and requests in
// service less this edge's own, then this edge's requests in send order
// (written ones from when they reached the cloud, the rest after the
// uplink). The compute thread is free (it is choosing).
partition::Timeline Engine::timeline_of(const EdgeState& edge, const partition::Link& link) const {
  const double rtt = link.rtt_ms;
  partition::Timeline t;
  t.serial = !s_.pipeline;  // nothing is with the cloud then: try_start waits for the reply
  std::size_t written = 0;
  for (std::uint32_t id : edge.sent) written += tasks_[id].upload_end_s <= now_ ? 1 : 0;
  const net::CloudLoad& load = edge.known_load;
  const double others = static_cast<double>(load.queue_length + load.in_service) - static_cast<double>(written);
  t.cloud = std::max(0.0, others) * load.recent_service_ms;
  for (std::uint32_t id : edge.sent) {
    const Task& task = tasks_[id];
    // Its cloud side as predicted when it was planned (calibrated), as
    // EdgeService's Job::work.
    partition::Stages st = partition::stages_of(task.side->work, link);
    st.cloud = records_[id].predicted_cloud_ms;
    const double upload_end = (task.upload_end_s - now_) * 1e3;
    if (upload_end <= 0) {
      t.cloud = std::max(0.0, std::max(upload_end + rtt / 2, t.cloud) + st.cloud);
    } else {
      t.uplink = upload_end;
      t.cloud = std::max(t.uplink + rtt / 2, t.cloud) + st.cloud;
    }
  }
  return t;
}

// The edge daemon's planning (EdgeService::plan_task / planning_mode / conditions).
const Side& Engine::plan(EdgeState& edge, TaskRecord& r) {
  if (s_.planning == Planning::automatic && s_.scheduler == Scheduler::alone && s_.heavy_backlog > 0) {
    if (edge.queue.size() >= s_.heavy_backlog) edge.heavy = true;
    if (edge.queue.empty()) edge.heavy = false;
    r.heavy = edge.heavy;
  }
  planner::Conditions c;
  const units::Link link = link_of(edge);
  c.codec = s_.codec;
  c.link.uplink_bytes_per_s = c.link.downlink_bytes_per_s = *link.bytes_per_s;
  c.link.rtt_ms = link.rtt_ms;
  c.cloud_wait_ms = edge.known_load.queue_length * edge.known_load.recent_service_ms;
  if (s_.planning == Planning::automatic) calibrate(edge, c);
  const Side& chosen = plan_side(edge, r, c);
  r.predicted_edge_ms = chosen.work.edge_ms * c.edge_scale;
  r.predicted_cloud_ms = chosen.work.cloud_ms * c.cloud_scale;
  return chosen;
}

// The side `c` plans for r; heavy mode plans for throughput.
const Side& Engine::plan_side(const EdgeState& edge, TaskRecord& r, const planner::Conditions& c) {
  const std::string& model = s_.models[r.model];
  const GraphDesc& g = *graphs_[r.model];
  partition::Objective objective = s_.objective;
  if (r.heavy && objective == partition::Objective::latency) objective = partition::Objective::throughput;
  switch (s_.planning) {
    case Planning::automatic:
      if (connected(edge)) return side(r.model, planner_.plan(model, objective, c));
      r.fallback = true;  // "cloud unreachable": the whole graph on the edge
      return side(r.model, planner_.evaluate(model, Cut::edge_only(g), s_.objective, c));
    case Planning::edge_only: return side(r.model, planner_.evaluate(model, Cut::edge_only(g), s_.objective, c));
    case Planning::cloud_only: return side(r.model, planner_.evaluate(model, Cut::cloud_only(g), s_.objective, c));
  }
  throw std::logic_error("unhandled planning mode");
}

// EdgeService::conditions_locked: the profiles' compute scaled by how fast
// this edge's recent tasks computed on each side.
void Engine::calibrate(const EdgeState& edge, planner::Conditions& c) const {
  if (!s_.calibrate) return;
  c.edge_scale = edge.compute.edge_scale();
  c.cloud_scale = edge.compute.cloud_scale();
}

const Side& Engine::side(std::uint32_t model, const Cut& cut) {
  auto key = std::make_pair(model, cut.mask());
  auto it = sides_.find(key);
  if (it != sides_.end()) return it->second;
  const GraphDesc& g = *graphs_[model];
  Side s;
  s.placement = partition::placement_of(cut);
  s.work = planner_.cut_work(s_.models[model], cut, s_.codec);
  const auto* edge = planner_.edge_predictor();
  const auto* cloud = planner_.cloud_predictor();
  if (edge && cloud) {
    s.edge_ms = edge->edge_ms(g, cut);
    s.cloud_ms = cloud->cloud_ms(g, cut);
    s.fallback_ms = edge->cloud_ms(g, cut);
  } else {
    // A planner given costs, not profiles: the sides are sums of node costs.
    const planner::ModelCosts& costs = planner_.costs(s_.models[model]);
    bool edge_computes = false, cloud_computes = false;
    for (std::size_t v = g.input_count(); v < g.size(); ++v) {
      if (cut.on_edge(static_cast<NodeId>(v))) {
        s.edge_ms += costs.edge_ms[v];
        edge_computes = true;
      } else {
        s.cloud_ms += costs.cloud_ms[v];
        s.fallback_ms += costs.edge_ms[v];
        cloud_computes = true;
      }
    }
    if (edge_computes) s.edge_ms += costs.edge_run_ms;
    if (cloud_computes) {
      s.cloud_ms += costs.cloud_run_ms;
      s.fallback_ms += costs.edge_run_ms;
    }
  }
  s.up_bytes = static_cast<double>(s.work.upload_bytes);
  s.down_bytes = static_cast<double>(s.work.download_bytes);
  return sides_.emplace(std::move(key), s).first->second;
}

}  // namespace tandem::sim::detail
