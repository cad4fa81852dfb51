#include "edge_daemon/task.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem::edge {
namespace {

template <typename T>
T field(const nlohmann::json& j, const char* name, T fallback) {
  if (!j.contains(name) || j.at(name).is_null()) return fallback;
  try {
    return j.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument(fmt::format("task field '{}' has the wrong type ({})", name,
                                            j.at(name).dump()));
  }
}

}  // namespace

PlanChoice parse_plan_choice(const std::string& text) {
  PlanChoice c;
  if (text.empty() || text == "auto") return c;
  if (text == "edge_only") {
    c.mode = PlanChoice::Mode::edge_only;
  } else if (text == "cloud_only") {
    c.mode = PlanChoice::Mode::cloud_only;
  } else if (text.starts_with("split:")) {
    c.mode = PlanChoice::Mode::split;
    const std::string_view k = std::string_view(text).substr(6);
    const auto [ptr, ec] = std::from_chars(k.data(), k.data() + k.size(), c.split);
    if (ec != std::errc() || ptr != k.data() + k.size()) {
      throw std::invalid_argument(fmt::format("plan '{}': split:K needs a whole number K", text));
    }
  } else if (text.starts_with("cut:") && text.size() > 4) {
    c.mode = PlanChoice::Mode::cut;
    c.cut = text.substr(4);
  } else {
    throw std::invalid_argument(fmt::format(
        "plan '{}' is not auto, edge_only, cloud_only, split:K or cut:NODES", text));
  }
  return c;
}

std::string to_string(const PlanChoice& c) {
  switch (c.mode) {
    case PlanChoice::Mode::automatic: return "auto";
    case PlanChoice::Mode::edge_only: return "edge_only";
    case PlanChoice::Mode::cloud_only: return "cloud_only";
    case PlanChoice::Mode::split: return fmt::format("split:{}", c.split);
    case PlanChoice::Mode::cut: return "cut:" + c.cut;
  }
  return "auto";
}

TaskSpec task_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("a task must be a JSON object");
  TaskSpec t;
  t.id = field<std::uint64_t>(j, "task", 0);
  t.model = field<std::string>(j, "model", "");
  if (t.model.empty()) throw std::invalid_argument("task field 'model' is required");
  t.seed = field<std::uint64_t>(j, "seed", 0);
  t.input_file = field<std::string>(j, "input_file", "");
  const auto objective = field<std::string>(j, "objective", "latency");
  const auto parsed = partition::objective_from_string(objective);
  if (!parsed) {
    throw std::invalid_argument(fmt::format(
        "task field 'objective': '{}' is not latency, energy or throughput", objective));
  }
  t.objective = *parsed;
  t.deadline_ms = field<double>(j, "deadline_ms", 0.0);
  if (!(t.deadline_ms >= 0)) throw std::invalid_argument("task field 'deadline_ms' must be >= 0");
  t.plan = parse_plan_choice(field<std::string>(j, "plan", "auto"));
  const auto codec = field<std::string>(j, "codec", "fp32");
  const auto parsed_codec = partition::codec_from_string(codec);
  if (!parsed_codec) {
    throw std::invalid_argument(fmt::format("task field 'codec': '{}' is not fp32 or fp16", codec));
  }
  t.codec = *parsed_codec;
  t.return_outputs = field<bool>(j, "return_outputs", false);
  return t;
}

nlohmann::json to_json(const TaskSpec& t) {
  nlohmann::json j{{"task", t.id},
                   {"model", t.model},
                   {"seed", t.seed},
                   {"objective", partition::to_string(t.objective)},
                   {"deadline_ms", t.deadline_ms},
                   {"plan", to_string(t.plan)},
                   {"codec", partition::to_string(t.codec)}};
  if (!t.input_file.empty()) j["input_file"] = t.input_file;
  if (t.return_outputs) j["return_outputs"] = true;
  return j;
}

