#include "simulator/engine.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace tandem::sim::detail {

Engine::Engine(const Scenario& s, const planner::Planner& p) : s_(s), planner_(p) {
  for (const auto& m : s_.models) graphs_.push_back(&planner_.graph(m));
  edges_.resize(s_.edges);
  clouds_.resize(s_.clouds);
  double total_weight = 0;
  for (const auto& l : s_.link_mix) total_weight += l.weight;
  for (std::size_t e = 0; e < s_.edges; ++e) {
    EdgeState& edge = edges_[e];
    edge.rng = Rng(stream_seed(s_.seed, 1, e));
    edge.backoff_ms = s_.reconnect_backoff_ms;
    if (!s_.link_trace.empty()) {
      edge.trace_offset_s = edge.rng.uniform() * (s_.link_trace.back().at_s + 1);
    } else if (s_.links_in_turn) {
      edge.link = e % s_.link_mix.size();
    } else {
      double pick = edge.rng.uniform() * total_weight;
      edge.link = s_.link_mix.size() - 1;
      for (std::size_t i = 0; i < s_.link_mix.size(); ++i) {
        if ((pick -= s_.link_mix[i].weight) < 0) {
          edge.link = i;
          break;
        }
      }
    }
  }
  for (std::size_t c = 0; c < s_.clouds; ++c) clouds_[c].rng = Rng(stream_seed(s_.seed, 2, c));
  // On a shared host, how many cores' worth a computing daemon asks for:
  // its intra-op threads; the edge stretches its runs as its profile says
  // (edge_compute()).
  if (const auto* edge = planner_.edge_predictor()) {
    edge_threads_ = edge->profile().threads;
    edge_slowdown_ = std::max(edge->profile().slowdown, 1.0);
  }
  if (const auto* cloud = planner_.cloud_predictor()) cloud_cpu_weight_ = cloud->profile().threads;
}

SimResult Engine::run() {
  // Edges are up and connected before the first task (the daemons start first).
  for (std::uint32_t e = 0; e < s_.edges; ++e) {
    connect(e, pick_cloud(), 0);
    schedule_arrival(e, 0, true);
    push(edges_[e].rng.uniform() * s_.probe_interval_s, Ev::probe, e);
  }
  push(s_.agent_inter_s, Ev::agent_poll, 0);
  if (s_.host_cores > 0) {
    host_.emplace(s_.host_cores,
                  s_.host_background_trace.empty() ? s_.host_background : s_.host_background_trace.front().second);
  }
  for (std::uint32_t i = 0; i < s_.host_background_trace.size(); ++i) {
    push(s_.host_background_trace[i].first, Ev::background, i);
  }
  for (std::uint32_t i = 0; i < s_.failures.size(); ++i) push(s_.failures[i].at_s, Ev::failure, i);
  while (!events_.empty()) {
    const Event ev = events_.top();
    events_.pop();
    if (ev.t > s_.duration_s + k_drain_horizon_s) break;
    now_ = ev.t;
    ++processed_;
    dispatch(ev);
  }
  return summarise(std::move(records_), clouds_, s_.cloud_workers, host_ ? &*host_ : nullptr, now_, processed_);
}

// A compute time in seconds: the predicted ms times the device's speed
// against its profile and the noise factor.
double Engine::edge_compute_s(double ms, Rng& rng) const {
  return ms * s_.edge_compute_scale * rng.noise(s_.compute_noise) / 1e3;
}

double Engine::cloud_compute_s(double ms, Rng& rng) const {
  return ms * s_.cloud_compute_scale * rng.noise(s_.compute_noise) / 1e3;
}

void Engine::dispatch(const Event& ev) {
  switch (ev.kind) {
    case Ev::arrival: on_arrival(ev.a); break;
    case Ev::compute_done: on_compute_done(ev.a, ev.b); break;
    case Ev::cloud_arrive: on_cloud_arrive(ev.a, ev.b); break;
    case Ev::service_done: on_service_done(ev.a, ev.b); break;
    case Ev::reply: on_reply(ev.a, ev.b); break;
    case Ev::failure: on_failure(s_.failures[ev.a]); break;
    case Ev::drain_stop: on_drain_stop(ev.a); break;
    case Ev::connected: on_connected(ev.a, ev.b); break;
    case Ev::reconnect: on_reconnect(ev.a); break;
    case Ev::probe: on_probe(ev.a); break;
    case Ev::agent_poll: on_agent_poll(); break;
    case Ev::cpu_done: on_cpu_done(ev.a); break;
    case Ev::background: on_background(ev.a); break;
  }
}

// ---- arrivals -------------------------------------------------------------

