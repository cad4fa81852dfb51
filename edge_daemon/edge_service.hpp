#pragma once
// The edge daemon's engine: a FIFO of tasks, one edge compute thread, and
// completions arriving from the cloud.
//
// For each task the compute thread plans (current bandwidth, RTT, cloud load),
// runs the edge side, sends the crossing tensors and — with pipelining on —
// moves straight to the next task while this one is on the wire or in the
// cloud. A cloud failure (unreachable, deadline, lost mid-request, refused)
// queues a fallback job at the front: the edge finishes the graph itself from
// the tensors it still holds. Every submitted task ends with exactly one
// result, ok or with an error naming the cause.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "edge_daemon/cloud_link.hpp"
#include "edge_daemon/planner.hpp"
#include "edge_daemon/task.hpp"
#include "models/model.hpp"
#include "net/metrics.hpp"

namespace tandem::edge {

struct EdgeServiceConfig {
  int threads = 1;                 // LibTorch intra-op threads on the edge
  double slowdown = 1.0;           // emulate a slower device (executor stretch)
  bool pipeline = true;            // overlap edge compute with transfer + cloud
  double default_deadline_ms = 0;  // for tasks without one; 0 = none
  double assumed_bandwidth_bytes_per_s = 10e6 / 8;  // before the first measurement
  double assumed_rtt_ms = 10;
  // Light/heavy modes (DADS): when this many tasks wait in the queue, tasks
  // asking for latency are planned for throughput instead (the pipeline
  // period, not one task's latency, bounds how fast a backlog drains); back
  // to latency once the queue is empty. 0 disables the switch.
  std::size_t heavy_backlog = 4;
};

/// Counters for status and metrics.
struct EdgeStats {
  std::uint64_t submitted = 0, completed = 0, failed = 0, fallbacks = 0;
  std::uint64_t edge_only = 0, split = 0, cloud_only = 0;
  std::size_t queued = 0, in_flight = 0;
  bool heavy = false;  // planning for throughput because of a backlog
};

using ResultCallback = std::function<void(TaskResult)>;

class EdgeService {
 public:
  /// `link` may be null: every task then runs edge-only.
  EdgeService(EdgeServiceConfig config, ModelSet models, std::shared_ptr<const Planner> planner,
              std::shared_ptr<CloudLink> link,
              std::shared_ptr<net::MetricsRegistry> metrics = nullptr);
  /// Finishes every queued and in-flight task, then joins the compute thread.
  ~EdgeService();
  EdgeService(const EdgeService&) = delete;
  EdgeService& operator=(const EdgeService&) = delete;

  /// Queues a task; `done` is called exactly once, from an internal thread,
  /// with its result. Never blocks. Thread-safe.
  void submit(TaskSpec task, ResultCallback done);
  /// Counters. Thread-safe.
  EdgeStats stats() const;
  /// Blocks until nothing is queued or in flight, or `timeout` passes.
  bool drain(std::chrono::milliseconds timeout);

 private:
  struct Job;
  void run();
  void start_task(const std::shared_ptr<Job>& job);
  void fall_back(const std::shared_ptr<Job>& job);
  void finish(const std::shared_ptr<Job>& job);
  void on_cloud_reply(const std::shared_ptr<Job>& job, net::Expected<net::InferResult> reply);
  Conditions conditions(partition::Codec codec, double* bandwidth_mbit, double* rtt) const;

  EdgeServiceConfig config_;
  ModelSet models_;
  std::shared_ptr<const Planner> planner_;
  std::shared_ptr<CloudLink> link_;
  std::shared_ptr<net::MetricsRegistry> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;        // compute thread: new work
  std::condition_variable idle_;        // drain(): a task finished
  std::deque<std::shared_ptr<Job>> queue_;
  std::size_t in_flight_ = 0;           // started, not finished
  bool awaiting_cloud_ = false;         // pipeline off: a task is with the cloud
  bool stopping_ = false;
  bool heavy_ = false;
  EdgeStats stats_;
  std::thread thread_;
};

}  // namespace tandem::edge
