#include "simulator/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "app/agent_check.hpp"
#include "simulator/engine_state.hpp"
#include "simulator/host.hpp"

namespace tandem::sim {
namespace {

using namespace detail;  // the engine's state (engine_state.hpp)

class Engine {
 public:
  Engine(const Scenario& s, const planner::Planner& p) : s_(s), planner_(p) {
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

  SimResult run() {
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

 private:
  void push(double t, Ev kind, std::uint32_t a, std::uint32_t b = 0) { events_.push({t, seq_++, kind, a, b}); }
  bool running() const { return now_ < s_.duration_s || outstanding_ > 0; }
  // A compute time in seconds: the predicted ms times the device's speed
  // against its profile and the noise factor.
  double edge_compute_s(double ms, Rng& rng) const {
    return ms * s_.edge_compute_scale * rng.noise(s_.compute_noise) / 1e3;
  }
  double cloud_compute_s(double ms, Rng& rng) const {
    return ms * s_.cloud_compute_scale * rng.noise(s_.compute_noise) / 1e3;
  }

  void dispatch(const Event& ev) {
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

  void schedule_arrival(std::uint32_t e, double after, bool first) {
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
        if (edge.next_trace >= a.trace_s.size()) return;
        t = offset + a.trace_s[edge.next_trace++];
        break;
    }
    if (t < s_.duration_s) push(t, Ev::arrival, e);
  }

  void on_arrival(std::uint32_t e) {
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
    schedule_arrival(e, now_, false);
    try_start(e);
  }

  // ---- the edge's compute thread --------------------------------------------

  units::Link link_of(const EdgeState& edge) const {
    if (s_.link_trace.empty()) return s_.link_mix[edge.link].link;
    const double span = s_.link_trace.back().at_s + 1;
    const double t = std::fmod(now_ + edge.trace_offset_s, span);
    auto it = std::upper_bound(s_.link_trace.begin(), s_.link_trace.end(), t,
                               [](double v, const LinkTracePoint& p) { return v < p.at_s; });
    return (it == s_.link_trace.begin() ? *it : *std::prev(it)).link;
  }

  bool connected(const EdgeState& edge) const { return edge.cloud >= 0; }

  void try_start(std::uint32_t e) {
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

  // The timeline scheduler's dispatch (EdgeService::choose): the first
  // `batch_window` waiting tasks, their options (the latency plan's cut, then
  // the model's scheduling candidates) placed on the edge's timeline; one
  // task alone (or one overtaken `batch_window` times) takes its earliest
  // completion, several the first of schedule_batch's order. Returns the
  // task's position in the queue and its side.
  std::pair<std::size_t, const Side*> choose(EdgeState& edge) {
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
  partition::Timeline timeline_of(const EdgeState& edge, const partition::Link& link) const {
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
  const Side& plan(EdgeState& edge, TaskRecord& r) {
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
  const Side& plan_side(const EdgeState& edge, TaskRecord& r, const planner::Conditions& c) {
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
  void calibrate(const EdgeState& edge, planner::Conditions& c) const {
    if (!s_.calibrate) return;
    c.edge_scale = edge.compute.edge_scale();
    c.cloud_scale = edge.compute.cloud_scale();
  }

  const Side& side(std::uint32_t model, const partition::Plan& plan) { return side(model, plan.cut); }

  const Side& side(std::uint32_t model, const Cut& cut) {
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

  void on_compute_done(std::uint32_t e, std::uint32_t id) {
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

  void send(std::uint32_t e, std::uint32_t id) {
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

  void queue_fallback(std::uint32_t e, std::uint32_t id) {
    records_[id].fallback = true;
    tasks_[id].fallback_pending = true;
    edges_[e].queue.push_front(id);
    try_start(e);
  }

  void finish(std::uint32_t id) {
    TaskRecord& r = records_[id];
    r.done_s = now_;
    if (tasks_[id].cloud >= 0 && !r.fallback) r.cloud = tasks_[id].cloud;
    --outstanding_;
    if (tasks_[id].cloud >= 0) edges_[r.edge].awaiting_cloud = false;
  }

  // ---- the cloud --------------------------------------------------------------

  void on_cloud_arrive(std::uint32_t c, std::uint32_t id) {
    Task& task = tasks_[id];
    if (task.failed) return;
    CloudState& cloud = clouds_[c];
    const TaskRecord& r = records_[id];
    task.arrived = true;
    if (cloud.stopping) {
      // Server::stop: answered with ERROR shutting_down; the edge finishes it.
      task.refused = true;
      ++cloud.summary.refused;
      cloud.tasks.erase(id);
      push(now_ + link_of(edges_[r.edge]).rtt_ms / 2e3, Ev::reply, r.edge, id);
      return;
    }
    cloud.queue.push_back(id);
    cloud.summary.max_queue = std::max(cloud.summary.max_queue, cloud.queue.size());
    start_service(c);
  }

  void start_service(std::uint32_t c) {
    CloudState& cloud = clouds_[c];
    while (cloud.in_service < s_.cloud_workers && !cloud.queue.empty()) {
      const std::uint32_t id = cloud.queue.front();
      cloud.queue.pop_front();
      ++cloud.in_service;
      tasks_[id].service_start_s = now_;
      tasks_[id].serving = true;
      compute(cloud_compute_s(tasks_[id].side->cloud_ms, cloud.rng), cloud_cpu_weight_, Ev::service_done, c, id);
    }
  }

  void on_service_done(std::uint32_t c, std::uint32_t id) {
    Task& task = tasks_[id];
    if (task.failed) return;
    CloudState& cloud = clouds_[c];
    const double service_ms = (now_ - task.service_start_s) * 1e3;
    task.service_ms = service_ms;
    records_[id].cloud_ms = service_ms;
    task.reply_load = cloud.load();  // as Responder: taken before the request counts as finished
    task.serving = false;
    --cloud.in_service;
    cloud.recent_service_ms = cloud.recent_service_ms == 0
                                  ? service_ms
                                  : (1 - k_service_ewma_alpha) * cloud.recent_service_ms + k_service_ewma_alpha * service_ms;
    cloud.summary.busy_s += service_ms / 1e3;
    ++cloud.summary.requests;
    cloud.tasks.erase(id);
    const EdgeState& edge = edges_[records_[id].edge];
    const units::Link link = link_of(edge);
    push(now_ + task.side->down_bytes / *link.bytes_per_s + link.rtt_ms / 2e3, Ev::reply, records_[id].edge, id);
    start_service(c);
  }

  void on_reply(std::uint32_t e, std::uint32_t id) {
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

  // A stopping cloud closes a session once nothing of it is queued or in
  // service there (net::Server: it knows nothing of what the edge is still
  // uploading). The edge's request on the wire fails with the connection, and
  // the rest of its uplink queue with it: the edge finds no connection for
  // them during its reconnect back-off (EdgeService::send_to_cloud) and
  // finishes them itself.
  void maybe_close_stopping(std::uint32_t e) {
    EdgeState& edge = edges_[e];
    if (edge.cloud < 0) return;
    const auto c = static_cast<std::uint32_t>(edge.cloud);
    CloudState& cloud = clouds_[c];
    if (!cloud.stopping) return;
    std::vector<std::uint32_t> uploading;
    for (std::uint32_t id : cloud.tasks) {
      if (records_[id].edge != e) continue;
      if (tasks_[id].arrived) return;
      uploading.push_back(id);
    }
    std::sort(uploading.begin(), uploading.end());
    for (std::uint32_t id : uploading) {
      tasks_[id].failed = true;  // its arrival is void
      cloud.tasks.erase(id);
      std::erase(edge.sent, id);
      ++cloud.summary.refused;
    }
    disconnect(e);
    for (std::uint32_t id : uploading) queue_fallback(e, id);
    maybe_down(c);
  }

  // A stopping cloud is gone once its last session closed.
  void maybe_down(std::uint32_t c) {
    CloudState& cloud = clouds_[c];
    if (cloud.stopping && cloud.alive && cloud.edges.empty() && cloud.tasks.empty()) {
      cloud.alive = false;
      cloud.down_at_s = now_;
    }
  }

  // ---- failures -------------------------------------------------------------

  void on_failure(const Failure& f) {
    CloudState& cloud = clouds_[f.cloud];
    if (!cloud.alive) return;
    if (f.action == Failure::Action::drain) {
      if (cloud.draining) return;
      cloud.draining = true;
      push(now_ + s_.drain_grace_s, Ev::drain_stop, static_cast<std::uint32_t>(f.cloud));
      return;
    }
    cloud.alive = false;
    cloud.down_at_s = now_;
    // Everything sent to it and not yet replied is lost there; the edges see
    // the connection drop now and finish those tasks themselves.
    std::vector<std::uint32_t> lost(cloud.tasks.begin(), cloud.tasks.end());
    std::sort(lost.begin(), lost.end());
    for (std::uint32_t id : lost) {
      Task& task = tasks_[id];
      if (task.serving) cloud.summary.busy_s += now_ - task.service_start_s;
      task.serving = false;
      task.failed = true;  // its events at the cloud are void; the task lives on at the edge
      ++cloud.summary.failed;
    }
    cloud.tasks.clear();
    cloud.queue.clear();
    cloud.in_service = 0;
    cpu_cancel(Ev::service_done, static_cast<std::uint32_t>(f.cloud));
    std::vector<std::uint32_t> connected_edges(cloud.edges.begin(), cloud.edges.end());
    std::sort(connected_edges.begin(), connected_edges.end());
    for (std::uint32_t e : connected_edges) disconnect(e);
    cloud.edges.clear();
    for (std::uint32_t id : lost) {
      std::erase(edges_[records_[id].edge].sent, id);
      queue_fallback(records_[id].edge, id);
    }
  }

  void on_drain_stop(std::uint32_t c) {
    CloudState& cloud = clouds_[c];
    if (!cloud.alive) return;
    cloud.stopping = true;
    std::vector<std::uint32_t> connected_edges(cloud.edges.begin(), cloud.edges.end());
    std::sort(connected_edges.begin(), connected_edges.end());
    for (std::uint32_t e : connected_edges) maybe_close_stopping(e);
    maybe_down(c);
  }

  // ---- connections (HAProxy) ------------------------------------------------

  // leastconn over the clouds HAProxy would use: up, not drained by the agent,
  // listening; fewest connections per unit of weight, ties in turn.
  std::int32_t pick_cloud() {
    std::int32_t best = -1;
    double best_key = 0;
    for (std::size_t i = 0; i < s_.clouds; ++i) {
      const std::size_t c = (rotate_ + i) % s_.clouds;
      const CloudState& cloud = clouds_[c];
      if (!cloud.alive || cloud.stopping || cloud.agent_drain) continue;
      const double key = static_cast<double>(cloud.edges.size()) / cloud.agent_weight;
      if (best < 0 || key < best_key) {
        best = static_cast<std::int32_t>(c);
        best_key = key;
      }
    }
    rotate_ = (rotate_ + 1) % s_.clouds;
    return best;
  }

  void connect(std::uint32_t e, std::int32_t c, double delay_s) {
    EdgeState& edge = edges_[e];
    if (c < 0) {  // no cloud to go to: try again after the back-off
      retry_later(e);
      return;
    }
    CloudState& cloud = clouds_[static_cast<std::size_t>(c)];
    cloud.edges.insert(e);  // HAProxy counts the connection from its start
    cloud.summary.max_connections = std::max(cloud.summary.max_connections, cloud.edges.size());
    edge.connecting_to = c;
    if (delay_s <= 0) {
      on_connected(e, static_cast<std::uint32_t>(c));
    } else {
      push(now_ + delay_s, Ev::connected, e, static_cast<std::uint32_t>(c));
    }
  }

  void on_connected(std::uint32_t e, std::uint32_t c) {
    EdgeState& edge = edges_[e];
    CloudState& cloud = clouds_[c];
    if (edge.connecting_to != static_cast<std::int32_t>(c)) return;  // an attempt given up
    edge.connecting_to = -1;
    if (!cloud.alive || cloud.stopping) {  // the cloud went while connecting
      cloud.edges.erase(e);
      maybe_down(c);
      retry_later(e);
      return;
    }
    edge.cloud = static_cast<std::int32_t>(c);
    ++edge.connection;
    edge.in_flight = 0;
    edge.backoff_ms = s_.reconnect_backoff_ms;
    edge.known_load = cloud.load();  // HELLO_ACK carries it
  }

  void disconnect(std::uint32_t e) {
    EdgeState& edge = edges_[e];
    if (edge.cloud < 0) return;  // connecting: that attempt fails on its own
    clouds_[static_cast<std::size_t>(edge.cloud)].edges.erase(e);
    edge.cloud = -1;
    ++edge.connection;
    // What was still queued for the link went with the socket: the next
    // connection's uploads start on an empty link.
    edge.uplink_free_s = std::min(edge.uplink_free_s, now_);
    edge.in_flight = 0;
    retry_later(e);
  }

  // CloudLink::run: retry after the back-off, doubling it up to 2 s.
  void retry_later(std::uint32_t e) {
    EdgeState& edge = edges_[e];
    push(now_ + edge.backoff_ms / 1e3, Ev::reconnect, e);
    edge.backoff_ms = std::min(edge.backoff_ms * 2, k_max_backoff_ms);
  }

  void on_reconnect(std::uint32_t e) {
    if (!running()) return;
    connect(e, pick_cloud(), k_connect_rtts * link_of(edges_[e]).rtt_ms / 1e3);
  }

  void on_probe(std::uint32_t e) {
    EdgeState& edge = edges_[e];
    if (edge.cloud >= 0 && edge.in_flight == 0) edge.known_load = clouds_[static_cast<std::size_t>(edge.cloud)].load();
    if (running()) push(now_ + s_.probe_interval_s, Ev::probe, e);
  }

  void on_agent_poll() {
    for (CloudState& cloud : clouds_) {
      cloud.agent_drain = cloud.draining;
      if (cloud.alive && !cloud.draining) {
        cloud.agent_weight = app::agent_weight_percent(cloud.load(), s_.cloud_workers, s_.agent_reference_ms);
      }
    }
    if (running()) push(now_ + s_.agent_inter_s, Ev::agent_poll, 0);
  }

  // ---- the host's processors (Scenario::host_cores) ---------------------------
  //
  // With a host, every computing job shares its cores (simulator/host.hpp);
  // without one, a job simply takes its time.

  // What a job on the host does when it ends.
  struct CpuWork {
    Ev kind;
    std::uint32_t a, b;
    double stretch = 1.0;  // > 1: an edge side, which waits after it (edge_compute())
  };

  void compute(double seconds, double weight, Ev kind, std::uint32_t a, std::uint32_t b,
               double stretch = 1.0, bool spin = false) {
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
  void edge_compute(double stretched_s, Ev kind, std::uint32_t a, std::uint32_t b) {
    compute(stretched_s / edge_slowdown_, edge_threads_, kind, a, b, edge_slowdown_);
  }

  // An event at the next job's end (earlier events of this kind are void:
  // their generation is old).
  void cpu_reschedule() {
    ++cpu_generation_;
    if (const auto end = host_->next_end()) push(*end, Ev::cpu_done, cpu_generation_);
  }

  void on_cpu_done(std::uint32_t generation) {
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
  void on_background(std::uint32_t i) {
    if (!host_) return;
    host_->set_background(now_, s_.host_background_trace[i].second);
    cpu_reschedule();
  }

  // Drops the jobs of `kind` for `a` (a killed cloud's requests).
  void cpu_cancel(Ev kind, std::uint32_t a) {
    if (!host_) return;
    host_->cancel(now_, [&](const Host::Job& j) {
      const auto it = cpu_work_.find(j.tag);
      if (it->second.kind != kind || it->second.a != a) return false;
      cpu_work_.erase(it);
      return true;
    });
    cpu_reschedule();
  }

  const Scenario& s_;
  const planner::Planner& planner_;
  std::vector<const GraphDesc*> graphs_;
  std::vector<EdgeState> edges_;
  std::vector<CloudState> clouds_;
  std::vector<TaskRecord> records_;
  std::vector<Task> tasks_;
  std::map<std::pair<std::uint32_t, std::vector<bool>>, Side> sides_;  // node-based: references stay valid
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t seq_ = 0, processed_ = 0, outstanding_ = 0;
  std::size_t rotate_ = 0;
  double now_ = 0;
  std::optional<Host> host_;  // Scenario::host_cores > 0
  std::unordered_map<std::uint64_t, CpuWork> cpu_work_;  // by Host::Job::tag
  std::uint64_t next_cpu_tag_ = 0;
  std::uint32_t cpu_generation_ = 0;
  double edge_threads_ = 1, edge_slowdown_ = 1, cloud_cpu_weight_ = 1;
};

}  // namespace

SimResult simulate(const Scenario& scenario, const planner::Planner& planner) {
  validate(scenario);
  return Engine(scenario, planner).run();
}

}  // namespace tandem::sim
