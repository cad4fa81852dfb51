#pragma once
// The edge daemon's engine: a FIFO of tasks, one edge compute thread, and a
// completion thread for replies from the cloud.
//
// For each task the compute thread plans it (current bandwidth, RTT, cloud
// load), runs the edge side, and sends the crossing tensors; with pipelining
// on it then moves straight to the next task while this one is on the wire
// or in the cloud. The network client's I/O thread only hands each reply to
// the completion thread (net/client.hpp: callbacks must not block), which
// decodes the outputs, finishes the task and calls its callback. A cloud
// failure (unreachable, deadline, lost mid-request, refused) queues a
// fallback job at the front of the compute queue: the edge finishes the
// graph itself from the tensors it still holds. Every submitted task ends
// with exactly one result, ok or with an error naming the cause.

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "app/metrics.hpp"
#include "control/protocol.hpp"
#include "edge_daemon/cloud_link.hpp"
#include "models/model.hpp"
#include "planner/planner.hpp"

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
  // Tasks may name tensor files only under this directory; empty: input
  // files are refused.
  std::filesystem::path input_dir;
};

/// Counters for status and metrics.
struct EdgeStats {
  std::uint64_t submitted = 0, completed = 0, failed = 0, fallbacks = 0;
  std::uint64_t edge_only = 0, split = 0, cloud_only = 0;
  std::size_t queued = 0, in_flight = 0;
  bool heavy = false;  // planning for throughput because of a backlog
};

using ResultCallback = std::function<void(control::TaskResult)>;

class EdgeService {
 public:
  /// `link` may be null: every task then runs edge-only. `metrics` may be null.
  EdgeService(EdgeServiceConfig config, ModelSet models, std::shared_ptr<const planner::Planner> planner,
              std::shared_ptr<CloudLink> link, app::Metrics* metrics = nullptr);
  /// Finishes every queued and in-flight task, then joins its threads. Tasks
  /// with the cloud wait for their reply: stop the link first (CloudLink::stop)
  /// to fail them at once, so they finish on the edge.
  ~EdgeService();
  EdgeService(const EdgeService&) = delete;
  EdgeService& operator=(const EdgeService&) = delete;

  /// Queues a task; `done` is called exactly once, from an internal thread,
  /// with its result. Never blocks. Thread-safe.
  void submit(control::TaskSpec task, ResultCallback done);
  /// Counters. Thread-safe.
  EdgeStats stats() const;
  /// The status reply of the control protocol. Thread-safe.
  control::Status status() const;
  /// Blocks until nothing is queued or in flight, or `timeout` passes.
  bool drain(std::chrono::milliseconds timeout);

 private:
  struct Job;
  struct Reply;
  struct Metrics;
  void compute_loop();
  void completion_loop();
  void start_task(const std::shared_ptr<Job>& job);
  partition::Plan plan_task(Job& job);
  void run_edge_side(Job& job);
  void send_to_cloud(const std::shared_ptr<Job>& job);
  void complete_from_cloud(const std::shared_ptr<Job>& job, net::Expected<net::InferResult> reply);
  void fall_back(const std::shared_ptr<Job>& job);
  void queue_fallback(const std::shared_ptr<Job>& job);
  void finish(const std::shared_ptr<Job>& job);
  planner::Conditions conditions(partition::Codec codec, control::TaskResult& result) const;
  std::optional<control::PlanningMode> planning_mode(const control::TaskSpec& spec,
                                                     partition::Objective& objective);

  EdgeServiceConfig config_;
  const std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();  // TaskResult::started_ms
  ModelSet models_;
  std::shared_ptr<const planner::Planner> planner_;
  std::shared_ptr<CloudLink> link_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;        // compute thread: new work
  std::condition_variable replies_ready_;  // completion thread: a reply arrived
  std::condition_variable idle_;        // drain(): a task finished
  std::deque<std::shared_ptr<Job>> queue_;
  std::deque<Reply> replies_;
  std::size_t in_flight_ = 0;           // started, not finished
  bool awaiting_cloud_ = false;         // pipeline off: a task is with the cloud
  bool stopping_ = false;
  bool heavy_ = false;
  EdgeStats stats_;
  std::thread compute_thread_;
  std::thread completion_thread_;
};

}  // namespace tandem::edge
