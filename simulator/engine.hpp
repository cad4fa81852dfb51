#pragma once
// The simulator's engine (internal to simulator/; torch-free): one run of a
// Scenario as a stream of events over edges, clouds and, when the scenario
// has one, a shared host's cores. Its state is in engine_state.hpp; its
// member functions are defined by concern:
//   simulator.cpp     the run loop, arrivals, the edge's task path (compute,
//                     send, reply, fallback) and the host's processors;
//   planning.cpp      what the edge daemon's planner and timeline scheduler
//                     choose for a task, and each (model, cut)'s costs;
//   cloud_tier.cpp    the cloud daemons (queues, workers, drain, kill) and
//                     HAProxy (leastconn, agent checks, reconnects).

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "simulator/engine_state.hpp"
#include "simulator/host.hpp"
#include "simulator/simulator.hpp"

namespace tandem::sim::detail {

class Engine {
 public:
  Engine(const Scenario& s, const planner::Planner& p);
  SimResult run();

 private:
  // ---- simulator.cpp: events, arrivals, the edge's task path ---------------
  void push(double t, Ev kind, std::uint32_t a, std::uint32_t b = 0) { events_.push({t, seq_++, kind, a, b}); }
  bool running() const { return now_ < s_.duration_s || outstanding_ > 0; }
  bool connected(const EdgeState& edge) const { return edge.cloud >= 0; }
  double edge_compute_s(double ms, Rng& rng) const;
  double cloud_compute_s(double ms, Rng& rng) const;
  void dispatch(const Event& ev);
  /// Queues edge `e`'s next arrival; returns its time (k_never: none).
  double schedule_arrival(std::uint32_t e, double after, bool first);
  static constexpr double k_never = std::numeric_limits<double>::infinity();
  void on_arrival(std::uint32_t e);
  void try_start(std::uint32_t e);
  void on_compute_done(std::uint32_t e, std::uint32_t id);
  void send(std::uint32_t e, std::uint32_t id);
  void queue_fallback(std::uint32_t e, std::uint32_t id);
  void finish(std::uint32_t id);
  void on_reply(std::uint32_t e, std::uint32_t id);

  // ---- simulator.cpp: the host's processors (Scenario::host_cores) ----------
  // What a job on the host does when it ends.
  struct CpuWork {
    Ev kind;
    std::uint32_t a, b;
    double stretch = 1.0;  // > 1: an edge side, which waits after it (edge_compute())
  };
  void compute(double seconds, double weight, Ev kind, std::uint32_t a, std::uint32_t b,
               double stretch = 1.0, bool spin = false);
  void edge_compute(double stretched_s, Ev kind, std::uint32_t a, std::uint32_t b);
  void cpu_reschedule();
  void on_cpu_done(std::uint32_t generation);
  void on_background(std::uint32_t i);
  void cpu_cancel(Ev kind, std::uint32_t a);

  // ---- planning.cpp: the edge daemon's choices -------------------------------
  units::Link link_of(const EdgeState& edge) const;
  std::pair<std::size_t, const Side*> choose(EdgeState& edge);
  partition::Timeline timeline_of(const EdgeState& edge, const partition::Link& link) const;
  const Side& plan(EdgeState& edge, TaskRecord& r);
  const Side& plan_side(const EdgeState& edge, TaskRecord& r, const planner::Conditions& c);
  void calibrate(const EdgeState& edge, planner::Conditions& c) const;
  const Side& side(std::uint32_t model, const Cut& cut);
  const Side& side(std::uint32_t model, const partition::Plan& plan) { return side(model, plan.cut); }

  // ---- cloud_tier.cpp: cloud daemons and HAProxy -----------------------------
  void on_cloud_arrive(std::uint32_t c, std::uint32_t id);
  void start_service(std::uint32_t c);
  void on_service_done(std::uint32_t c, std::uint32_t id);
  void maybe_close_stopping(std::uint32_t e);
  void maybe_down(std::uint32_t c);
  void on_failure(const Failure& f);
  void on_drain_stop(std::uint32_t c);
  std::int32_t pick_cloud();
  void connect(std::uint32_t e, std::int32_t c, double delay_s);
  void on_connected(std::uint32_t e, std::uint32_t c);
  void disconnect(std::uint32_t e);
  void retry_later(std::uint32_t e);
  void on_reconnect(std::uint32_t e);
  void on_probe(std::uint32_t e);
  void on_agent_poll();

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

}  // namespace tandem::sim::detail
