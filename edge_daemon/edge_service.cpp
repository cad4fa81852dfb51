#include "edge_daemon/edge_service.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <spdlog/spdlog.h>

#include "app/logging.hpp"
#include "net/torch_bridge.hpp"

namespace tandem::edge {
namespace {

using Clock = std::chrono::steady_clock;
using control::TaskResult;
using control::TaskSpec;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

net::Codec wire_codec(partition::Codec c) {
  return c == partition::Codec::fp16 ? net::Codec::fp16 : net::Codec::raw;
}

// The tensor file a task names, confined to the input directory: relative
// names without "..", opened without blocking, a regular file whose real path
// stays inside the directory. One message for every refusal, so a client
// cannot probe which paths exist outside it.
std::vector<at::Tensor> load_task_inputs(const std::filesystem::path& dir, const std::string& name,
                                         const std::vector<Shape>& shapes) {
  if (dir.empty()) {
    throw std::invalid_argument("input_file is not allowed: the edge daemon was started without --input-dir");
  }
  const std::filesystem::path rel(name);
  bool escapes = rel.empty() || rel.is_absolute();
  for (const auto& part : rel) escapes = escapes || part == "..";
  const std::string refused = fmt::format("input_file '{}' is not a tensor file under --input-dir", app::printable(name, 100));
  if (escapes) throw std::invalid_argument(refused);
  std::error_code ec;
  const auto root = std::filesystem::canonical(dir, ec);
  const auto real = std::filesystem::canonical(root / rel, ec);
  if (ec || root.empty() || real == root) throw std::invalid_argument(refused);
  const auto [end, _] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  if (end != root.end()) throw std::invalid_argument(refused);
  try {
    return load_tensors(real, &shapes);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(fmt::format("input_file '{}': {}", app::printable(name, 100), e.what()));
  }
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

struct EdgeService::Reply {
  std::shared_ptr<Job> job;
  net::Expected<net::InferResult> outcome;
  Clock::time_point at;
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

EdgeService::EdgeService(EdgeServiceConfig config, ModelSet models,
                         std::shared_ptr<const planner::Planner> planner, std::shared_ptr<CloudLink> link,
                         app::Metrics* metrics)
    : config_(std::move(config)), models_(std::move(models)), planner_(std::move(planner)),
      link_(std::move(link)),
      metrics_(metrics ? std::make_unique<Metrics>(metrics->registry()) : nullptr) {
  compute_thread_ = std::thread([this] { compute_loop(); });
  completion_thread_ = std::thread([this] { completion_loop(); });
}

EdgeService::~EdgeService() {
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  replies_ready_.notify_all();
  compute_thread_.join();
  completion_thread_.join();
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
  out.heavy = s.heavy;
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

void EdgeService::compute_loop() {
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

void EdgeService::completion_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    replies_ready_.wait(lock, [&] { return !replies_.empty() || (stopping_ && in_flight_ == 0); });
    if (replies_.empty()) return;
    Reply reply = std::move(replies_.front());
    replies_.pop_front();
    lock.unlock();
    try {
      complete_from_cloud(reply.job, std::move(reply.outcome));
    } catch (const std::exception& e) {
      reply.job->result.ok = false;
      reply.job->result.error = e.what();
      finish(reply.job);
    }
    lock.lock();
  }
}

planner::Conditions EdgeService::conditions(partition::Codec codec, TaskResult& r) const {
  planner::Conditions c;
  c.codec = codec;
  c.link.uplink_bytes_per_s = config_.assumed_bandwidth_bytes_per_s;
  c.link.rtt_ms = config_.assumed_rtt_ms;
  if (link_) {
    const auto est = link_->estimate();
    if (est.bandwidth_bytes_per_s) c.link.uplink_bytes_per_s = *est.bandwidth_bytes_per_s;
    if (est.rtt_ms) c.link.rtt_ms = *est.rtt_ms;
    const auto load = link_->cloud_load();
    c.cloud_wait_ms = load.queue_length * load.recent_service_ms;
    r.bandwidth_mbit = est.mbit();
  }
  r.rtt_ms = c.link.rtt_ms;
  // The emulated and measured links are symmetric enough at batch 1: outputs
  // are small, so the downlink matters little.
  c.link.downlink_bytes_per_s = c.link.uplink_bytes_per_s;
  return c;
}

std::optional<control::PlanningMode> EdgeService::planning_mode(const TaskSpec& spec,
                                                                 partition::Objective& objective) {
  if (spec.plan.mode != control::PlanChoice::Mode::automatic || config_.heavy_backlog == 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  const bool was = heavy_;
  if (queue_.size() >= config_.heavy_backlog) heavy_ = true;
  if (queue_.empty()) heavy_ = false;
  if (heavy_ != was) {
    spdlog::info("{} mode: {} tasks queued", heavy_ ? "heavy (planning for throughput)" : "light",
                 queue_.size());
  }
  if (heavy_ && objective == partition::Objective::latency) objective = partition::Objective::throughput;
  return heavy_ ? control::PlanningMode::heavy : control::PlanningMode::light;
}

partition::Plan EdgeService::plan_task(Job& job) {
  TaskResult& r = job.result;
  const TaskSpec& spec = job.spec;
  const GraphDesc& g = job.model->graph();
  const planner::Conditions cond = conditions(spec.codec, r);
  const bool cloud_up = link_ && link_->connected();
  partition::Objective objective = spec.objective;
  r.mode = planning_mode(spec, objective);
  r.objective = objective;

  using Mode = control::PlanChoice::Mode;
  switch (spec.plan.mode) {
    case Mode::automatic:
      if (cloud_up) return planner_->plan(spec.model, objective, cond);
      r.fallback = true;
      r.fallback_reason = link_ ? fmt::format("cloud unreachable: {}", link_->last_error()) : "no cloud configured";
      return planner_->evaluate(spec.model, Cut::edge_only(g), spec.objective, cond);
    case Mode::edge_only:
      return planner_->evaluate(spec.model, Cut::edge_only(g), spec.objective, cond);
    case Mode::cloud_only:
      return planner_->evaluate(spec.model, Cut::cloud_only(g), spec.objective, cond);
    case Mode::split:
      if (!g.is_chain()) {
        throw std::invalid_argument(
            fmt::format("plan split:K needs a chain model; '{}' is a DAG (use cut:NODES)", g.name()));
      }
      return planner_->evaluate(spec.model, Cut::chain_prefix(g, spec.plan.split), spec.objective, cond);
    case Mode::cut:
      return planner_->evaluate(spec.model, Cut::parse(g, spec.plan.cut), spec.objective, cond);
  }
  throw std::logic_error("unhandled plan mode");
}

void EdgeService::run_edge_side(Job& job) {
  const Model& model = *job.model;
  const TaskSpec& spec = job.spec;
  const std::vector<at::Tensor> inputs =
      spec.input_file.empty() ? model.make_inputs(spec.seed)
                              : load_task_inputs(config_.input_dir, spec.input_file, model.graph().input_shapes());
  const auto start = Clock::now();
  job.held = model.run_edge(*job.cut, inputs, RunOptions{.slowdown = config_.slowdown});
  job.result.edge_ms = ms_between(start, Clock::now());
}

void EdgeService::start_task(const std::shared_ptr<Job>& job) {
  job->started = Clock::now();
  TaskResult& r = job->result;
  const TaskSpec& spec = job->spec;
  r.task = spec.task;
  r.model = spec.model;
  r.queue_ms = ms_between(job->submitted, job->started);
  r.started_ms = ms_between(epoch_, job->started);
  r.pipelined = config_.pipeline;
  const auto it = models_.find(spec.model);
  if (it == models_.end()) {
    throw std::invalid_argument(fmt::format("model '{}' is not loaded on this edge", app::printable(spec.model)));
  }
  job->model = it->second;

  const partition::Plan plan = plan_task(*job);
  job->cut = plan.cut;
  r.placement = plan.placement;
  r.cut = job->cut->to_string();
  r.edge_nodes = job->cut->computed_on_edge();
  r.predicted_ms = plan.predicted.total_ms;
  r.predicted_edge_ms = plan.predicted.edge_ms;
  r.predicted_transfer_ms = plan.predicted.upload_ms + plan.predicted.rtt_ms + plan.predicted.download_ms;
  r.predicted_cloud_ms = plan.predicted.cloud_ms + plan.predicted.cloud_wait_ms;

  run_edge_side(*job);
  if (job->cut->is_edge_only()) {
    finish(job);
    return;
  }
  send_to_cloud(job);
}

void EdgeService::send_to_cloud(const std::shared_ptr<Job>& job) {
  TaskResult& r = job->result;
  const GraphDesc& g = job->model->graph();
  const auto crossing = job->cut->crossing(g);
  r.crossing_tensors = crossing.size();
  for (NodeId id : crossing) r.crossing_bytes += partition::wire_bytes(g.node(id), job->spec.codec);
  if (!link_ || !link_->connected()) {
    r.fallback_reason = link_ ? fmt::format("cloud unreachable: {}", link_->last_error()) : "no cloud configured";
    job->sent = Clock::now();
    fall_back(job);
    return;
  }
  net::InferRequest request;
  request.model = job->spec.model;
  request.edge_nodes = job->cut->mask();
  const double deadline = job->spec.deadline_ms > 0 ? job->spec.deadline_ms : config_.default_deadline_ms;
  request.deadline_ms = static_cast<std::uint32_t>(deadline);
  for (NodeId id : crossing) {
    request.tensors.push_back(net::to_wire(id, job->held.at(id), wire_codec(job->spec.codec)));
  }
  {
    std::lock_guard lock(mutex_);
    job->with_cloud = true;
    awaiting_cloud_ = true;
  }
  job->sent = Clock::now();
  // The I/O thread only queues the reply for the completion thread.
  link_->client().infer(std::move(request), [this, job](net::Expected<net::InferResult> outcome) {
    {
      std::lock_guard lock(mutex_);
      replies_.push_back({job, std::move(outcome), Clock::now()});
    }
    replies_ready_.notify_one();
  });
}

void EdgeService::complete_from_cloud(const std::shared_ptr<Job>& job, net::Expected<net::InferResult> reply) {
  TaskResult& r = job->result;
  if (reply) {
    auto outputs = net::from_wire(reply.value().outputs);
    if (outputs) {
      const auto& res = reply.value();
      r.cloud_ms = res.compute_ms;
      r.cloud_queue_ms = res.queue_wait_ms;
      r.transfer_ms = std::max(0.0, ms_between(job->sent, Clock::now()) - res.compute_ms - res.queue_wait_ms);
      link_->note_load(res.load);
      for (auto& [id, t] : outputs.value()) job->held.insert_or_assign(id, std::move(t));
      finish(job);
      return;
    }
    r.fallback_reason = fmt::format("bad reply from the cloud: {}", outputs.error().message);
  } else {
    r.fallback_reason = fmt::format("cloud request failed: {}", reply.error().message);
  }
  queue_fallback(job);
}

void EdgeService::queue_fallback(const std::shared_ptr<Job>& job) {
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
  TensorMap outputs = job->model->run_cloud(*job->cut, job->held, RunOptions{.slowdown = config_.slowdown});
  r.fallback_ms = ms_between(start, Clock::now());
  for (auto& [id, t] : outputs) job->held.insert_or_assign(id, std::move(t));
  spdlog::warn("task {} ({}) finished on the edge: {}", r.task, r.model, r.fallback_reason);
  finish(job);
}

void EdgeService::finish(const std::shared_ptr<Job>& job) {
  TaskResult& r = job->result;
  if (job->started != Clock::time_point{}) r.measured_ms = ms_between(job->started, Clock::now());
  r.ok = !r.error;
  if (r.ok && job->model) {
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
  if (!r.ok) r.placement.reset();
  job->held.clear();
  if (metrics_) {
    // Label only models this edge serves: a client's arbitrary names must not
    // grow the metric families.
    const std::string model = job->model ? r.model : "unknown";
    const std::string placement = r.placement ? std::string(partition::to_string(*r.placement)) : "none";
    metrics_->tasks.Add({{"model", model}, {"placement", placement}, {"result", r.ok ? "ok" : "failed"}}).Increment();
    if (r.fallback) metrics_->fallbacks.Add({{"model", model}}).Increment();
    if (r.ok) {
      metrics_->latency.Add({{"model", model}}, app::latency_buckets_ms()).Observe(r.measured_ms);
      metrics_->queue.Add({}, app::latency_buckets_ms()).Observe(r.queue_ms);
    }
  }
  const ResultCallback done = std::move(job->done);
  {
    std::lock_guard lock(mutex_);
    if (r.ok) {
      ++stats_.completed;
      if (r.fallback) ++stats_.fallbacks;
      switch (*r.placement) {
        case partition::Placement::edge_only: ++stats_.edge_only; break;
        case partition::Placement::split: ++stats_.split; break;
        case partition::Placement::cloud_only: ++stats_.cloud_only; break;
      }
    } else {
      ++stats_.failed;
    }
    if (job->with_cloud) awaiting_cloud_ = false;
    --in_flight_;
  }
  wake_.notify_all();
  replies_ready_.notify_all();
  idle_.notify_all();
  if (done) done(std::move(r));
}

}  // namespace tandem::edge
