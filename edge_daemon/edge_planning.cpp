// The edge service's planning (docs/design.md §5): the conditions a task is
// planned under, when each of the edge's resources frees up, and the cut and
// order of the tasks it dispatches.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "edge_daemon/edge_job.hpp"

namespace tandem::edge {

using control::TaskResult;
using control::TaskSpec;
using detail::ms_between;
using detail::place_after_edge;

planner::Conditions EdgeService::conditions_locked(partition::Codec codec) const {
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
  }
  if (config_.calibrate_compute) {
    c.edge_scale = compute_.edge_scale();
    c.cloud_scale = compute_.cloud_scale();
  }
  // The transfer on the wire taking longer than predicted bounds the
  // bandwidth before any sample says so.
  if (overrun_bytes_per_s_) c.link.uplink_bytes_per_s = std::min(c.link.uplink_bytes_per_s, *overrun_bytes_per_s_);
  // The emulated and measured links are symmetric enough at batch 1: outputs
  // are small, so the downlink matters little.
  c.link.downlink_bytes_per_s = c.link.uplink_bytes_per_s;
  return c;
}

planner::Conditions EdgeService::conditions(partition::Codec codec) const {
  std::lock_guard lock(mutex_);
  return conditions_locked(codec);
}

std::vector<partition::CutWork> EdgeService::options_for(const Job& job, const planner::Conditions& conditions) const {
  const TaskSpec& spec = job.spec;
  const GraphDesc& g = job.model->graph();
  planner::Conditions cond = conditions;
  cond.codec = job.codec;
  cond.privacy = job.floor;
  const auto one = [&](const Cut& cut) {
    if (const std::string why = partition::privacy_violation(g, job.floor, cut); !why.empty()) {
      throw std::invalid_argument(why);
    }
    return std::vector{planner::scaled(planner_->cut_work(spec.model, cut, job.codec), cond)};
  };
  using Mode = control::PlanChoice::Mode;
  switch (spec.plan.mode) {
    case Mode::automatic: {
      if (!link_ || !link_->connected()) return one(Cut::edge_only(g));
      if (config_.scheduler == Scheduler::alone || spec.objective == partition::Objective::energy) {
        return one(planner_->plan(spec.model, spec.objective, cond).cut);
      }
      // The latency optimiser's cut first: a task alone, or ties, plan
      // exactly as the optimiser does.
      std::vector<partition::CutWork> options =
          one(planner_->plan(spec.model, partition::Objective::latency, cond).cut);
      const auto candidates = planner_->candidates(spec.model, job.codec);
      const auto pinned = partition::privacy_pinned(g, job.floor);
      for (const auto& w : *candidates) {
        if (partition::pinned_violation(g, pinned, w.cut).empty()) options.push_back(planner::scaled(w, cond));
      }
      return options;
    }
    case Mode::edge_only:
      return one(Cut::edge_only(g));
    case Mode::cloud_only:
      return one(Cut::cloud_only(g));
    case Mode::split:
      if (!g.is_chain()) {
        throw std::invalid_argument(
            fmt::format("plan split:K needs a chain model; '{}' is a DAG (use cut:NODES)", g.name()));
      }
      return one(Cut::chain_prefix(g, spec.plan.split));
    case Mode::cut:
      return one(Cut::parse(g, spec.plan.cut));
  }
  throw std::logic_error("unhandled plan mode");
}

partition::Timeline EdgeService::timeline_locked(Clock::time_point now, const partition::Link& link,
                                                 bool with_uplink_queue) const {
  const double rtt = link.rtt_ms;
  partition::Timeline t;
  t.serial = !config_.pipeline;
  double last_done = 0;  // of this edge's requests with the cloud (no pipelining: the edge waits for it)
  // Other edges' work at the cloud: its reported queue and requests in
  // service, less this edge's own requests there.
  if (link_) {
    const auto load = link_->cloud_load();
    const double others = static_cast<double>(load.queue_length + load.in_service) - static_cast<double>(at_cloud_.size());
    t.cloud = std::max(0.0, others) * load.recent_service_ms;
  }
  // Written, reply pending: the cloud works through them in arrival order.
  for (const JobPtr& j : at_cloud_) {
    const auto s = partition::stages_of(j->work, link);
    const double arrival = ms_between(now, j->written) + rtt / 2;  // negative: in the past
    t.cloud = std::max(0.0, std::max(arrival, t.cloud) + s.cloud);
    last_done = std::max(last_done, t.cloud + s.download + rtt / 2);
  }
  // On the wire, then waiting for the uplink.
  if (on_wire_) {
    auto s = partition::stages_of(on_wire_->work, link);
    s.upload = std::max(0.0, s.upload - ms_between(on_wire_->upload_start, now));
    last_done = std::max(last_done, place_after_edge(s, rtt, 0, t));
  }
  if (with_uplink_queue) {
    for (const JobPtr& j : uplink_queue_) {
      last_done = std::max(last_done, place_after_edge(partition::stages_of(j->work, link), rtt, 0, t));
    }
  }
  // The edge: the task on the compute thread (its upload after the queue's),
  // then fallback jobs.
  if (edge_job_) {
    const double rest = std::max(0.0, ms_between(now, edge_until_));
    t.edge = rest;
    if (with_uplink_queue && !edge_job_->work.edge_only) {
      last_done = std::max(last_done, place_after_edge(partition::stages_of(edge_job_->work, link), rtt, rest, t));
    }
  }
  for (const JobPtr& j : queue_) {
    if (!j->fallback_pending) break;  // fallback jobs are at the front
    t.edge += j->local_rest_ms;
  }
  // Without pipelining the next task starts once the last reply is back
  // (fallback jobs run meanwhile).
  if (t.serial) t.edge = std::max(t.edge, last_done);
  return t;
}

