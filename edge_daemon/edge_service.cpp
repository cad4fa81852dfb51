#include "edge_daemon/edge_service.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/torch_bridge.hpp"

namespace tandem::edge {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

net::Codec wire_codec(partition::Codec c) {
  return c == partition::Codec::fp16 ? net::Codec::fp16 : net::Codec::raw;
}

}  // namespace

struct EdgeService::Job {
  TaskSpec spec;
  ResultCallback done;
  TaskResult result;
  Clock::time_point submitted, started, sent;
  std::shared_ptr<const Model> model;
  std::optional<Cut> cut;
  TensorMap held;  // edge outputs: crossing tensors and edge-side sinks
  bool fallback_pending = false;
  bool with_cloud = false;
};

EdgeService::EdgeService(EdgeServiceConfig config, ModelSet models,
                         std::shared_ptr<const Planner> planner, std::shared_ptr<CloudLink> link,
                         std::shared_ptr<net::MetricsRegistry> metrics)
    : config_(config), models_(std::move(models)), planner_(std::move(planner)),
      link_(std::move(link)), metrics_(std::move(metrics)) {
  thread_ = std::thread([this] { run(); });
}

EdgeService::~EdgeService() {
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void EdgeService::submit(TaskSpec task, ResultCallback done) {
  auto job = std::make_shared<Job>();
  job->spec = std::move(task);
  job->done = std::move(done);
  job->submitted = Clock::now();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
    ++stats_.submitted;
    ++in_flight_;
  }
  wake_.notify_all();
}

EdgeStats EdgeService::stats() const {
  std::lock_guard lock(mutex_);
  EdgeStats s = stats_;
  s.queued = queue_.size();
  s.in_flight = in_flight_;
  s.heavy = heavy_;
  return s;
}

bool EdgeService::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
}

void EdgeService::run() {
  at::set_num_threads(config_.threads);
  std::unique_lock lock(mutex_);
  for (;;) {
    // With pipelining off, a new task waits while another is with the cloud;
    // fallback jobs (queued at the front) always run.
    wake_.wait(lock, [&] {
      if (stopping_ && in_flight_ == 0) return true;
      if (queue_.empty()) return false;
      return queue_.front()->fallback_pending || config_.pipeline || !awaiting_cloud_;
    });
    if (queue_.empty()) return;  // stopping and idle
    auto job = queue_.front();
    queue_.pop_front();
    lock.unlock();
    try {
      if (job->fallback_pending) {
        fall_back(job);
      } else {
        start_task(job);
      }
    } catch (const std::exception& e) {
      job->result.ok = false;
      job->result.error = e.what();
      finish(job);
    }
    lock.lock();
  }
}

Conditions EdgeService::conditions(partition::Codec codec, double* bandwidth_mbit,
                                   double* rtt) const {
  Conditions c;
  c.codec = codec;
  c.uplink_bytes_per_s = config_.assumed_bandwidth_bytes_per_s;
  c.rtt_ms = config_.assumed_rtt_ms;
  if (link_) {
    const auto est = link_->estimate();
    if (est.bandwidth_bytes_per_s) c.uplink_bytes_per_s = *est.bandwidth_bytes_per_s;
    if (est.rtt_ms) c.rtt_ms = *est.rtt_ms;
    const auto load = link_->cloud_load();
    c.cloud_wait_ms = load.queue_length * load.recent_service_ms;
    *bandwidth_mbit = est.bandwidth_bytes_per_s ? *est.bandwidth_bytes_per_s * 8 / 1e6 : -1;
  } else {
    *bandwidth_mbit = -1;
  }
  *rtt = c.rtt_ms;
  // The emulated and measured links are symmetric enough at batch 1: outputs
  // are small, so the downlink matters little.
  c.downlink_bytes_per_s = c.uplink_bytes_per_s;
  return c;
}

