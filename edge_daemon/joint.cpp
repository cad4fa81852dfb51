#include "edge_daemon/joint.hpp"

#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "edge_daemon/miner.hpp"

namespace tandem::edge {
namespace {

using control::JointOutcome;
using control::TaskResult;
using control::TaskSpec;

// The little model's task: the same input, edge-only, outputs returned for the miner.
TaskSpec little_task(const TaskSpec& joint) {
  TaskSpec t = joint;
  t.model = joint.little;
  t.mode = control::TaskMode::single;
  t.little.clear();
  t.miner = control::MinerKind::confidence;
  t.threshold.reset();
  t.box_threshold.reset();
  t.plan = control::PlanChoice{control::PlanChoice::Mode::edge_only, 0, {}};
  t.codec = control::CodecChoice{};
  t.accuracy_budget.reset();
  t.return_outputs = true;
  return t;
}

// The big model's task: the joint task as an ordinary one.
TaskSpec big_task(const TaskSpec& joint) {
  TaskSpec t = joint;
  t.mode = control::TaskMode::single;
  t.little.clear();
  t.miner = control::MinerKind::confidence;
  t.threshold.reset();
  t.box_threshold.reset();
  return t;
}

TaskResult failed(const TaskSpec& joint, std::string why, JointOutcome outcome) {
  TaskResult r;
  r.task = joint.task;
  r.model = joint.model;
  r.ok = false;
  r.error = std::move(why);
  r.joint = std::move(outcome);
  return r;
}

}  // namespace

JointRunner::JointRunner(SubmitFn submit) : submit_(std::move(submit)) {}

void JointRunner::submit(TaskSpec task, std::function<void(TaskResult)> done) const {
  if (task.mode != control::TaskMode::joint) {
    submit_(std::move(task), std::move(done));
    return;
  }
  auto spec = std::make_shared<const TaskSpec>(std::move(task));
  auto finish = std::make_shared<std::function<void(TaskResult)>>(std::move(done));
  const SubmitFn submit = submit_;
  submit_(little_task(*spec), [spec, finish, submit](TaskResult little) {
    JointOutcome outcome;
    outcome.little_model = spec->little;
    outcome.big_model = spec->model;
    const MinerConfig config = miner_config(*spec);
    outcome.miner = config.kind;
    outcome.threshold = config.threshold;
    if (!little.ok) {
      (*finish)(failed(*spec, fmt::format("little model '{}': {}", spec->little, little.error.value_or("failed")),
                       std::move(outcome)));
      return;
    }
    outcome.little_top1 = little.top1;
    outcome.little_ms = little.measured_ms;
    MinerDecision decision;
    try {
      decision = mine(config, little.outputs);
    } catch (const std::invalid_argument& e) {
      (*finish)(failed(*spec, fmt::format("little model '{}': {}", spec->little, e.what()), std::move(outcome)));
      return;
    }
    outcome.hard = decision.hard;
    outcome.score = decision.score;
    outcome.reason = std::move(decision.reason);
    if (!outcome.hard) {
      outcome.answered_by = "little";
      if (!spec->return_outputs) little.outputs.clear();
      little.joint = std::move(outcome);
      (*finish)(std::move(little));
      return;
    }
    outcome.answered_by = "big";
    const double little_queue_ms = little.queue_ms;
    const double little_ms = little.measured_ms;
    auto pending = std::make_shared<JointOutcome>(std::move(outcome));
    submit(big_task(*spec), [finish, pending, little_queue_ms, little_ms](TaskResult big) {
      big.measured_ms = little_ms + big.queue_ms + big.measured_ms;
      big.queue_ms = little_queue_ms;
      big.joint = std::move(*pending);
      (*finish)(std::move(big));
    });
  });
}

}  // namespace tandem::edge
