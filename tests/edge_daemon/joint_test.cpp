// Joint mode's control flow on a fake engine: which model answers, what the
// result says, and failures — with hand-made little-model outputs.
#include "edge_daemon/joint.hpp"

#include <deque>
#include <vector>

#include <gtest/gtest.h>

namespace tandem::edge {
namespace {

using control::TaskResult;
using control::TaskSpec;

// Records the tasks it is given and answers each with a result made by `answer`.
struct FakeEngine {
  std::vector<TaskSpec> seen;
  std::function<TaskResult(const TaskSpec&)> answer;
  SubmitFn submit() {
    return [this](TaskSpec t, std::function<void(TaskResult)> done) {
      seen.push_back(t);
      done(answer(t));
    };
  }
};

TaskSpec joint_task(double threshold) {
  TaskSpec t;
  t.task = 42;
  t.model = "big";
  t.mode = control::TaskMode::joint;
  t.little = "little";
  t.threshold = threshold;
  t.seed = 7;
  t.plan = control::parse_plan_choice("cloud_only");
  return t;
}

TaskResult result_of(const TaskSpec& t, std::vector<float> outputs, std::int64_t top1, double measured, double queue) {
  TaskResult r;
  r.task = t.task;
  r.model = t.model;
  r.ok = true;
  r.top1 = top1;
  r.measured_ms = measured;
  r.queue_ms = queue;
  r.outputs = std::move(outputs);
  r.placement = t.plan.mode == control::PlanChoice::Mode::edge_only ? partition::Placement::edge_only
                                                                    : partition::Placement::cloud_only;
  return r;
}

// The little model is sure of class 1 (softmax ≈ 0.99).
FakeEngine confident_little() {
  FakeEngine e;
  e.answer = [](const TaskSpec& t) {
    return t.model == "little" ? result_of(t, {0, 6, 0}, 1, 2.0, 0.5) : result_of(t, {0, 0, 9}, 2, 10.0, 1.0);
  };
  return e;
}

TEST(Joint, AnEasySampleIsAnsweredByTheLittleModel) {
  FakeEngine engine = confident_little();
  JointRunner runner(engine.submit());
  std::optional<TaskResult> got;
  runner.submit(joint_task(0.9), [&](TaskResult r) { got = std::move(r); });
  ASSERT_TRUE(got);
  ASSERT_EQ(engine.seen.size(), 1u);
  EXPECT_EQ(engine.seen[0].model, "little");
  EXPECT_EQ(engine.seen[0].plan.mode, control::PlanChoice::Mode::edge_only);
  EXPECT_TRUE(engine.seen[0].return_outputs);
  EXPECT_EQ(engine.seen[0].seed, 7u) << "the same input";
  EXPECT_TRUE(got->ok);
  EXPECT_EQ(got->task, 42u);
  EXPECT_EQ(got->model, "little");
  EXPECT_EQ(got->top1, 1);
  EXPECT_TRUE(got->outputs.empty()) << "the task did not ask for outputs";
  ASSERT_TRUE(got->joint);
  EXPECT_EQ(got->joint->answered_by, "little");
  EXPECT_FALSE(got->joint->hard);
  EXPECT_GT(got->joint->score, 0.9);
  EXPECT_EQ(got->joint->big_model, "big");
  EXPECT_NE(got->joint->reason.find(">="), std::string::npos);
}

TEST(Joint, AHardSampleIsAnsweredByTheBigModel) {
  FakeEngine engine = confident_little();
  JointRunner runner(engine.submit());
  std::optional<TaskResult> got;
  runner.submit(joint_task(1.0), [&](TaskResult r) { got = std::move(r); });  // threshold 1: hard
  ASSERT_TRUE(got);
  ASSERT_EQ(engine.seen.size(), 2u);
  EXPECT_EQ(engine.seen[1].model, "big");
  EXPECT_EQ(engine.seen[1].mode, control::TaskMode::single);
  EXPECT_EQ(engine.seen[1].plan.mode, control::PlanChoice::Mode::cloud_only) << "the task's own plan";
  EXPECT_EQ(got->model, "big");
  EXPECT_EQ(got->top1, 2);
  ASSERT_TRUE(got->joint);
  EXPECT_EQ(got->joint->answered_by, "big");
  EXPECT_TRUE(got->joint->hard);
  EXPECT_EQ(got->joint->little_top1, 1);
  EXPECT_EQ(got->joint->little_ms, 2.0);
  EXPECT_EQ(got->measured_ms, 2.0 + 1.0 + 10.0);  // little, big's wait, big
  EXPECT_EQ(got->queue_ms, 0.5);
}

TEST(Joint, ALittleModelFailureFailsTheTaskNamingIt) {
  FakeEngine engine;
  engine.answer = [](const TaskSpec& t) {
    TaskResult r;
    r.task = t.task;
    r.model = t.model;
    r.error = "model 'little' is not loaded on this edge";
    return r;
  };
  JointRunner runner(engine.submit());
  std::optional<TaskResult> got;
  runner.submit(joint_task(0.5), [&](TaskResult r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->ok);
  EXPECT_NE(got->error->find("little model 'little'"), std::string::npos) << *got->error;
  EXPECT_EQ(engine.seen.size(), 1u) << "no big task after a failure";
  // An empty output cannot be mined.
  engine.answer = [](const TaskSpec& t) { return result_of(t, {}, 0, 1, 0); };
  runner.submit(joint_task(0.5), [&](TaskResult r) { got = std::move(r); });
  EXPECT_FALSE(got->ok);
}

TEST(Joint, SingleTasksPassStraightThrough) {
  FakeEngine engine = confident_little();
  JointRunner runner(engine.submit());
  TaskSpec t;
  t.model = "big";
  std::optional<TaskResult> got;
  runner.submit(t, [&](TaskResult r) { got = std::move(r); });
  ASSERT_EQ(engine.seen.size(), 1u);
  EXPECT_EQ(engine.seen[0], t);
  EXPECT_FALSE(got->joint);
}

}  // namespace
}  // namespace tandem::edge
