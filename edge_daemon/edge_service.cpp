#include "edge_daemon/edge_service.hpp"

#include <fmt/format.h>

#include "app/logging.hpp"
#include "edge_daemon/edge_job.hpp"
#include "net/thread_name.hpp"

namespace tandem::edge {

std::string_view to_string(Scheduler scheduler) { return scheduler == Scheduler::alone ? "alone" : "timeline"; }

std::optional<Scheduler> scheduler_from_string(std::string_view text) {
  if (text == "timeline") return Scheduler::timeline;
  if (text == "alone") return Scheduler::alone;
  return std::nullopt;
}

EdgeService::EdgeService(EdgeServiceConfig config, ModelSet models,
                         std::shared_ptr<const planner::Planner> planner, std::shared_ptr<CloudLink> link,
                         app::Metrics* metrics)
    : config_(std::move(config)), models_(std::move(models)), planner_(std::move(planner)),
      link_(std::move(link)),
      metrics_(metrics ? std::make_unique<Metrics>(metrics->registry()) : nullptr) {
  if (config_.batch_window == 0) config_.batch_window = 1;
  // Candidates are computed once per model and codec, here rather than on
  // the first task (a large imported DAG takes a few hundred ms).
  for (const auto& [name, model] : models_) {
    for (partition::Codec codec : {partition::Codec::fp32, partition::Codec::fp16}) planner_->candidates(name, codec);
  }
  compute_thread_ = std::thread([this] {
    net::name_this_thread("edge-compute");
    compute_loop();
  });
  completion_thread_ = std::thread([this] {
    net::name_this_thread("edge-complete");
    completion_loop();
  });
}

EdgeService::~EdgeService() {
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  events_ready_.notify_all();
  compute_thread_.join();
  completion_thread_.join();
  // Every task has finished; the last reply may still be on its way out of
  // its callback on the client's I/O thread, and a write completion may
  // still come (send_to_cloud): wait for the one, silence the other.
  std::lock_guard guard(callbacks_->mutex);
  callbacks_->gone = true;
}

void EdgeService::prepare(Job& job) const {
  const auto it = models_.find(job.spec.model);
  if (it == models_.end()) {
    job.error = fmt::format("model '{}' is not loaded on this edge", app::printable(job.spec.model));
    return;
  }
  job.model = it->second;
  // Issue 15: the privacy floor and the codec (edge_daemon/codec_policy.hpp).
  try {
    job.floor = partition::merged(config_.privacy_floor, job.spec.privacy_floor);
    partition::privacy_pinned(job.model->graph(), job.floor);  // a node the model lacks is refused here
    planner::Conditions cond = conditions(partition::Codec::fp32);
    cond.privacy = job.floor;
    job.codec = resolve_codec(*planner_, job.spec, job.model->graph(), cond, config_.codec_accuracy.get());
  } catch (const std::exception& e) {
    job.error = e.what();
  }
}

void EdgeService::submit(control::TaskSpec task, ResultCallback done) {
  auto job = std::make_shared<Job>();
  job->spec = std::move(task);
  job->done = std::move(done);
  job->submitted = Clock::now();
  prepare(*job);
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    job->seq = next_seq_++;
    if (!job->error) predict_at_submit_locked(*job);
    queue_.push_back(std::move(job));
    ++stats_.submitted;
    first = in_flight_++ == 0;
  }
  wake_.notify_all();
  if (first) events_ready_.notify_one();  // the completion thread polls while tasks are in flight
}

EdgeStats EdgeService::stats() const {
  std::lock_guard lock(mutex_);
  EdgeStats s = stats_;
  s.queued = queue_.size();
  s.in_flight = in_flight_;
  s.uplink_queued = uplink_queue_.size() + (on_wire_ ? 1 : 0);
  s.heavy = heavy_;
  s.edge_compute_scale = compute_.edge_scale();
  s.cloud_compute_scale = compute_.cloud_scale();
  return s;
}

control::Status EdgeService::status() const {
  const EdgeStats s = stats();
  control::Status out;
  out.submitted = s.submitted;
  out.completed = s.completed;
  out.failed = s.failed;
  out.fallbacks = s.fallbacks;
  out.edge_only = s.edge_only;
  out.split = s.split;
  out.cloud_only = s.cloud_only;
  out.queued = s.queued;
  out.in_flight = s.in_flight;
  out.uplink_queued = s.uplink_queued;
  out.scheduler = std::string(to_string(config_.scheduler));
  out.heavy = s.heavy;
  out.edge_compute_scale = s.edge_compute_scale;
  out.cloud_compute_scale = s.cloud_compute_scale;
  if (link_) {
    out.cloud_connected = link_->connected();
    out.cloud_connections = link_->connections();
    const auto est = link_->estimate();
    out.bandwidth_mbit = est.mbit();
    out.rtt_ms = est.rtt_ms;
    const auto load = link_->cloud_load();
    out.cloud_queue_length = load.queue_length;
    out.cloud_recent_service_ms = load.recent_service_ms;
  }
  return out;
}

bool EdgeService::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
}

}  // namespace tandem::edge
