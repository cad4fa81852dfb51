#include "edge_daemon/task.hpp"

#include <gtest/gtest.h>

namespace tandem::edge {
namespace {

TEST(EdgeTask, ParsesDefaultsAndEveryField) {
  const TaskSpec minimal = task_from_json({{"model", "lenet"}});
  EXPECT_EQ(minimal.model, "lenet");
  EXPECT_EQ(minimal.plan.mode, PlanChoice::Mode::automatic);
  EXPECT_EQ(minimal.objective, partition::Objective::latency);
  const TaskSpec t = task_from_json({{"task", 9}, {"model", "vgg16"}, {"seed", 4},
                                     {"objective", "energy"}, {"deadline_ms", 250},
                                     {"plan", "split:7"}, {"codec", "fp16"},
                                     {"return_outputs", true}});
  EXPECT_EQ(t.id, 9u);
  EXPECT_EQ(t.seed, 4u);
  EXPECT_EQ(t.objective, partition::Objective::energy);
  EXPECT_EQ(t.deadline_ms, 250);
  EXPECT_EQ(t.plan.mode, PlanChoice::Mode::split);
  EXPECT_EQ(t.plan.split, 7u);
  EXPECT_EQ(t.codec, partition::Codec::fp16);
  EXPECT_TRUE(t.return_outputs);
  const TaskSpec back = task_from_json(to_json(t));
  EXPECT_EQ(to_json(back), to_json(t));
}

TEST(EdgeTask, RejectsBadFieldsNamingThem) {
  auto message = [](const nlohmann::json& j) {
    try {
      task_from_json(j);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message({{"seed", 1}}).find("model"), std::string::npos);
  EXPECT_NE(message({{"model", "a"}, {"objective", "speed"}}).find("objective"), std::string::npos);
  EXPECT_NE(message({{"model", "a"}, {"plan", "split:x"}}).find("split"), std::string::npos);
  EXPECT_NE(message({{"model", "a"}, {"plan", "middle"}}).find("middle"), std::string::npos);
  EXPECT_NE(message({{"model", "a"}, {"codec", "int8"}}).find("codec"), std::string::npos);
  EXPECT_NE(message({{"model", "a"}, {"seed", "x"}}).find("seed"), std::string::npos);
  EXPECT_NE(message({{"model", "a"}, {"deadline_ms", -1}}).find("deadline"), std::string::npos);
  EXPECT_NE(message(nlohmann::json::array()).find("object"), std::string::npos);
}

TEST(EdgeTask, ResultJsonRoundTrips) {
  TaskResult r;
  r.task = 3;
  r.model = "resnet18";
  r.ok = true;
  r.placement = "split";
  r.cut = "0-34";
  r.edge_nodes = 34;
  r.crossing_bytes = 401408;
  r.predicted_ms = 12.5;
  r.measured_ms = 13.25;
  r.bandwidth_mbit = 5.85;
  r.fallback = true;
  r.fallback_reason = "cloud request failed: connection lost";
  r.outputs = {1.5f, -2.0f};
  const TaskResult back = result_from_json(to_json(r));
  EXPECT_EQ(to_json(back), to_json(r));
  EXPECT_TRUE(to_json(TaskResult{}).at("error").is_null());
}

}  // namespace
}  // namespace tandem::edge