double Engine::schedule_arrival(std::uint32_t e, double after, bool first) {
  EdgeState& edge = edges_[e];
  const Arrivals& a = s_.arrivals;
  const bool offset_given = !a.offsets_s.empty();
  const double offset = offset_given ? a.offsets_s[e % a.offsets_s.size()] : 0.0;
  double t = 0;
  switch (a.kind) {
    case Arrivals::Kind::poisson: t = (first ? offset : after) + edge.rng.exponential(a.rate_per_s); break;
    case Arrivals::Kind::fixed:
      if (!first) t = after + 1.0 / a.rate_per_s;
      else if (offset_given) t = offset;
      else t = s_.edges > 1 ? edge.rng.uniform() / a.rate_per_s : 0.0;
      break;
    case Arrivals::Kind::trace:
      if (edge.next_trace >= a.trace_s.size()) return k_never;
      t = offset + a.trace_s[edge.next_trace++];
      break;
  }
  if (t >= s_.duration_s) return k_never;
  push(t, Ev::arrival, e);
  return t;
}

void Engine::on_arrival(std::uint32_t e) {
  EdgeState& edge = edges_[e];
  const auto id = static_cast<std::uint32_t>(records_.size());
  TaskRecord r;
  r.edge = e;
  r.arrival_s = now_;
  const std::size_t n = s_.models.size();
  r.model = static_cast<std::uint32_t>(s_.shuffle_models ? edge.rng.next() % n : edge.next_index % n);
  ++edge.next_index;
  records_.push_back(r);
  tasks_.emplace_back();
  ++outstanding_;
  edge.queue.push_back(id);
  // Tasks that arrive at one instant (a queue sent at once: a trace of
  // equal times) are all waiting when the compute thread looks, as the
  // daemon's first dispatch saw a window of them, not the first alone.
  if (schedule_arrival(e, now_, false) > now_) try_start(e);
}

// ---- the edge's compute thread --------------------------------------------

void Engine::try_start(std::uint32_t e) {
  EdgeState& edge = edges_[e];
  if (edge.busy || edge.queue.empty()) return;
  const std::uint32_t id = edge.queue.front();
  if (!tasks_[id].fallback_pending && !s_.pipeline && edge.awaiting_cloud) return;
  if (tasks_[id].fallback_pending) {
    edge.queue.pop_front();
    edge.busy = true;
    edge_compute(edge_compute_s(tasks_[id].side->fallback_ms, edge.rng), Ev::compute_done, e, id);
    return;
  }
  edge.busy = true;
  if (s_.planning == Planning::automatic && s_.scheduler == Scheduler::timeline && connected(edge)) {
    const auto [pick, chosen] = choose(edge);
    const std::uint32_t picked = edge.queue[pick];
    edge.queue.erase(edge.queue.begin() + static_cast<std::ptrdiff_t>(pick));
    TaskRecord& r = records_[picked];
    r.start_s = now_;
    tasks_[picked].side = chosen;
    r.placement = chosen->placement;
    edge_compute(edge_compute_s(chosen->edge_ms, edge.rng), Ev::compute_done, e, picked);
    return;
  }
  edge.queue.pop_front();
  Task& task = tasks_[id];
  TaskRecord& r = records_[id];
  r.start_s = now_;
  task.side = &plan(edge, r);
  r.placement = task.side->placement;
  edge_compute(edge_compute_s(task.side->edge_ms, edge.rng), Ev::compute_done, e, id);
}

void Engine::on_compute_done(std::uint32_t e, std::uint32_t id) {
  EdgeState& edge = edges_[e];
  Task& task = tasks_[id];
  TaskRecord& r = records_[id];
  edge.busy = false;
  // EdgeService::run_edge_side: the edge side's wall time against its
  // profile (a fallback's run is not a planned side).
  if (!task.fallback_pending && r.placement != partition::Placement::cloud_only) {
    r.edge_ms = (now_ - r.start_s) * 1e3;
    edge.compute.add_edge(task.side->work.edge_ms, r.edge_ms);
  }
  if (task.fallback_pending || r.placement == partition::Placement::edge_only) {
    finish(id);
  } else if (!connected(edge)) {
    // EdgeService::send_to_cloud: no connection, the rest runs here at once.
    r.fallback = true;
    task.fallback_pending = true;
    edge.busy = true;
    edge_compute(edge_compute_s(task.side->fallback_ms, edge.rng), Ev::compute_done, e, id);
    return;
  } else {
    send(e, id);
  }
  try_start(e);
}

void Engine::send(std::uint32_t e, std::uint32_t id) {
  EdgeState& edge = edges_[e];
  Task& task = tasks_[id];
  const units::Link link = link_of(edge);
  const double start = std::max(now_, edge.uplink_free_s);
  edge.uplink_free_s = start + task.side->up_bytes / *link.bytes_per_s;
  task.upload_end_s = edge.uplink_free_s;
  edge.sent.push_back(id);
  edge.awaiting_cloud = true;
  ++edge.in_flight;
  task.cloud = edge.cloud;
  task.connection = edge.connection;
  clouds_[static_cast<std::size_t>(edge.cloud)].tasks.insert(id);
  push(edge.uplink_free_s + link.rtt_ms / 2e3, Ev::cloud_arrive, static_cast<std::uint32_t>(edge.cloud), id);
}