nlohmann::json to_json(const TaskResult& r) {
  nlohmann::json j{{"task", r.task},
                   {"model", r.model},
                   {"ok", r.ok},
                   {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
                   {"placement", r.placement},
                   {"cut", r.cut},
                   {"objective", r.objective},
                   {"mode", r.mode},
                   {"edge_nodes", r.edge_nodes},
                   {"crossing_tensors", r.crossing_tensors},
                   {"crossing_bytes", r.crossing_bytes},
                   {"predicted_ms", r.predicted_ms},
                   {"predicted_edge_ms", r.predicted_edge_ms},
                   {"predicted_transfer_ms", r.predicted_transfer_ms},
                   {"predicted_cloud_ms", r.predicted_cloud_ms},
                   {"measured_ms", r.measured_ms},
                   {"edge_ms", r.edge_ms},
                   {"transfer_ms", r.transfer_ms},
                   {"cloud_ms", r.cloud_ms},
                   {"queue_ms", r.queue_ms},
                   {"cloud_queue_ms", r.cloud_queue_ms},
                   {"fallback", r.fallback},
                   {"fallback_reason", r.fallback_reason},
                   {"fallback_ms", r.fallback_ms},
                   {"bandwidth_mbit", r.bandwidth_mbit ? nlohmann::json(*r.bandwidth_mbit) : nlohmann::json(nullptr)},
                   {"rtt_ms", r.rtt_ms ? nlohmann::json(*r.rtt_ms) : nlohmann::json(nullptr)},
                   {"pipelined", r.pipelined},
                   {"output_shape", r.output_shape},
                   {"top1", r.top1},
                   {"output_checksum", r.output_checksum}};
  if (!r.outputs.empty()) j["outputs"] = r.outputs;
  return j;
}

TaskResult result_from_json(const nlohmann::json& j) {
  TaskResult r;
  try {
    r.task = j.at("task").get<std::uint64_t>();
    r.model = j.at("model").get<std::string>();
    r.ok = j.at("ok").get<bool>();
    r.error = j.at("error").is_null() ? "" : j.at("error").get<std::string>();
    r.placement = j.value("placement", "");
    r.cut = j.value("cut", "");
    r.objective = j.value("objective", "");
    r.mode = j.value("mode", "");
    r.edge_nodes = j.value("edge_nodes", std::size_t{0});
    r.crossing_tensors = j.value("crossing_tensors", std::size_t{0});
    r.crossing_bytes = j.value("crossing_bytes", std::int64_t{0});
    r.predicted_ms = j.value("predicted_ms", 0.0);
    r.predicted_edge_ms = j.value("predicted_edge_ms", 0.0);
    r.predicted_transfer_ms = j.value("predicted_transfer_ms", 0.0);
    r.predicted_cloud_ms = j.value("predicted_cloud_ms", 0.0);
    r.measured_ms = j.value("measured_ms", 0.0);
    r.edge_ms = j.value("edge_ms", 0.0);
    r.transfer_ms = j.value("transfer_ms", 0.0);
    r.cloud_ms = j.value("cloud_ms", 0.0);
    r.queue_ms = j.value("queue_ms", 0.0);
    r.cloud_queue_ms = j.value("cloud_queue_ms", 0.0);
    r.fallback = j.value("fallback", false);
    r.fallback_reason = j.value("fallback_reason", "");
    r.fallback_ms = j.value("fallback_ms", 0.0);
    if (j.contains("bandwidth_mbit") && !j["bandwidth_mbit"].is_null()) r.bandwidth_mbit = j["bandwidth_mbit"].get<double>();
    if (j.contains("rtt_ms") && !j["rtt_ms"].is_null()) r.rtt_ms = j["rtt_ms"].get<double>();
    r.pipelined = j.value("pipelined", false);
    r.output_shape = j.value("output_shape", std::vector<std::int64_t>{});
    r.top1 = j.value("top1", std::int64_t{-1});
    r.output_checksum = j.value("output_checksum", 0.0);
    r.outputs = j.value("outputs", std::vector<float>{});
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("bad task result: {}", e.what()));
  }
  return r;
}

}  // namespace tandem::edge
