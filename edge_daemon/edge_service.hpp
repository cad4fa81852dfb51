#pragma once
// The edge daemon's engine: a queue of waiting tasks, one edge compute thread,
// an uplink queue and a completion thread (docs/design.md §4.5, §6).
//
// Planning (`timeline` scheduler, the default). The engine keeps a timeline
// of its three resources — when the edge CPU, the uplink and the cloud (its
// reported queue plus what this edge already sent) are next free — and plans
// each task for its earliest completion on it (partition/schedule.hpp); when
// several tasks are waiting it chooses their order and cuts together
// (schedule_batch: mean completion time, or the makespan for tasks asking for
// it). A task alone plans exactly as the latency optimiser does. Every result
// carries its completion and per-resource waits as predicted at submission
// and as measured. The `alone` scheduler plans each task as if it were alone
// (Neurosurgeon), optionally switching to throughput plans behind a backlog
// (DADS's light/heavy modes); it is kept for comparison.
//
// Threads. The compute thread dispatches the next task (plans it), runs its
// edge side and puts its crossing tensors in the uplink queue. One request
// at a time is on the wire: the next is sent when the network client reports
// the previous written (TCP_NOTSENT_LOWAT keeps the kernel from hiding a
// backlog), so tasks still waiting for the uplink can be re-planned — when
// the bandwidth estimate drops, or the transfer on the wire overruns its
// prediction, those that finish sooner on the edge are finished there. A
// reply finishes its task on the network client's I/O thread, where it
// arrives (without blocking, as net/client.hpp asks: a brief lock, the
// outputs viewed in place, the next upload handed to the client, the task's
// callback); write completions go to the completion thread, which sends the
// next upload and watches the transfer on the wire against its prediction. A
// cloud failure (unreachable, deadline, lost mid-request, refused) queues a
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
#include <string_view>
#include <thread>

#include "app/metrics.hpp"
#include "control/protocol.hpp"
#include "edge_daemon/cloud_link.hpp"
#include "edge_daemon/codec_policy.hpp"
#include "models/model.hpp"
#include "partition/schedule.hpp"
#include "planner/compute_monitor.hpp"
#include "planner/planner.hpp"

namespace tandem::edge {

/// How automatic plans are made (see the top of this file).
enum class Scheduler { timeline, alone };
std::string_view to_string(Scheduler scheduler);
/// Parses "timeline" / "alone"; std::nullopt otherwise.
std::optional<Scheduler> scheduler_from_string(std::string_view text);

struct EdgeServiceConfig {
  int threads = 1;                 // LibTorch intra-op threads on the edge
  double slowdown = 1.0;           // emulate a slower device (executor stretch)
  bool pipeline = true;            // overlap edge compute with transfer + cloud
  double default_deadline_ms = 0;  // for tasks without one; 0 = none
  double assumed_bandwidth_bytes_per_s = 10e6 / 8;  // before the first measurement
  double assumed_rtt_ms = 10;
  Scheduler scheduler = Scheduler::timeline;
  // timeline: at most this many waiting tasks (oldest first) are ordered and
  // planned together; a task is overtaken by at most this many later ones.
  std::size_t batch_window = 16;
  // alone only — light/heavy modes (DADS): when this many tasks wait in the
  // queue, tasks asking for latency are planned for throughput instead (the
  // pipeline period, not one task's latency, bounds how fast a backlog
  // drains); back to latency once the queue is empty. 0 disables the switch.
  std::size_t heavy_backlog = 4;
  // Tasks may name tensor files only under this directory; empty: input
  // files are refused.
  std::filesystem::path input_dir;
  // Nothing before this floor leaves the edge, whatever a task asks (a task's
  // own floor adds to it); partition/privacy.hpp.
  partition::PrivacyFloor privacy_floor;
  // Measured top-1 change of lossy codecs per model, for accuracy budgets; null: none.
  std::shared_ptr<const CodecAccuracy> codec_accuracy;
  // Scale the profiles' compute costs by how fast recent tasks really
  // computed on each side (compute_monitor.hpp); off: the profiles as made.
  bool calibrate_compute = true;
};

/// Counters for status and metrics.
struct EdgeStats {
  std::uint64_t submitted = 0, completed = 0, failed = 0, fallbacks = 0;
  std::uint64_t edge_only = 0, split = 0, cloud_only = 0;
  std::size_t queued = 0, in_flight = 0;
  std::size_t uplink_queued = 0;   // edge side done, waiting for or on the uplink
  std::uint64_t replanned = 0;     // finished on the edge after the uplink slowed
  bool heavy = false;  // planning for throughput because of a backlog
  double edge_compute_scale = 1.0;   // measured / profiled compute (ComputeMonitor)
  double cloud_compute_scale = 1.0;
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
  struct Metrics;
  struct Choice;
  using JobPtr = std::shared_ptr<Job>;
  using Clock = std::chrono::steady_clock;

