#pragma once
// Inputs of the partition problem (docs/design.md §4) and the exact evaluation of a
// cut under them.
//
// Units: times in ms, bandwidths in bytes/s, sizes in bytes, power in W,
// energy in mJ (W x ms). A node's predicted time on the edge and in the cloud
// come from the predictor; the input nodes cost nothing on either side,
// whatever their entries say.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/cut.hpp"
#include "models/graph.hpp"

namespace tandem::partition {

/// How tensors travel over the link, in both directions (uploaded crossing
/// tensors and downloaded outputs). The precision applies to f32 tensors
/// (other dtypes travel as they are): fp32 as is, fp16 halves them, int8 is a
/// per-channel affine quantisation (one byte per element plus an f32 offset
/// and scale per channel; channels are dim 1 of rank >= 3 tensors, a rank <= 2
/// tensor is one channel). The +zstd codecs compress the result losslessly
/// (zstd level 1). Lossless: fp32 and fp32+zstd.
enum class Codec { fp32, fp16, int8, fp32_zstd, fp16_zstd, int8_zstd };

inline constexpr std::size_t k_codec_count = 6;
inline constexpr std::array<Codec, k_codec_count> k_codecs{Codec::fp32,      Codec::fp16,      Codec::int8,
                                                           Codec::fp32_zstd, Codec::fp16_zstd, Codec::int8_zstd};

/// fp32, fp16 or int8: the codec without zstd.
Codec precision_of(Codec codec);
/// True for the +zstd codecs.
bool uses_zstd(Codec codec);
/// True when decoding gives back exactly what was encoded (fp32, fp32+zstd).
bool is_lossless(Codec codec);

/// What a codec costs, per MB (10^6 bytes) of the tensor as it is in memory.
/// The planner adds encode + decode time to each tensor's transfer time and,
/// for zstd, expects `zstd_ratio` × the precision's bytes on the wire (a prior
/// measured on activations: compressibility depends on the data, which is not
/// known at planning time).
struct CodecPrice {
  double encode_ms_per_mb = 0;  // on the sender
  double decode_ms_per_mb = 0;  // on the receiver
  double zstd_ratio = 1;        // bytes after zstd / before; 1 for codecs without zstd
  friend bool operator==(const CodecPrice&, const CodecPrice&) = default;
};
using CodecPrices = std::array<CodecPrice, k_codec_count>;  // indexed by Codec

/// Prices measured on the development VM (bench/joint.sh → bench/results/joint/
/// prices.csv, README "Compressed crossings"); fp32 is free.
CodecPrices default_codec_prices();
/// Every codec free and zstd_ratio 1: the cost model before codecs were priced (tests).
CodecPrices free_codec_prices();

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
  // What one run costs a side beyond its nodes (the device profile's cold
  // start, docs/design.md §9): paid once by a side that computes any node.
  double edge_run_ms = 0.0;
  double cloud_run_ms = 0.0;
  Codec codec = Codec::fp32;
  CodecPrices codec_prices = default_codec_prices();
  EdgePower power;
  // Nodes that must run on the edge (a privacy floor, partition/privacy.hpp):
  // empty, or graph.size() entries closed under predecessors. Every optimiser
  // returns a cut containing them; make_plan refuses a cut that does not.
  std::vector<bool> edge_pinned;
};

/// Every term of docs/design.md §4 for one cut.
struct Breakdown {
  double edge_ms = 0;              // Σ_{v∈S} e_v, plus edge_run_ms when S computes a node
  std::int64_t upload_bytes = 0;   // Σ crossing tensors, expected on the wire (codec applied)
  double upload_ms = 0;            // upload_bytes / B_up + encode/decode time of those tensors
  double rtt_ms = 0;               // r, when anything is sent
  double cloud_wait_ms = 0;        // w, when anything is sent
  double cloud_ms = 0;             // Σ_{v∉S} c_v, plus cloud_run_ms when anything is sent
  std::int64_t download_bytes = 0; // outputs of cloud sinks, on the wire
  double download_ms = 0;          // download_bytes / B_down + encode/decode time of those tensors
  double codec_ms = 0;             // encode + decode time, both directions (inside upload_ms and download_ms)
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
/// negative RTT, wait or power, a negative or non-finite codec price or a zstd
/// ratio outside (0, 1.1], an edge_pinned mask of the wrong size, without the
/// inputs or not closed under predecessors.
void validate(const GraphDesc& graph, const CostModel& model);

/// Bytes a node's output tensor takes on the wire under `codec` before zstd
/// (zstd codecs: the most they send, less the frame overhead).
std::int64_t wire_bytes(const Node& node, Codec codec);
/// Bytes the cost model expects on the wire: wire_bytes(), × the zstd ratio for zstd codecs.
double expected_wire_bytes(const Node& node, const CostModel& model);
/// Encode + decode time of a node's output under the model's codec (ms).
double codec_ms(const Node& node, const CostModel& model);
/// What sending a node's output edge -> cloud costs: expected bytes / B_up + codec time (ms).
double upload_ms(const Node& node, const CostModel& model);
/// The same cloud -> edge: expected bytes / B_down + codec time (ms).
double download_ms(const Node& node, const CostModel& model);

/// Exact breakdown of `cut` per docs/design.md §4. Assumes a valid cut and model
/// (validate() them first); O(nodes + edges). S == all sends nothing: no RTT,
/// no wait, no transfer.
Breakdown evaluate(const GraphDesc& graph, const CostModel& model, const Cut& cut);

/// What crosses the link for one cut, summed over its tensors.
struct Transfer {
  double upload_bytes = 0, upload_codec_ms = 0;      // crossing tensors
  double download_bytes = 0, download_codec_ms = 0;  // outputs of cloud sinks
};

/// The breakdown of a cut from its sums: edge and cloud compute and what
/// crosses the link. `edge_only` plans send nothing; `edge_computes` is false
/// only for a cut with no computed node on the edge. evaluate() uses it.
Breakdown compose_breakdown(const CostModel& model, bool edge_only, bool edge_computes, double edge_ms,
                            const Transfer& transfer, double cloud_ms);

/// evaluate(...).total_ms.
double latency(const GraphDesc& graph, const CostModel& model, const Cut& cut);
/// evaluate(...).energy_mj.
double energy(const GraphDesc& graph, const CostModel& model, const Cut& cut);
/// evaluate(...).period_ms.
double period(const GraphDesc& graph, const CostModel& model, const Cut& cut);

/// "fp32", "fp16", "int8", "fp32+zstd", "fp16+zstd", "int8+zstd".
std::string_view to_string(Codec codec);
/// Parses those names; std::nullopt otherwise.
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
