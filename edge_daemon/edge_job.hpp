// The edge service's task state and the helpers its three parts share:
// edge_service.cpp (lifecycle, submission, status), edge_planning.cpp (the
// timeline and the cut of each task, docs/design.md §5) and
// edge_execution.cpp (the compute, uplink and completion paths). Internal to
// edge_daemon/: only those files include it.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "edge_daemon/edge_service.hpp"

namespace tandem::edge {
namespace detail {

using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The uplink -> cloud -> download part of a task whose edge stage is done
// (ready at `ready` ms from now), after `t`; advances t. Returns its done.
inline double place_after_edge(const partition::Stages& s, double rtt_ms, double ready, partition::Timeline& t) {
  const double upload_start = std::max(ready, t.uplink);
  t.uplink = upload_start + s.upload;
  const double cloud_start = std::max(t.uplink + rtt_ms / 2, t.cloud);
  t.cloud = cloud_start + s.cloud;
  return t.cloud + s.download + rtt_ms / 2;
}

}  // namespace detail

struct EdgeService::Job {
  control::TaskSpec spec;
  ResultCallback done;
  control::TaskResult result;
  std::uint64_t seq = 0;  // arrival order
  Clock::time_point submitted, started, edge_done, upload_start, written;
  std::shared_ptr<const Model> model;
  std::optional<std::string> error;  // refused before it could start
  partition::Codec codec = partition::Codec::fp32;  // the task's codec, resolved (codec_policy.hpp)
  partition::PrivacyFloor floor;     // the daemon's and the task's, merged
  std::optional<Cut> cut;
  partition::CutWork work;    // of the cut in use: the timeline's view of the task
  double local_rest_ms = 0;   // predicted edge ms of the nodes not in the cut
  double planned_bytes_per_s = 0;  // the uplink estimate its cut was chosen with
  double edge_scale = 1.0, cloud_scale = 1.0;  // compute scales `work` was predicted with
  TensorMap held;             // edge outputs: crossing tensors and edge-side sinks
  std::size_t overtaken = 0;  // later tasks dispatched before it
  bool fallback_pending = false;
  bool replan = false;        // finish on the edge because the uplink slowed
  bool with_cloud = false;
};

struct EdgeService::Choice {
  JobPtr job;
  std::optional<partition::CutWork> work;  // none: job->error says why
  partition::Slot slot;                    // on the timeline at dispatch (timeline scheduler)
  std::optional<control::PlanningMode> mode;
  partition::Objective objective = partition::Objective::latency;
  planner::Conditions cond;
  std::optional<std::string> cloud_down;   // automatic plan made edge-only: why
};

struct EdgeService::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : tasks(prometheus::BuildCounter().Name("tandem_edge_tasks_total").Help("Tasks finished by the edge daemon.").Register(r)),
        fallbacks(prometheus::BuildCounter()
                      .Name("tandem_edge_fallbacks_total")
                      .Help("Tasks the edge finished itself after a cloud failure.")
                      .Register(r)),
        latency(prometheus::BuildHistogram()
                    .Name("tandem_edge_task_latency_ms")
                    .Help("Task latency from the start of edge work to outputs.")
                    .Register(r)),
        queue(prometheus::BuildHistogram()
                  .Name("tandem_edge_task_queue_ms")
                  .Help("Time tasks waited in the edge queue.")
                  .Register(r)) {}
  prometheus::Family<prometheus::Counter>& tasks;
  prometheus::Family<prometheus::Counter>& fallbacks;
  prometheus::Family<prometheus::Histogram>& latency;
  prometheus::Family<prometheus::Histogram>& queue;
};

}  // namespace tandem::edge