void EdgeService::predict_at_submit_locked(Job& job) {
  // Where the task will land: with the batch schedule of the waiting tasks
  // when they all fit the dispatch window, else in arrival order, each at its
  // earliest completion. The prediction the result reports.
  try {
    const auto now = Clock::now();
    const planner::Conditions cond = conditions_locked(job.codec);
    const double rtt = cond.link.rtt_ms;
    partition::Timeline t = timeline_locked(now, cond.link);
    const auto place_best = [&](const Job& j) {
      std::vector<partition::Stages> stages;
      for (const auto& w : options_for(j, cond)) stages.push_back(partition::stages_of(w, cond.link));
      const partition::Slot slot = partition::earliest_completion(stages, rtt, t);
      partition::place(stages[slot.option], rtt, t);
      return slot;
    };
    std::vector<const Job*> waiting;
    for (const JobPtr& w : queue_) {
      if (!w->fallback_pending && !w->error && w->model) waiting.push_back(w.get());
    }
    partition::Slot slot;
    if (config_.scheduler == Scheduler::timeline && !waiting.empty() && waiting.size() < config_.batch_window) {
      // The whole queue fits the dispatch window: predict with the batch
      // schedule the compute thread will choose (it reorders; twins stay FIFO).
      waiting.push_back(&job);
      std::vector<partition::BatchTask> tasks;
      std::map<std::tuple<std::string, int, std::string, int>, std::size_t> groups;
      for (const Job* w : waiting) {
        partition::BatchTask task;
        try {
          for (const auto& o : options_for(*w, cond)) task.options.push_back(partition::stages_of(o, cond.link));
        } catch (const std::exception&) {
          if (w == &job) throw;
          task.options.push_back({});  // fails at dispatch: no time
        }
        const auto key = std::make_tuple(w->spec.model, static_cast<int>(w->codec), control::to_string(w->spec.plan),
                                         static_cast<int>(w->spec.objective));
        task.group = groups.emplace(key, groups.size()).first->second;
        tasks.push_back(std::move(task));
      }
      const auto o = waiting.front()->spec.objective;
      const auto objective = o == partition::Objective::makespan || o == partition::Objective::throughput
                                 ? partition::BatchObjective::makespan
                                 : partition::BatchObjective::total_completion;
      slot = partition::schedule_batch(tasks, rtt, t, objective, partition::k_daemon_schedule_options).slots.back();
    } else {
      // Arrival order, each at its earliest completion.
      for (const Job* w : waiting) {
        try {
          place_best(*w);
        } catch (const std::exception&) {
          // a task that will fail at dispatch takes no time
        }
      }
      slot = place_best(job);
    }
    TaskResult& r = job.result;
    r.predicted_completion_ms = slot.done;
    r.predicted_wait = {slot.edge_wait(), slot.uplink_wait(), slot.cloud_wait(rtt)};
  } catch (const std::exception&) {
    // A plan the task cannot have (a bad cut) fails at dispatch, with the reason.
  }
}

