#include "partition/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tandem::partition {
namespace {

constexpr double k_ms_per_s = 1000.0;
constexpr double k_bytes_per_mb = 1e6;
// zstd may add a few bytes of framing to incompressible data; a larger ratio
// is a mistake in the prices.
constexpr double k_max_zstd_ratio = 1.1;

void require(bool ok, std::string_view what, double value) {
  if (!ok) throw std::invalid_argument(fmt::format("cost model: {} (got {})", what, value));
}

void check_costs(const GraphDesc& graph, const std::vector<double>& costs, std::string_view side) {
  if (costs.size() != graph.size()) {
    throw std::invalid_argument(fmt::format("cost model: {} costs have {} entries but graph '{}' has {} nodes",
                                            side, costs.size(), graph.name(), graph.size()));
  }
  for (std::size_t i = graph.input_count(); i < costs.size(); ++i) {
    if (!std::isfinite(costs[i]) || costs[i] < 0) {
      throw std::invalid_argument(fmt::format("cost model: {} cost of node {} '{}' must be finite and >= 0 (got {})",
                                              side, i, graph.nodes()[i].name, costs[i]));
    }
  }
}

}  // namespace

void validate(const GraphDesc& graph, const CostModel& model) {
  if (graph.size() == 0) throw std::invalid_argument("cost model: the graph has no nodes");
  check_costs(graph, model.edge_ms, "edge");
  check_costs(graph, model.cloud_ms, "cloud");
  const auto& l = model.link;
  require(std::isfinite(l.uplink_bytes_per_s) && l.uplink_bytes_per_s > 0,
          "uplink bandwidth must be finite and > 0 bytes/s", l.uplink_bytes_per_s);
  require(std::isfinite(l.downlink_bytes_per_s) && l.downlink_bytes_per_s > 0,
          "downlink bandwidth must be finite and > 0 bytes/s", l.downlink_bytes_per_s);
  require(std::isfinite(l.rtt_ms) && l.rtt_ms >= 0, "RTT must be finite and >= 0 ms", l.rtt_ms);
  require(std::isfinite(model.cloud_wait_ms) && model.cloud_wait_ms >= 0,
          "cloud wait must be finite and >= 0 ms", model.cloud_wait_ms);
  require(std::isfinite(model.edge_run_ms) && model.edge_run_ms >= 0,
          "edge run cost must be finite and >= 0 ms", model.edge_run_ms);
  require(std::isfinite(model.cloud_run_ms) && model.cloud_run_ms >= 0,
          "cloud run cost must be finite and >= 0 ms", model.cloud_run_ms);
  const auto& p = model.power;
  require(std::isfinite(p.compute_w) && p.compute_w >= 0, "compute power must be finite and >= 0 W", p.compute_w);
  require(std::isfinite(p.transmit_w) && p.transmit_w >= 0, "transmit power must be finite and >= 0 W", p.transmit_w);
  require(std::isfinite(p.idle_w) && p.idle_w >= 0, "idle power must be finite and >= 0 W", p.idle_w);
  for (Codec c : k_codecs) {
    const CodecPrice& price = model.codec_prices[static_cast<std::size_t>(c)];
    const auto name = to_string(c);
    for (double v : {price.encode_ms_per_mb, price.decode_ms_per_mb}) {
      if (!std::isfinite(v) || v < 0) {
        throw std::invalid_argument(fmt::format(
            "cost model: {} encode and decode prices must be finite and >= 0 ms/MB (got {})", name, v));
      }
    }
    if (!(price.zstd_ratio > 0 && price.zstd_ratio <= k_max_zstd_ratio)) {
      throw std::invalid_argument(fmt::format("cost model: {} zstd ratio must be in (0, {}] (got {})", name,
                                              k_max_zstd_ratio, price.zstd_ratio));
    }
  }
  if (!model.edge_pinned.empty()) {
    if (model.edge_pinned.size() != graph.size()) {
      throw std::invalid_argument(fmt::format("cost model: edge_pinned has {} entries but graph '{}' has {} nodes",
                                              model.edge_pinned.size(), graph.name(), graph.size()));
    }
    for (std::size_t v = 0; v < graph.size(); ++v) {
      if (graph.is_input(static_cast<NodeId>(v)) && !model.edge_pinned[v]) {
        throw std::invalid_argument(fmt::format("cost model: edge_pinned leaves input node {} out", v));
      }
      if (!model.edge_pinned[v]) continue;
      for (NodeId u : graph.nodes()[v].inputs) {
        if (!model.edge_pinned[static_cast<std::size_t>(u)]) {
          throw std::invalid_argument(fmt::format(
              "cost model: edge_pinned is not closed: node {} '{}' is pinned but its producer {} is not", v,
              graph.nodes()[v].name, u));
        }
      }
    }
  }
}