void EdgeService::start_task(const std::shared_ptr<Job>& job) {
  job->started = Clock::now();
  TaskResult& r = job->result;
  const TaskSpec& spec = job->spec;
  r.task = spec.id;
  r.model = spec.model;
  r.queue_ms = ms_between(job->submitted, job->started);
  r.pipelined = config_.pipeline;
  const auto it = models_.find(spec.model);
  if (it == models_.end()) {
    throw std::invalid_argument(fmt::format("model '{}' is not loaded on this edge", spec.model));
  }
  job->model = it->second;
  const Model& model = *job->model;
  const GraphDesc& g = model.graph();
  const at::Tensor input =
      spec.input_file.empty() ? model.make_input(spec.seed) : load_tensor(spec.input_file);

  double mbit = -1, rtt = 0;
  const Conditions cond = conditions(spec.codec, &mbit, &rtt);
  if (mbit > 0) r.bandwidth_mbit = mbit;
  r.rtt_ms = rtt;
  const bool cloud_up = link_ && link_->connected();

  partition::Objective objective = spec.objective;
  if (spec.plan.mode == PlanChoice::Mode::automatic && config_.heavy_backlog > 0) {
    std::lock_guard lock(mutex_);
    const bool was = heavy_;
    if (queue_.size() >= config_.heavy_backlog) heavy_ = true;
    if (queue_.empty()) heavy_ = false;
    if (heavy_ != was) {
      spdlog::info("{} mode: {} tasks queued", heavy_ ? "heavy (planning for throughput)" : "light",
                   queue_.size());
    }
    if (heavy_ && objective == partition::Objective::latency) {
      objective = partition::Objective::throughput;
    }
    r.mode = heavy_ ? "heavy" : "light";
  }
  r.objective = std::string(partition::to_string(objective));

  partition::Plan plan;
  switch (spec.plan.mode) {
    case PlanChoice::Mode::automatic:
      plan = cloud_up ? planner_->plan(spec.model, objective, cond)
                      : planner_->evaluate(spec.model, Cut::edge_only(g), spec.objective, cond);
      if (!cloud_up) {
        r.fallback = true;
        r.fallback_reason = link_ ? fmt::format("cloud unreachable: {}", link_->last_error())
                                  : "no cloud configured";
      }
      break;
    case PlanChoice::Mode::edge_only:
      plan = planner_->evaluate(spec.model, Cut::edge_only(g), spec.objective, cond);
      break;
    case PlanChoice::Mode::cloud_only:
      plan = planner_->evaluate(spec.model, Cut::cloud_only(g), spec.objective, cond);
      break;
    case PlanChoice::Mode::split:
      if (!g.is_chain()) {
        throw std::invalid_argument(
            fmt::format("plan split:K needs a chain model; '{}' is a DAG (use cut:NODES)", g.name()));
      }
      plan = planner_->evaluate(spec.model, Cut::chain_prefix(g, spec.plan.split), spec.objective, cond);
      break;
    case PlanChoice::Mode::cut:
      plan = planner_->evaluate(spec.model, Cut::parse(g, spec.plan.cut), spec.objective, cond);
      break;
  }
  job->cut = plan.cut;
  const Cut& cut = *job->cut;
  r.placement = std::string(partition::to_string(plan.placement));
  r.cut = cut.to_string();
  r.edge_nodes = cut.edge_count() - 1;
  r.predicted_ms = plan.predicted.total_ms;
  r.predicted_edge_ms = plan.predicted.edge_ms;
  r.predicted_transfer_ms = plan.predicted.upload_ms + plan.predicted.rtt_ms + plan.predicted.download_ms;
  r.predicted_cloud_ms = plan.predicted.cloud_ms + plan.predicted.cloud_wait_ms;

  const RunOptions run_options{.slowdown = config_.slowdown};
  const auto edge_start = Clock::now();
  job->held = model.run_edge(cut, input, run_options);
  const auto edge_end = Clock::now();
  r.edge_ms = ms_between(edge_start, edge_end);

  if (cut.is_edge_only()) {
    finish(job);
    return;
  }
  const auto crossing = cut.crossing(g);
  r.crossing_tensors = crossing.size();
  for (NodeId id : crossing) {
    r.crossing_bytes += partition::wire_bytes(g.node(id), spec.codec);
  }
  if (!cloud_up) {
    r.fallback_reason = link_ ? fmt::format("cloud unreachable: {}", link_->last_error())
                              : "no cloud configured";
    job->sent = edge_end;
    fall_back(job);
    return;
  }
  net::InferRequest request;
  request.model = spec.model;
  request.cut_id = r.cut;
  const double deadline = spec.deadline_ms > 0 ? spec.deadline_ms : config_.default_deadline_ms;
  request.deadline_ms = static_cast<std::uint32_t>(deadline);
  for (NodeId id : crossing) {
    request.tensors.push_back(net::to_wire(id, job->held.at(id), wire_codec(spec.codec)));
  }
  {
    std::lock_guard lock(mutex_);
    job->with_cloud = true;
    awaiting_cloud_ = true;
  }
  job->sent = Clock::now();
  link_->client().infer(std::move(request), [this, job](net::Expected<net::InferResult> reply) {
    on_cloud_reply(job, std::move(reply));
  });
}

