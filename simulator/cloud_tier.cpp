#include "simulator/engine.hpp"

#include <algorithm>
#include <vector>

#include "app/agent_check.hpp"

namespace tandem::sim::detail {

// ---- the cloud --------------------------------------------------------------

void Engine::on_cloud_arrive(std::uint32_t c, std::uint32_t id) {
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

void Engine::start_service(std::uint32_t c) {
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

void Engine::on_service_done(std::uint32_t c, std::uint32_t id) {
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

// A stopping cloud closes a session once nothing of it is queued or in
// service there (net::Server: it knows nothing of what the edge is still
// uploading). The edge's request on the wire fails with the connection, and
// the rest of its uplink queue with it: the edge finds no connection for
// them during its reconnect back-off (EdgeService::send_to_cloud) and
// finishes them itself.
void Engine::maybe_close_stopping(std::uint32_t e) {
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
void Engine::maybe_down(std::uint32_t c) {
  CloudState& cloud = clouds_[c];
  if (cloud.stopping && cloud.alive && cloud.edges.empty() && cloud.tasks.empty()) {
    cloud.alive = false;
    cloud.down_at_s = now_;
  }
}

// ---- failures -------------------------------------------------------------

void Engine::on_failure(const Failure& f) {
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

void Engine::on_drain_stop(std::uint32_t c) {
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
std::int32_t Engine::pick_cloud() {
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

void Engine::connect(std::uint32_t e, std::int32_t c, double delay_s) {
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

void Engine::on_connected(std::uint32_t e, std::uint32_t c) {
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

void Engine::disconnect(std::uint32_t e) {
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
void Engine::retry_later(std::uint32_t e) {
  EdgeState& edge = edges_[e];
  push(now_ + edge.backoff_ms / 1e3, Ev::reconnect, e);
  edge.backoff_ms = std::min(edge.backoff_ms * 2, k_max_backoff_ms);
}

void Engine::on_reconnect(std::uint32_t e) {
  if (!running()) return;
  connect(e, pick_cloud(), k_connect_rtts * link_of(edges_[e]).rtt_ms / 1e3);
}

void Engine::on_probe(std::uint32_t e) {
  EdgeState& edge = edges_[e];
  if (edge.cloud >= 0 && edge.in_flight == 0) edge.known_load = clouds_[static_cast<std::size_t>(edge.cloud)].load();
  if (running()) push(now_ + s_.probe_interval_s, Ev::probe, e);
}

void Engine::on_agent_poll() {
  for (CloudState& cloud : clouds_) {
    cloud.agent_drain = cloud.draining;
    if (cloud.alive && !cloud.draining) {
      cloud.agent_weight = app::agent_weight_percent(cloud.load(), s_.cloud_workers, s_.agent_reference_ms);
    }
  }
  if (running()) push(now_ + s_.agent_inter_s, Ev::agent_poll, 0);
}

}  // namespace tandem::sim::detail
