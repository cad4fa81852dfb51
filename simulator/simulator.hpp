#pragma once
// A discrete-event simulator of a tandem fleet (docs/design.md §13): E edge
// daemons and C cloud daemons behind HAProxy, with the daemons' own cost
// model, profiles and planner. Torch-free; seeded and deterministic (the same
// scenario and seed give the same results on any machine: its random numbers
// are SplitMix64 streams per edge, not the standard library's distributions).
//
// What each piece does, as the daemons do it:
// * Edge: a queue of tasks and one compute thread. A task is planned when the
//   thread takes it, as edge_daemon's scheduler does: `timeline` (the
//   default; EdgeService::choose) places the first `batch_window` waiting
//   tasks on the edge's timeline (its uplink backlog, its own requests at the
//   cloud, the cloud's reported queue less those) and takes the first task of
//   schedule_batch's order with its cut (one task: its earliest completion;
//   a task overtaken `batch_window` times goes next); `alone` takes the
//   oldest task with planner::Planner::plan under the edge's link and the
//   cloud load it last heard of (queue length × recent service time, as
//   EdgeService::conditions; heavy mode when `heavy_backlog` tasks wait).
//   Re-planning of tasks waiting for the uplink when the link slows is not
//   modelled (a link trace changes the rate of later transfers only). The
//   task's edge side is computed for the time the edge profile predicts for that side
//   (predictor::Predictor::edge_ms), and with pipelining the thread moves on
//   while the crossing tensors upload (one connection: uploads queue behind
//   each other at the link rate), travel half the RTT, wait and run in the
//   cloud, and the outputs come back at the link rate plus half the RTT. A
//   failed or refused request, or no connection, finishes on the edge: the
//   cloud side computed for the edge profile's time of it, ahead of new tasks.
// * Cloud: `cloud_workers` workers over one FIFO; a request takes what the
//   cloud profile predicts for its cloud side (predictor's cloud_ms). It
//   reports its load (queue, in service, recent service time as the server's
//   moving average) in every reply and status.
// * HAProxy: each edge holds one connection; a new or reconnecting edge goes
//   to the live, not-draining cloud with the fewest connections per unit of
//   weight (leastconn; ties in turn), the weight being what the cloud's agent
//   said at the last agent-check (app::agent_weight_percent, the daemon's own
//   formula). A killed cloud is skipped at once (observe layer4 + redispatch).
// * Failures: kill drops the cloud's connections; every request at it (on
//   the wire, queued, in service) fails and falls back; its edges reconnect
//   after the back-off. Drain: the agent says drain (seen at HAProxy's next
//   check: no new connections); after the grace the cloud refuses new
//   requests (they fall back), finishes the rest, and closes each session
//   once nothing of it is queued or in service there: the edge's uploads
//   still on the way fail with the connection and fall back (during the
//   reconnect back-off the edge has no connection to send them on); those
//   edges reconnect elsewhere.
//
// Not modelled: bandwidth probes' bytes, TCP slow start, clock skew. CPU
// shared between daemons on one host only with Scenario::host_cores.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "partition/plan.hpp"
#include "planner/planner.hpp"
#include "simulator/scenario.hpp"

namespace tandem::sim {

/// One task's life.
struct TaskRecord {
  std::uint32_t edge = 0;
  std::uint32_t model = 0;   // index into Scenario::models
  std::int32_t cloud = -1;   // the cloud that computed it; -1 none
  double arrival_s = 0;      // submitted to the edge
  double start_s = 0;        // the edge's compute thread took it
  double done_s = -1;        // result; -1: never (lost)
  partition::Placement placement = partition::Placement::edge_only;
  bool fallback = false;     // finished on the edge after the cloud failed or was unreachable
  bool heavy = false;        // planned in heavy mode
  // Each side's compute as the daemons report it: predicted when planned
  // (the profile scaled by the calibration then), and simulated (the edge
  // side's wall time, the cloud's service time); 0 where the side ran
  // nothing.
  double predicted_edge_ms = 0, predicted_cloud_ms = 0;
  double edge_ms = 0, cloud_ms = 0;
  double latency_ms() const { return (done_s - arrival_s) * 1e3; }
};

struct CloudSummary {
  std::uint64_t requests = 0;   // computed to the end
  std::uint64_t refused = 0;    // refused while stopping, or cut off uploading when it closed the session
  std::uint64_t failed = 0;     // lost to a kill (the edge fell back)
  double busy_s = 0;            // worker time spent computing
  double utilisation = 0;       // busy / (workers × the time it was up)
  std::size_t max_queue = 0;    // most requests waiting at once
  std::size_t max_connections = 0;
};

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, mean = 0, max = 0;
};

struct SimResult {
  std::vector<TaskRecord> tasks;  // in order of arrival (ties: by edge)
  std::vector<CloudSummary> clouds;
  std::uint64_t completed = 0, lost = 0, fallbacks = 0;
  std::uint64_t edge_only = 0, split = 0, cloud_only = 0;
  Percentiles latency_ms;  // submission to result, queueing included (as tandem submit)
  double makespan_s = 0;   // first arrival to last result
  double throughput_per_s = 0;
  // Median simulated / predicted compute over the tasks predicted above
  // 1 ms on that side, fallbacks left out (bench/cluster/analyse.py's
  // edge_stretch_p50 / cloud_stretch_p50 of a measured run); 0: no task.
  double edge_stretch_p50 = 0, cloud_stretch_p50 = 0;
  // On a shared host (Scenario::host_cores): the cores the simulated edges
  // and clouds held on average over the makespan (a measured run's
  // cpu_cores_edges / cpu_cores_clouds, bench/cluster/analyse.py), and both
  // (cpu_cores_daemons); 0 without a host.
  double host_cores_edges = 0, host_cores_clouds = 0, host_cores_daemons = 0;
  std::uint64_t events = 0;  // events processed (the simulator's own work)
};

/// Runs `scenario`. `planner` must know every model of the scenario. With
/// profiles (Planner::from_profiles) compute times are the predictors' side
/// times (nodes plus one run's overhead); a planner given costs
/// (add_model(graph, costs)) makes them sums of node costs. Throws std::invalid_argument for an
/// invalid scenario, std::out_of_range for a model the planner does not know.
SimResult simulate(const Scenario& scenario, const planner::Planner& planner);

/// Percentiles of `values` (linear between the two nearest ranks, as tandem submit's summary).
Percentiles percentiles(std::vector<double> values);

}  // namespace tandem::sim