void EdgeService::on_cloud_reply(const std::shared_ptr<Job>& job,
                                 net::Expected<net::InferResult> reply) {
  TaskResult& r = job->result;
  const auto now = Clock::now();
  if (reply) {
    auto outputs = net::from_wire(reply.value().outputs);
    if (outputs) {
      const auto& res = reply.value();
      r.cloud_ms = res.compute_ms;
      r.cloud_queue_ms = res.queue_wait_ms;
      r.transfer_ms = std::max(0.0, ms_between(job->sent, now) - res.compute_ms - res.queue_wait_ms);
      link_->note_load(res.load);
      for (auto& [id, t] : outputs.value()) job->held.insert_or_assign(id, std::move(t));
      finish(job);
      return;
    }
    r.fallback_reason = fmt::format("bad reply from the cloud: {}", outputs.error().message);
  } else {
    r.fallback_reason = fmt::format("cloud request failed: {}", reply.error().message);
  }
  // Finish locally from the tensors still held, on the compute thread, first.
  job->fallback_pending = true;
  {
    std::lock_guard lock(mutex_);
    queue_.push_front(job);
  }
  wake_.notify_all();
}

void EdgeService::fall_back(const std::shared_ptr<Job>& job) {
  TaskResult& r = job->result;
  const auto start = Clock::now();
  r.fallback = true;
  r.transfer_ms = ms_between(job->sent, start);  // time lost on the failed attempt
  const RunOptions run_options{.slowdown = config_.slowdown};
  TensorMap outputs = job->model->run_cloud(*job->cut, job->held, run_options);
  r.fallback_ms = ms_between(start, Clock::now());
  for (auto& [id, t] : outputs) job->held.insert_or_assign(id, std::move(t));
  spdlog::warn("task {} ({}) finished on the edge: {}", r.task, r.model, r.fallback_reason);
  finish(job);
}

void EdgeService::finish(const std::shared_ptr<Job>& job) {
  TaskResult& r = job->result;
  const auto now = Clock::now();
  if (job->started != Clock::time_point{}) r.measured_ms = ms_between(job->started, now);
  if (r.error.empty()) {
    r.ok = true;
    if (job->model) {
      const NodeId first_sink = job->model->graph().sinks().front();
      const auto it = job->held.find(first_sink);
      if (it == job->held.end()) {
        r.ok = false;
        r.error = "internal: output missing after execution";
      } else {
        const at::Tensor& out = it->second;
        r.output_shape.assign(out.sizes().begin(), out.sizes().end());
        r.top1 = out.flatten().argmax().item<std::int64_t>();
        r.output_checksum = out.sum().item<double>();
        if (job->spec.return_outputs) {
          const at::Tensor flat = out.contiguous().flatten();
          r.outputs.assign(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
        }
      }
    }
  }
  job->held.clear();
  if (metrics_) {
    const net::Labels labels{{"model", r.model}, {"placement", r.ok ? r.placement : "none"},
                             {"result", r.ok ? "ok" : "failed"}};
    metrics_->add("tandem_edge_tasks_total", "Tasks finished by the edge daemon.", labels);
    if (r.fallback) {
      metrics_->add("tandem_edge_fallbacks_total", "Tasks the edge finished itself after a cloud failure.",
                    {{"model", r.model}});
    }
    if (r.ok) {
      metrics_->observe("tandem_edge_task_latency_ms", "Task latency from start of edge work to outputs.",
                        r.measured_ms, net::latency_buckets_ms(), {{"model", r.model}});
      metrics_->observe("tandem_edge_task_queue_ms", "Time tasks waited in the edge queue.",
                        r.queue_ms, net::latency_buckets_ms());
    }
  }
  const ResultCallback done = std::move(job->done);
  {
    std::lock_guard lock(mutex_);
    if (r.ok) {
      ++stats_.completed;
      if (r.fallback) ++stats_.fallbacks;
      if (r.placement == "edge_only") ++stats_.edge_only;
      if (r.placement == "split") ++stats_.split;
      if (r.placement == "cloud_only") ++stats_.cloud_only;
    } else {
      ++stats_.failed;
    }
    if (job->with_cloud) awaiting_cloud_ = false;
    --in_flight_;
  }
  wake_.notify_all();
  idle_.notify_all();
  if (done) done(std::move(r));
}

}  // namespace tandem::edge
