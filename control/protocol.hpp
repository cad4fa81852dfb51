#pragma once
// The edge daemon's control protocol: newline-delimited JSON over TCP
// (docs/design.md §8). Each struct's fields are declared once, with nlohmann's
// type macros (protocol.cpp), and serve both directions: the daemon parses
// tasks strictly (unknown fields, wrong types and bad enum values are errors
// naming the field) and writes results; clients do the reverse.
//
// Client → daemon, one object per line:
//   {"task": 7, "model": "resnet18", "seed": 1, ...}   a task (only "model" is required)
//   {"op": "status"}                                     the daemon's status
//   {"op": "auth", "token": "..."}                       when the daemon asks for a token
// Daemon → client, one object per line, in completion order:
//   a TaskResult, a Status ({"op": "status", ...}), or an ErrorReply
//   ({"ok": false, "error": "line 3: ...", "task": 7}) for a line that could
//   not be accepted.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "partition/cost_model.hpp"
#include "partition/plan.hpp"
#include "partition/privacy.hpp"
#include "control/json.hpp"

namespace tandem::control {

/// How a task's plan is chosen.
struct PlanChoice {
  enum class Mode { automatic, edge_only, cloud_only, split, cut };
  Mode mode = Mode::automatic;
  std::size_t split = 0;  // Mode::split: nodes after the input run on the edge (chains)
  std::string cut;        // Mode::cut: Cut::to_string form
  friend bool operator==(const PlanChoice&, const PlanChoice&) = default;
};

/// Parses "auto", "edge_only", "cloud_only", "split:K" or "cut:0-12,15".
/// Throws std::invalid_argument naming the text.
PlanChoice parse_plan_choice(const std::string& text);
/// The text form parse_plan_choice reads.
std::string to_string(const PlanChoice& choice);

/// How an automatic plan was made. The `alone` scheduler: light (for the
/// task alone) or heavy (for throughput, because a backlog was waiting). The
/// `timeline` scheduler: timeline (for the earliest completion given what
/// the edge, uplink and cloud already hold) or batch (order and cut chosen
/// together with the other waiting tasks).
enum class PlanningMode { light, heavy, timeline, batch };
std::string_view to_string(PlanningMode mode);

/// How a task's crossing tensors travel: a codec, or "auto" — the planner
/// picks, per plan, the codec with the best predicted objective among those
/// the task's accuracy budget allows.
struct CodecChoice {
  bool automatic = false;
  partition::Codec codec = partition::Codec::fp32;  // when not automatic
  friend bool operator==(const CodecChoice&, const CodecChoice&) = default;
  friend bool operator==(const CodecChoice& c, partition::Codec codec) { return !c.automatic && c.codec == codec; }
};

/// A task whose input travels inside the line: the elements of one f32
/// tensor, row-major. Bounded by the control line's length and by
/// k_max_inline_elements; the shape must be the model's input shape.
struct InlineTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
  friend bool operator==(const InlineTensor&, const InlineTensor&) = default;
};
inline constexpr std::size_t k_max_inline_elements = 1 << 16;

/// "single": one model, planned (split) as usual. "joint": a little model on
/// the edge first, and the task's model only for samples a miner finds hard.
enum class TaskMode { single, joint };
/// Hard-example miners of joint mode (edge_daemon/miner.hpp says what each computes).
enum class MinerKind { confidence, entropy, ibt };
std::string_view to_string(TaskMode mode);
std::string_view to_string(MinerKind kind);

struct TaskSpec {
  std::uint64_t task = 0;          // the client's id, echoed in the result
  std::string model;               // a model the edge serves (required); joint: the big model
  std::uint64_t seed = 0;          // input seed, used without input_file or input
  std::string input_file;          // a tensor file under the daemon's --input-dir
  partition::Objective objective = partition::Objective::latency;
  double deadline_ms = 0;          // budget for the cloud part; 0: the daemon's default
  PlanChoice plan;
  CodecChoice codec;
  bool return_outputs = false;     // include the first output's values in the result
  std::optional<InlineTensor> input;  // the input itself (instead of seed or input_file)
  // Percent of samples whose top-1 may differ from fp32 because of a lossy
  // codec (the daemon's --codec-accuracy table says how much each changes
  // each model); null: no limit for an explicit codec, lossless only for "auto".
  std::optional<double> accuracy_budget;
  partition::PrivacyFloor privacy_floor;  // added to the daemon's --privacy-floor
  TaskMode mode = TaskMode::single;
  std::string little;              // joint: the edge's little model (required)
  MinerKind miner = MinerKind::confidence;
  std::optional<double> threshold;      // joint: the miner's threshold; null: its default
  std::optional<double> box_threshold;  // joint, ibt: the per-class (box) threshold; null: its default
  friend bool operator==(const TaskSpec&, const TaskSpec&) = default;
};