Codec precision_of(Codec codec) {
  switch (codec) {
    case Codec::fp32:
    case Codec::fp32_zstd:
      return Codec::fp32;
    case Codec::fp16:
    case Codec::fp16_zstd:
      return Codec::fp16;
    case Codec::int8:
    case Codec::int8_zstd:
      return Codec::int8;
  }
  return Codec::fp32;
}

bool uses_zstd(Codec codec) { return codec != precision_of(codec); }

bool is_lossless(Codec codec) { return precision_of(codec) == Codec::fp32; }

CodecPrices free_codec_prices() { return {}; }

CodecPrices default_codec_prices() {
  // Measured by bench/joint.sh over every cut of the trained Fashion-MNIST
  // model on the shared 2-core development VM (load average about 11): the
  // mean of two runs' prices.csv on 2026-12-02 (bench/results/joint/ holds
  // one), each minus that file's fp32 row — the framing every codec pays, which
  // the cost model does not count. Encode and decode per MB of f32 tensor;
  // timings on this machine move by about 20% between runs.
  CodecPrices p{};
  auto set = [&](Codec c, double encode, double decode, double ratio) {
    p[static_cast<std::size_t>(c)] = {encode, decode, ratio};
  };
  set(Codec::fp32, 0, 0, 1);
  set(Codec::fp16, 0.53, 0.75, 1);
  set(Codec::int8, 1.0, 0.30, 1);
  set(Codec::fp32_zstd, 3.9, 1.1, 0.61);
  set(Codec::fp16_zstd, 2.8, 1.4, 0.64);
  set(Codec::int8_zstd, 2.3, 0.73, 0.70);
  return p;
}

std::int64_t wire_bytes(const Node& node, Codec codec) {
  if (node.dtype != DType::f32) return node.output_bytes;
  switch (precision_of(codec)) {
    case Codec::fp16:
      return node.output_bytes / 2;
    case Codec::int8: {
      // One byte per element, an f32 offset and scale per channel (dim 1 of rank >= 3).
      const std::int64_t channels = node.out_shape.size() >= 3 ? node.out_shape[1] : 1;
      return node.out_numel() + 8 * channels;
    }
    default:
      return node.output_bytes;
  }
}

double expected_wire_bytes(const Node& node, const CostModel& model) {
  const double bytes = static_cast<double>(wire_bytes(node, model.codec));
  return uses_zstd(model.codec) ? bytes * model.codec_prices[static_cast<std::size_t>(model.codec)].zstd_ratio : bytes;
}

double codec_ms(const Node& node, const CostModel& model) {
  const CodecPrice& p = model.codec_prices[static_cast<std::size_t>(model.codec)];
  return static_cast<double>(node.output_bytes) / k_bytes_per_mb * (p.encode_ms_per_mb + p.decode_ms_per_mb);
}

double upload_ms(const Node& node, const CostModel& model) {
  return expected_wire_bytes(node, model) * k_ms_per_s / model.link.uplink_bytes_per_s + codec_ms(node, model);
}

double download_ms(const Node& node, const CostModel& model) {
  return expected_wire_bytes(node, model) * k_ms_per_s / model.link.downlink_bytes_per_s + codec_ms(node, model);
}

