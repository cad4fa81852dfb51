#pragma once
// Tasks and their results, as they travel on the edge daemon's control port
// (one JSON object per line; see README "Control protocol").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "partition/cost_model.hpp"

namespace tandem::edge {

/// How the task's plan is chosen.
struct PlanChoice {
  enum class Mode { automatic, edge_only, cloud_only, split, cut } mode = Mode::automatic;
  std::size_t split = 0;  // Mode::split: nodes after the input run on the edge (chains)
  std::string cut;        // Mode::cut: Cut::to_string form
};

/// Parses "auto", "edge_only", "cloud_only", "split:K" or "cut:0-12,15".
/// Throws std::invalid_argument naming the text.
PlanChoice parse_plan_choice(const std::string& text);
std::string to_string(const PlanChoice& choice);

struct TaskSpec {
  std::uint64_t id = 0;
  std::string model;
  std::uint64_t seed = 0;          // input seed, used when input_file is empty
  std::string input_file;          // a tensor file (tandem run --save-input)
  partition::Objective objective = partition::Objective::latency;
  double deadline_ms = 0;          // 0: the daemon's default
  PlanChoice plan;
  partition::Codec codec = partition::Codec::fp32;
  bool return_outputs = false;     // include the first output's values in the result
};

/// Parses a task object; throws std::invalid_argument naming the bad field.
TaskSpec task_from_json(const nlohmann::json& j);
nlohmann::json to_json(const TaskSpec& task);

struct TaskResult {
  std::uint64_t task = 0;
  std::string model;
  bool ok = false;
  std::string error;            // empty when ok
  std::string placement;        // edge_only | split | cloud_only
  std::string cut;              // Cut::to_string of the plan used
  std::string objective;        // the objective actually planned for
  std::string mode;             // light | heavy (automatic plans), empty otherwise
  std::size_t edge_nodes = 0;   // nodes run on the edge, input excluded
  std::size_t crossing_tensors = 0;
  std::int64_t crossing_bytes = 0;  // bytes uploaded (codec applied)
  // Predicted by the planner at planning time.
  double predicted_ms = 0, predicted_edge_ms = 0, predicted_transfer_ms = 0, predicted_cloud_ms = 0;
  // Measured: measured_ms = from the start of the task's edge work to its outputs.
  double measured_ms = 0, edge_ms = 0, transfer_ms = 0, cloud_ms = 0;
  double queue_ms = 0;          // waiting in the edge queue before starting
  double cloud_queue_ms = 0;    // waiting in the cloud's queue
  double fallback_ms = 0;       // local completion after a cloud failure
  bool fallback = false;
  std::string fallback_reason;
  std::optional<double> bandwidth_mbit;  // estimate at planning time
  std::optional<double> rtt_ms;
  bool pipelined = false;
  std::vector<std::int64_t> output_shape;
  std::int64_t top1 = -1;       // argmax of the first output
  double output_checksum = 0;   // sum of the first output
  std::vector<float> outputs;   // the first output's values, when the task asked for them
};

nlohmann::json to_json(const TaskResult& result);
/// Inverse of to_json(TaskResult); throws std::invalid_argument on a bad field.
TaskResult result_from_json(const nlohmann::json& j);

}  // namespace tandem::edge