EdgeService::Choice EdgeService::choose(const std::vector<JobPtr>& window) {
  // Jobs that cannot run go first: they fail at once.
  for (const JobPtr& j : window) {
    if (j->error) return Choice{.job = j};
  }
  const auto now = Clock::now();
  planner::Conditions cond;
  partition::Timeline t;
  std::size_t starving = window.size();
  {
    std::lock_guard lock(mutex_);
    cond = conditions_locked(window.front()->codec);
    t = timeline_locked(now, cond.link);
    for (std::size_t i = 0; i < window.size() && starving == window.size(); ++i) {
      if (window[i]->overtaken >= config_.batch_window) starving = i;
    }
  }
  const double rtt = cond.link.rtt_ms;
  std::vector<std::vector<partition::CutWork>> works;
  std::vector<partition::BatchTask> tasks;
  std::map<std::tuple<std::string, int, std::string, int>, std::size_t> groups;
  for (const JobPtr& j : window) {
    planner::Conditions c = cond;
    c.codec = j->codec;
    try {
      works.push_back(options_for(*j, c));
    } catch (const std::exception& e) {
      j->error = e.what();
      return Choice{.job = j};
    }
    partition::BatchTask task;
    for (const auto& w : works.back()) task.options.push_back(partition::stages_of(w, cond.link));
    const auto key = std::make_tuple(j->spec.model, static_cast<int>(j->codec), control::to_string(j->spec.plan),
                                     static_cast<int>(j->spec.objective));
    task.group = groups.emplace(key, groups.size()).first->second;
    tasks.push_back(std::move(task));
  }

  Choice c;
  c.cond = cond;
  std::size_t pick = 0;
  if (window.size() == 1 || starving < window.size()) {
    pick = starving < window.size() ? starving : 0;
    c.slot = partition::earliest_completion(tasks[pick].options, rtt, t);
    c.mode = control::PlanningMode::timeline;
  } else {
    // Tasks asking for throughput or the makespan want the batch done soonest;
    // otherwise the mean completion time (each task's latency) is minimised.
    const auto o = window.front()->spec.objective;
    const auto objective = o == partition::Objective::makespan || o == partition::Objective::throughput
                               ? partition::BatchObjective::makespan
                               : partition::BatchObjective::total_completion;
    const partition::Schedule s = partition::schedule_batch(tasks, rtt, t, objective, partition::k_daemon_schedule_options);
    pick = s.order.front();
    c.slot = s.slots[pick];
    c.mode = control::PlanningMode::batch;
  }
  c.job = window[pick];
  c.work = works[pick][c.slot.option];
  c.objective = c.job->spec.objective;
  if (c.job->spec.plan.mode != control::PlanChoice::Mode::automatic) {
    c.mode.reset();
  } else if (!link_ || !link_->connected()) {
    c.mode.reset();
    c.cloud_down = link_ ? fmt::format("cloud unreachable: {}", link_->last_error()) : "no cloud configured";
  }
  return c;
}

std::optional<control::PlanningMode> EdgeService::planning_mode(const TaskSpec& spec,
                                                                 partition::Objective& objective) {
  if (spec.plan.mode != control::PlanChoice::Mode::automatic || config_.heavy_backlog == 0) {
    return spec.plan.mode == control::PlanChoice::Mode::automatic
               ? std::optional(control::PlanningMode::light)
               : std::nullopt;
  }
  std::lock_guard lock(mutex_);
  // The task being planned is still in the queue: the backlog is the rest.
  const std::size_t waiting = queue_.empty() ? 0 : queue_.size() - 1;
  const bool was = heavy_;
  if (waiting >= config_.heavy_backlog) heavy_ = true;
  if (waiting == 0) heavy_ = false;
  if (heavy_ != was) {
    spdlog::info("{} mode: {} tasks queued", heavy_ ? "heavy (planning for throughput)" : "light", waiting);
  }
  if (heavy_ && objective == partition::Objective::latency) objective = partition::Objective::throughput;
  return heavy_ ? control::PlanningMode::heavy : control::PlanningMode::light;
}

EdgeService::Choice EdgeService::choose_alone(const JobPtr& job) {
  Choice c;
  c.job = job;
  if (job->error) return c;
  const TaskSpec& spec = job->spec;
  c.cond = conditions(job->codec);
  c.cond.privacy = job->floor;
  c.objective = spec.objective;
  c.mode = planning_mode(spec, c.objective);
  try {
    if (spec.plan.mode == control::PlanChoice::Mode::automatic) {
      if (link_ && link_->connected()) {
        const Cut cut = planner_->plan(spec.model, c.objective, c.cond).cut;
        c.work = planner::scaled(planner_->cut_work(spec.model, cut, job->codec), c.cond);
      } else {
        c.work = planner::scaled(planner_->cut_work(spec.model, Cut::edge_only(job->model->graph()), job->codec), c.cond);
        c.cloud_down = link_ ? fmt::format("cloud unreachable: {}", link_->last_error()) : "no cloud configured";
      }
    } else {
      c.work = options_for(*job, c.cond).front();
    }
  } catch (const std::exception& e) {
    job->error = e.what();
    c.work.reset();
  }
  return c;
}

}  // namespace tandem::edge