Breakdown compose_breakdown(const CostModel& model, bool edge_only, bool edge_computes, double edge_ms,
                            const Transfer& transfer, double cloud_ms) {
  Breakdown b;
  b.edge_ms = edge_ms + (edge_computes ? model.edge_run_ms : 0.0);
  if (edge_only) {
    b.total_ms = b.edge_ms;
    b.energy_mj = model.power.compute_w * b.edge_ms;
    b.period_ms = b.edge_ms;
    return b;
  }
  b.upload_bytes = std::llround(transfer.upload_bytes);
  b.download_bytes = std::llround(transfer.download_bytes);
  b.cloud_ms = cloud_ms + model.cloud_run_ms;
  b.codec_ms = transfer.upload_codec_ms + transfer.download_codec_ms;
  b.upload_ms = transfer.upload_bytes * k_ms_per_s / model.link.uplink_bytes_per_s + transfer.upload_codec_ms;
  b.download_ms =
      transfer.download_bytes * k_ms_per_s / model.link.downlink_bytes_per_s + transfer.download_codec_ms;
  b.rtt_ms = model.link.rtt_ms;
  b.cloud_wait_ms = model.cloud_wait_ms;
  const double waiting_ms = b.rtt_ms + b.cloud_wait_ms + b.cloud_ms + b.download_ms;
  b.total_ms = b.edge_ms + b.upload_ms + waiting_ms;
  b.energy_mj = model.power.compute_w * b.edge_ms + model.power.transmit_w * b.upload_ms +
                model.power.idle_w * waiting_ms;
  b.period_ms = std::max({b.edge_ms, b.upload_ms, b.cloud_ms});
  return b;
}

Breakdown evaluate(const GraphDesc& graph, const CostModel& model, const Cut& cut) {
  const auto& on_edge = cut.mask();
  double edge_ms = 0;
  double cloud_ms = 0;
  bool all_on_edge = true;
  bool edge_computes = false;
  for (std::size_t v = graph.input_count(); v < graph.size(); ++v) {
    if (on_edge[v]) {
      edge_ms += model.edge_ms[v];
      edge_computes = true;
    } else {
      all_on_edge = false;
      cloud_ms += model.cloud_ms[v];
    }
  }
  if (all_on_edge) return compose_breakdown(model, true, edge_computes, edge_ms, {}, 0);
  Transfer transfer;
  for (std::size_t v = 0; v < graph.size(); ++v) {
    if (!on_edge[v]) continue;
    const auto& cons = graph.consumers(static_cast<NodeId>(v));
    const bool crosses = std::any_of(cons.begin(), cons.end(),
                                     [&](NodeId c) { return !on_edge[static_cast<std::size_t>(c)]; });
    if (crosses) {
      transfer.upload_bytes += expected_wire_bytes(graph.nodes()[v], model);
      transfer.upload_codec_ms += codec_ms(graph.nodes()[v], model);
    }
  }
  for (NodeId s : graph.sinks()) {
    if (on_edge[static_cast<std::size_t>(s)]) continue;
    transfer.download_bytes += expected_wire_bytes(graph.node(s), model);
    transfer.download_codec_ms += codec_ms(graph.node(s), model);
  }
  return compose_breakdown(model, false, edge_computes, edge_ms, transfer, cloud_ms);
}

double latency(const GraphDesc& graph, const CostModel& model, const Cut& cut) {
  return evaluate(graph, model, cut).total_ms;
}

double energy(const GraphDesc& graph, const CostModel& model, const Cut& cut) {
  return evaluate(graph, model, cut).energy_mj;
}

double period(const GraphDesc& graph, const CostModel& model, const Cut& cut) {
  return evaluate(graph, model, cut).period_ms;
}

double objective_value(const Breakdown& breakdown, Objective objective) {
  switch (objective) {
    case Objective::latency:
    case Objective::makespan:
      return breakdown.total_ms;
    case Objective::energy:
      return breakdown.energy_mj;
    case Objective::throughput:
      return breakdown.period_ms;
  }
  throw std::invalid_argument("unknown objective");
}