void Engine::queue_fallback(std::uint32_t e, std::uint32_t id) {
  records_[id].fallback = true;
  tasks_[id].fallback_pending = true;
  edges_[e].queue.push_front(id);
  try_start(e);
}

void Engine::finish(std::uint32_t id) {
  TaskRecord& r = records_[id];
  r.done_s = now_;
  if (tasks_[id].cloud >= 0 && !r.fallback) r.cloud = tasks_[id].cloud;
  --outstanding_;
  if (tasks_[id].cloud >= 0) edges_[r.edge].awaiting_cloud = false;
}

void Engine::on_reply(std::uint32_t e, std::uint32_t id) {
  Task& task = tasks_[id];
  if (task.failed) return;
  EdgeState& edge = edges_[e];
  std::erase(edge.sent, id);
  if (task.connection == edge.connection && edge.in_flight > 0) --edge.in_flight;
  if (task.refused) {
    queue_fallback(e, id);
  } else {
    if (task.connection == edge.connection) edge.known_load = task.reply_load;
    edge.compute.add_cloud(task.side->work.cloud_ms, task.service_ms);
    finish(id);
    try_start(e);
  }
  maybe_close_stopping(e);
}

// ---- the host's processors (Scenario::host_cores) ---------------------------
//
// With a host, every computing job shares its cores (simulator/host.hpp);
// without one, a job simply takes its time.

void Engine::compute(double seconds, double weight, Ev kind, std::uint32_t a, std::uint32_t b, double stretch,
                     bool spin) {
  if (!host_ || seconds <= 0) {
    push(now_ + std::max(seconds, 0.0) * stretch, kind, a, b);
    return;
  }
  const std::uint64_t tag = next_cpu_tag_++;
  cpu_work_.emplace(tag, CpuWork{kind, a, b, stretch});
  host_->add(now_, {.left_s = seconds,
                    .weight = weight,
                    .spin = spin,
                    .tag = tag,
                    .group = kind == Ev::service_done ? detail::k_cloud_jobs : detail::k_edge_jobs});
  cpu_reschedule();
}

// An edge side as the executor's stretch runs it (RunOptions::slowdown,
// models/model.cpp): `stretched_s` is its time on the emulated device, so
// its nodes compute for stretched_s / slowdown on the edge's threads —
// slowed, on a shared host, by whatever else computes — and the run then
// waits (slowdown - 1) times the wall time that took: spinning (holding a
// core) through a wait up to k_stretch_spin_ms, sleeping through a longer
// one (its last 0.2 ms spin is left out).
void Engine::edge_compute(double stretched_s, Ev kind, std::uint32_t a, std::uint32_t b) {
  compute(stretched_s / edge_slowdown_, edge_threads_, kind, a, b, edge_slowdown_);
}

// An event at the next job's end (earlier events of this kind are void:
// their generation is old).
void Engine::cpu_reschedule() {
  ++cpu_generation_;
  if (const auto end = host_->next_end()) push(*end, Ev::cpu_done, cpu_generation_);
}

void Engine::on_cpu_done(std::uint32_t generation) {
  if (generation != cpu_generation_) return;
  const std::vector<Host::Job> done = host_->take_done(now_);
  cpu_reschedule();
  for (const Host::Job& j : done) {
    const auto it = cpu_work_.find(j.tag);
    const CpuWork w = it->second;
    cpu_work_.erase(it);
    if (w.stretch <= 1.0) {
      dispatch(Event{now_, 0, w.kind, w.a, w.b});
      continue;
    }
    const double wait_s = (w.stretch - 1.0) * (now_ - j.started_s);
    if (wait_s * 1e3 <= k_stretch_spin_ms) {
      compute(wait_s, 1.0, w.kind, w.a, w.b, 1.0, /*spin=*/true);
    } else {
      push(now_ + wait_s, w.kind, w.a, w.b);
    }
  }
}

// The background trace's next point.
void Engine::on_background(std::uint32_t i) {
  if (!host_) return;
  host_->set_background(now_, s_.host_background_trace[i].second);
  cpu_reschedule();
}

// Drops the jobs of `kind` for `a` (a killed cloud's requests).
void Engine::cpu_cancel(Ev kind, std::uint32_t a) {
  if (!host_) return;
  host_->cancel(now_, [&](const Host::Job& j) {
    const auto it = cpu_work_.find(j.tag);
    if (it->second.kind != kind || it->second.a != a) return false;
    cpu_work_.erase(it);
    return true;
  });
  cpu_reschedule();
}

}  // namespace tandem::sim::detail

namespace tandem::sim {

SimResult simulate(const Scenario& scenario, const planner::Planner& planner) {
  validate(scenario);
  return detail::Engine(scenario, planner).run();
}

}  // namespace tandem::sim