  void compute_loop();
  void completion_loop();
  // Planning.
  void prepare(Job& job) const;
  std::vector<partition::CutWork> options_for(const Job& job, const planner::Conditions& cond) const;
  Choice choose(const std::vector<JobPtr>& window);
  Choice choose_alone(const JobPtr& job);
  // When each resource frees up, from the tasks this edge holds (and the
  // cloud's reported load). Without the uplink queue: what the tasks waiting
  // in it would find (check_uplink).
  partition::Timeline timeline_locked(Clock::time_point now, const partition::Link& link,
                                      bool with_uplink_queue = true) const;
  void predict_at_submit_locked(Job& job);
  planner::Conditions conditions_locked(partition::Codec codec) const;
  planner::Conditions conditions(partition::Codec codec) const;
  std::optional<control::PlanningMode> planning_mode(const control::TaskSpec& spec,
                                                     partition::Objective& objective);
  // Execution.
  void start_task(const JobPtr& job, const Choice& choice);
  void run_edge_side(Job& job);
  void enqueue_upload(const JobPtr& job);
  void pump_uplink();
  void send_to_cloud(const JobPtr& job);
  void on_written(const JobPtr& job);
  void complete_from_cloud(const JobPtr& job, net::Expected<net::InferResult> reply);
  void check_uplink();
  void fall_back(const JobPtr& job);
  void queue_fallback(const JobPtr& job);
  void queue_fallback_locked(const JobPtr& job);
  void finish(const JobPtr& job);

  EdgeServiceConfig config_;
  const Clock::time_point epoch_ = Clock::now();  // TaskResult::started_ms
  ModelSet models_;
  std::shared_ptr<const planner::Planner> planner_;
  std::shared_ptr<CloudLink> link_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;         // compute thread: new work
  std::condition_variable events_ready_; // completion thread: a write completion arrived, the first task came
  std::condition_variable idle_;         // drain(): a task finished
  std::deque<JobPtr> queue_;             // waiting tasks; fallback jobs at the front
  std::deque<JobPtr> written_;           // write completions for the completion thread
  std::deque<JobPtr> uplink_queue_;      // edge side done, waiting for the uplink
  JobPtr on_wire_;                       // being written to the cloud
  std::deque<JobPtr> at_cloud_;          // written, reply pending
  JobPtr edge_job_;                      // on the compute thread
  Clock::time_point edge_until_{};       // its predicted end of edge work
  std::optional<double> overrun_bytes_per_s_;  // bound from the transfer on the wire overrunning
  planner::ComputeMonitor compute_;      // measured against predicted compute, both sides
  std::uint64_t next_seq_ = 0;
  std::size_t in_flight_ = 0;            // submitted, not finished
  bool awaiting_cloud_ = false;          // pipeline off: a task is with the cloud
  bool stopping_ = false;
  bool heavy_ = false;
  EdgeStats stats_;
  std::thread compute_thread_;
  std::thread completion_thread_;
  // The network client's callbacks (a reply, a write completion) run on its
  // I/O thread, and a write completion may come after its task's reply: each
  // holds `mutex` while it runs and does nothing once ~EdgeService has set
  // `gone` (after every task has finished).
  struct CallbackGuard {
    std::mutex mutex;
    bool gone = false;
  };
  std::shared_ptr<CallbackGuard> callbacks_ = std::make_shared<CallbackGuard>();
};

}  // namespace tandem::edge