std::string_view to_string(Objective objective) {
  switch (objective) {
    case Objective::latency:
      return "latency";
    case Objective::energy:
      return "energy";
    case Objective::throughput:
      return "throughput";
    case Objective::makespan:
      return "makespan";
  }
  return "unknown";
}

std::optional<Objective> objective_from_string(std::string_view text) {
  for (Objective o : {Objective::latency, Objective::energy, Objective::throughput, Objective::makespan}) {
    if (to_string(o) == text) return o;
  }
  return std::nullopt;
}

std::string_view to_string(Codec codec) {
  switch (codec) {
    case Codec::fp32: return "fp32";
    case Codec::fp16: return "fp16";
    case Codec::int8: return "int8";
    case Codec::fp32_zstd: return "fp32+zstd";
    case Codec::fp16_zstd: return "fp16+zstd";
    case Codec::int8_zstd: return "int8+zstd";
  }
  return "unknown";
}

std::optional<Codec> codec_from_string(std::string_view text) {
  for (Codec c : k_codecs) {
    if (to_string(c) == text) return c;
  }
  return std::nullopt;
}

namespace {

// Reads an enum's name from JSON; anything else names the accepted values.
template <typename Enum, typename Parse>
Enum enum_from_json(const nlohmann::json& j, Parse parse, std::string_view accepted) {
  if (j.is_string()) {
    const auto& text = j.get_ref<const std::string&>();
    if (const auto value = parse(text)) return *value;
    throw std::invalid_argument(fmt::format("'{}' is not {}", text.substr(0, 64), accepted));
  }
  throw std::invalid_argument(fmt::format("expected {}", accepted));
}

}  // namespace

void to_json(nlohmann::json& j, Objective objective) { j = to_string(objective); }

void from_json(const nlohmann::json& j, Objective& objective) {
  objective = enum_from_json<Objective>(j, objective_from_string, "latency, energy, throughput or makespan");
}

void to_json(nlohmann::json& j, Codec codec) { j = to_string(codec); }

void from_json(const nlohmann::json& j, Codec& codec) {
  codec = enum_from_json<Codec>(j, codec_from_string, "fp32, fp16, int8, fp32+zstd, fp16+zstd or int8+zstd");
}

nlohmann::json to_json(const Breakdown& b) {
  return {{"edge_ms", b.edge_ms},         {"upload_bytes", b.upload_bytes},
          {"upload_ms", b.upload_ms},     {"rtt_ms", b.rtt_ms},
          {"cloud_wait_ms", b.cloud_wait_ms}, {"cloud_ms", b.cloud_ms},
          {"download_bytes", b.download_bytes}, {"download_ms", b.download_ms},
          {"codec_ms", b.codec_ms},
          {"total_ms", b.total_ms},       {"energy_mj", b.energy_mj},
          {"period_ms", b.period_ms}};
}

Breakdown breakdown_from_json(const nlohmann::json& j) {
  try {
    Breakdown b;
    b.edge_ms = j.at("edge_ms").get<double>();
    b.upload_bytes = j.at("upload_bytes").get<std::int64_t>();
    b.upload_ms = j.at("upload_ms").get<double>();
    b.rtt_ms = j.at("rtt_ms").get<double>();
    b.cloud_wait_ms = j.at("cloud_wait_ms").get<double>();
    b.cloud_ms = j.at("cloud_ms").get<double>();
    b.download_bytes = j.at("download_bytes").get<std::int64_t>();
    b.download_ms = j.at("download_ms").get<double>();
    b.codec_ms = j.value("codec_ms", 0.0);  // absent in plans written before codecs were priced
    b.total_ms = j.at("total_ms").get<double>();
    b.energy_mj = j.at("energy_mj").get<double>();
    b.period_ms = j.at("period_ms").get<double>();
    return b;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("breakdown JSON: {}", e.what()));
  }
}

}  // namespace tandem::partition