/// Queueing on each resource, ms: the edge CPU (from submission to the start
/// of the task's edge work), the uplink (from the end of its edge work to the
/// start of its upload) and the cloud (from the request's arrival to the start
/// of its cloud work).
struct ResourceWaits {
  double edge = 0, uplink = 0, cloud = 0;
  friend bool operator==(const ResourceWaits&, const ResourceWaits&) = default;
};

/// How a joint task was answered.
struct JointOutcome {
  std::string answered_by;    // "little" or "big"
  std::string little_model;
  std::string big_model;
  MinerKind miner = MinerKind::confidence;
  bool hard = false;          // the miner sent it to the big model
  double score = 0;           // what the miner measured (max softmax, normalised entropy, hard coefficient)
  double threshold = 0;
  std::string reason;         // e.g. "max softmax 0.612 < 0.900"
  std::int64_t little_top1 = -1;
  double little_ms = 0;       // the little model's measured_ms
};

struct TaskResult {
  std::uint64_t task = 0;
  std::string model;
  bool ok = false;
  std::optional<std::string> error;           // null when ok
  std::optional<partition::Placement> placement;  // null when the task failed before planning
  std::string cut;                            // Cut::to_string of the plan used
  std::optional<partition::Objective> objective;  // the objective actually planned for
  std::optional<PlanningMode> mode;           // automatic plans only
  std::size_t edge_nodes = 0;                 // nodes run on the edge, inputs excluded
  std::size_t crossing_tensors = 0;
  std::int64_t crossing_bytes = 0;            // bytes uploaded (codec applied)
  // Predicted by the planner when the task started (its edge work began):
  // predicted_ms to its outputs, uplink and cloud queueing included; the
  // stages are the cut's edge / transfer (upload, RTT, download) / cloud
  // compute time, without waits (as edge_ms / transfer_ms / cloud_ms).
  double predicted_ms = 0, predicted_edge_ms = 0, predicted_transfer_ms = 0, predicted_cloud_ms = 0;
  // Measured: measured_ms = from the start of the task's edge work to its outputs.
  double measured_ms = 0, edge_ms = 0, transfer_ms = 0, cloud_ms = 0;
  double queue_ms = 0;          // waiting in the edge queue before starting
  double started_ms = 0;        // when its edge work started, ms on the edge daemon's clock (from its start)
  double cloud_queue_ms = 0;    // waiting in the cloud's queue
  double fallback_ms = 0;       // local completion after a cloud failure
  bool fallback = false;
  std::string fallback_reason;
  // Re-planned while waiting for the uplink (its estimate dropped): the edge
  // finished the task itself. placement/cut are then the edge_only it ran.
  bool replanned = false;
  // Predicted when the task was submitted, from the edge's timeline, and
  // measured: ms from submission to outputs, and the waits on each resource.
  double predicted_completion_ms = 0, completion_ms = 0;
  ResourceWaits predicted_wait, measured_wait;
  std::optional<double> bandwidth_mbit;  // estimate at planning time
  std::optional<double> rtt_ms;
  bool pipelined = false;
  std::vector<std::int64_t> output_shape;
  std::int64_t top1 = -1;       // argmax of the first output
  double output_checksum = 0;   // sum of the first output
  std::vector<float> outputs;   // the first output's values, when the task asked for them
  std::optional<partition::Codec> codec;  // how its tensors travelled (null when nothing was planned)
  std::string privacy_floor;    // the floor its plan obeyed ("none" when there was none)
  std::optional<JointOutcome> joint;  // joint tasks only
};

/// The daemon's counters and link estimate ({"op": "status"}).
struct Status {
  std::string op = "status";
  std::uint64_t submitted = 0, completed = 0, failed = 0, fallbacks = 0;
  std::uint64_t edge_only = 0, split = 0, cloud_only = 0;
  std::size_t queued = 0, in_flight = 0;
  std::size_t uplink_queued = 0;  // edge work done, waiting for the uplink
  std::string scheduler;          // "timeline" or "alone"
  bool heavy = false;
  bool cloud_connected = false;
  std::uint64_t cloud_connections = 0;
  std::optional<double> bandwidth_mbit;
  std::optional<double> rtt_ms;
  std::uint32_t cloud_queue_length = 0;
  double cloud_recent_service_ms = 0;
  // Measured / profiled compute of recent tasks, per side (1: as profiled);
  // the planner multiplies the profiles' costs by them.
  double edge_compute_scale = 1.0;
  double cloud_compute_scale = 1.0;
};

