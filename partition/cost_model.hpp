#pragma once
// Inputs of the partition problem (docs/design.md §4) and the exact evaluation of a
// cut under them.
//
// Units: times in ms, bandwidths in bytes/s, sizes in bytes, power in W,
// energy in mJ (W x ms). A node's predicted time on the edge and in the cloud
// come from the predictor; the input nodes cost nothing on either side,
// whatever their entries say.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/cut.hpp"
#include "models/graph.hpp"

namespace tandem::partition {

/// How tensors travel over the link. fp16 halves the bytes of f32 tensors in
/// both directions (uploaded crossing tensors and downloaded outputs); other
/// dtypes are sent as they are.
enum class Codec { fp32, fp16 };

/// The network between edge and cloud.
struct Link {
  double uplink_bytes_per_s = 1e6;    // edge -> cloud, > 0 and finite
  double downlink_bytes_per_s = 1e6;  // cloud -> edge, > 0 and finite
  double rtt_ms = 0.0;                // one request/reply round trip, >= 0
};

/// Edge device power draw, for the energy objective.
struct EdgePower {
  double compute_w = 1.0;   // while the edge computes
  double transmit_w = 1.0;  // while the edge uploads
  double idle_w = 0.1;      // while the edge waits for the cloud
};

/// Everything the optimisers need besides the graph. Plain value; thread-safe
/// to read.
struct CostModel {
  std::vector<double> edge_ms;   // predicted edge time per node, indexed by NodeId
  std::vector<double> cloud_ms;  // predicted cloud time per node, indexed by NodeId
  Link link;
  double cloud_wait_ms = 0.0;  // expected queue wait at the cloud, >= 0
  Codec codec = Codec::fp32;
  EdgePower power;
};

/// Every term of docs/design.md §4 for one cut.
struct Breakdown {
  double edge_ms = 0;              // Σ_{v∈S} e_v
  std::int64_t upload_bytes = 0;   // Σ crossing tensors, on the wire (codec applied)
  double upload_ms = 0;            // upload_bytes / B_up
  double rtt_ms = 0;               // r, when anything is sent
  double cloud_wait_ms = 0;        // w, when anything is sent
  double cloud_ms = 0;             // Σ_{v∉S} c_v
  std::int64_t download_bytes = 0; // outputs of cloud sinks, on the wire
  double download_ms = 0;          // download_bytes / B_down
  double total_ms = 0;             // latency(S)
  double energy_mj = 0;            // energy(S)
  double period_ms = 0;            // period(S) = max(edge, upload, cloud)

  friend bool operator==(const Breakdown&, const Breakdown&) = default;
};

/// What a plan minimises. throughput minimises the pipeline period
/// (1/throughput). makespan is a batch's: the edge daemon orders a waiting
/// batch and chooses its cuts together to finish the whole batch soonest
/// (schedule.hpp); for one cut alone it is the latency.
enum class Objective { latency, energy, throughput, makespan };

/// The value `objective` minimises for a breakdown (ms, mJ or ms).
double objective_value(const Breakdown& breakdown, Objective objective);
/// "latency" / "energy" / "throughput" / "makespan".
std::string_view to_string(Objective objective);
/// Parses an objective name; std::nullopt when unknown.
std::optional<Objective> objective_from_string(std::string_view text);

/// Throws std::invalid_argument naming the first bad field: cost vectors not of
/// graph.size(), a negative or non-finite cost, bandwidth <= 0 or non-finite,
/// negative RTT, wait or power.
void validate(const GraphDesc& graph, const CostModel& model);

/// Bytes a node's output tensor takes on the wire under `codec`.
std::int64_t wire_bytes(const Node& node, Codec codec);

/// Exact breakdown of `cut` per docs/design.md §4. Assumes a valid cut and model
/// (validate() them first); O(nodes + edges). S == all sends nothing: no RTT,
/// no wait, no transfer.
Breakdown evaluate(const GraphDesc& graph, const CostModel& model, const Cut& cut);

/// The breakdown of a cut from its sums: edge and cloud compute, uploaded and
/// downloaded wire bytes. `edge_only` plans send nothing. evaluate() uses it.
Breakdown compose_breakdown(const CostModel& model, bool edge_only, double edge_ms,
                            std::int64_t upload_bytes, double cloud_ms, std::int64_t download_bytes);

/// evaluate(...).total_ms.
double latency(const GraphDesc& graph, const CostModel& model, const Cut& cut);
/// evaluate(...).energy_mj.
double energy(const GraphDesc& graph, const CostModel& model, const Cut& cut);
/// evaluate(...).period_ms.
double period(const GraphDesc& graph, const CostModel& model, const Cut& cut);

/// "fp32" / "fp16".
std::string_view to_string(Codec codec);
/// Parses "fp32" / "fp16"; std::nullopt otherwise.
std::optional<Codec> codec_from_string(std::string_view text);

/// Enums as their names in JSON; from_json throws std::invalid_argument naming
/// the accepted names for anything else (used by the control protocol).
void to_json(nlohmann::json& j, Objective objective);
void from_json(const nlohmann::json& j, Objective& objective);
void to_json(nlohmann::json& j, Codec codec);
void from_json(const nlohmann::json& j, Codec& codec);

/// JSON of a breakdown (field names as in the struct).
nlohmann::json to_json(const Breakdown& breakdown);
/// Inverse of to_json(Breakdown); throws std::invalid_argument on missing or mistyped fields.
Breakdown breakdown_from_json(const nlohmann::json& j);

}  // namespace tandem::partition