/// A line the daemon could not accept.
struct ErrorReply {
  bool ok = false;
  std::string error;
  std::optional<std::uint64_t> task;  // when the line named one
};

/// Requests other than tasks.
struct StatusRequest {};
struct AuthRequest {
  std::string token;
};
using Request = std::variant<TaskSpec, StatusRequest, AuthRequest>;

/// Limits on one line before it is parsed.
struct LineLimits {
  std::size_t max_depth = 16;  // nesting of arrays and objects
};

/// Parses one control line. Checks the nesting depth before parsing (deep
/// nesting cannot exhaust the stack), then the JSON, then the request
/// strictly. Throws ProtocolError with a one-line reason; the reason never
/// contains bytes of the line that are not valid UTF-8.
Request parse_request(std::string_view line, const LineLimits& limits = {});

/// The "task" id a line names, when it is an object with an unsigned "task"
/// (for error replies); never throws.
std::optional<std::uint64_t> task_id_of(std::string_view line, const LineLimits& limits = {});

/// Serialisers: one JSON object without the trailing newline.
std::string to_line(const TaskSpec& task);
std::string to_line(const TaskResult& result);
std::string to_line(const Status& status);
std::string to_line(const ErrorReply& error);
std::string status_request_line();
std::string auth_request_line(const std::string& token);

/// What a client reads back: a result, a status or an error.
using Reply = std::variant<TaskResult, Status, ErrorReply>;
/// Parses a line the daemon wrote, checked like a request (depth, types,
/// number ranges) except that fields this client does not know are skipped.
/// Throws ProtocolError when it is none of them.
Reply parse_reply(std::string_view line, const LineLimits& limits = {});

// JSON of the types above: the field lists are declared once, here.
void to_json(nlohmann::json& j, const PlanChoice& c);
void from_json(const nlohmann::json& j, PlanChoice& c);
void to_json(nlohmann::json& j, const CodecChoice& c);
void from_json(const nlohmann::json& j, CodecChoice& c);
void to_json(nlohmann::json& j, const TaskMode& m);
void from_json(const nlohmann::json& j, TaskMode& m);
void to_json(nlohmann::json& j, const MinerKind& m);
void from_json(const nlohmann::json& j, MinerKind& m);
void to_json(nlohmann::json& j, const InlineTensor& t);
void from_json(const nlohmann::json& j, InlineTensor& t);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(JointOutcome, answered_by, little_model, big_model, miner, hard,
                                                score, threshold, reason, little_top1, little_ms)
void to_json(nlohmann::json& j, const PlanningMode& m);
void from_json(const nlohmann::json& j, PlanningMode& m);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TaskSpec, task, model, seed, input_file, objective,
                                                deadline_ms, plan, codec, return_outputs, input, accuracy_budget,
                                                privacy_floor, mode, little, miner, threshold, box_threshold)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ResourceWaits, edge, uplink, cloud)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    TaskResult, task, model, ok, error, placement, cut, objective, mode, edge_nodes, crossing_tensors,
    crossing_bytes, predicted_ms, predicted_edge_ms, predicted_transfer_ms, predicted_cloud_ms,
    measured_ms, edge_ms, transfer_ms, cloud_ms, queue_ms, started_ms, cloud_queue_ms, fallback_ms, fallback,
    fallback_reason, replanned, predicted_completion_ms, completion_ms, predicted_wait, measured_wait,
    bandwidth_mbit, rtt_ms, pipelined, output_shape, top1, output_checksum, outputs, codec, privacy_floor, joint)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Status, op, submitted, completed, failed, fallbacks,
                                                edge_only, split, cloud_only, queued, in_flight,
                                                uplink_queued, scheduler, heavy,
                                                cloud_connected, cloud_connections, bandwidth_mbit,
                                                rtt_ms, cloud_queue_length, cloud_recent_service_ms,
                                                edge_compute_scale, cloud_compute_scale)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ErrorReply, ok, error, task)

}  // namespace tandem::control
