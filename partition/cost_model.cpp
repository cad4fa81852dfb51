#include "partition/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tandem::partition {
namespace {

constexpr double k_ms_per_s = 1000.0;

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
  const auto& p = model.power;
  require(std::isfinite(p.compute_w) && p.compute_w >= 0, "compute power must be finite and >= 0 W", p.compute_w);
  require(std::isfinite(p.transmit_w) && p.transmit_w >= 0, "transmit power must be finite and >= 0 W", p.transmit_w);
  require(std::isfinite(p.idle_w) && p.idle_w >= 0, "idle power must be finite and >= 0 W", p.idle_w);
}

std::int64_t wire_bytes(const Node& node, Codec codec) {
  if (codec == Codec::fp16 && node.dtype == DType::f32) return node.output_bytes / 2;
  return node.output_bytes;
}

Breakdown compose_breakdown(const CostModel& model, bool edge_only, double edge_ms,
                            std::int64_t upload_bytes, double cloud_ms, std::int64_t download_bytes) {
  Breakdown b;
  b.edge_ms = edge_ms;
  if (edge_only) {
    b.total_ms = b.edge_ms;
    b.energy_mj = model.power.compute_w * b.edge_ms;
    b.period_ms = b.edge_ms;
    return b;
  }
  b.upload_bytes = upload_bytes;
  b.download_bytes = download_bytes;
  b.cloud_ms = cloud_ms;
  b.upload_ms = static_cast<double>(upload_bytes) * k_ms_per_s / model.link.uplink_bytes_per_s;
  b.download_ms = static_cast<double>(download_bytes) * k_ms_per_s / model.link.downlink_bytes_per_s;
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
  for (std::size_t v = graph.input_count(); v < graph.size(); ++v) {
    if (on_edge[v]) {
      edge_ms += model.edge_ms[v];
    } else {
      all_on_edge = false;
      cloud_ms += model.cloud_ms[v];
    }
  }
  if (all_on_edge) return compose_breakdown(model, true, edge_ms, 0, 0, 0);
  std::int64_t upload_bytes = 0;
  for (std::size_t v = 0; v < graph.size(); ++v) {
    if (!on_edge[v]) continue;
    const auto& cons = graph.consumers(static_cast<NodeId>(v));
    const bool crosses = std::any_of(cons.begin(), cons.end(),
                                     [&](NodeId c) { return !on_edge[static_cast<std::size_t>(c)]; });
    if (crosses) upload_bytes += wire_bytes(graph.nodes()[v], model.codec);
  }
  std::int64_t download_bytes = 0;
  for (NodeId s : graph.sinks()) {
    if (!on_edge[static_cast<std::size_t>(s)]) download_bytes += wire_bytes(graph.node(s), model.codec);
  }
  return compose_breakdown(model, false, edge_ms, upload_bytes, cloud_ms, download_bytes);
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

std::string_view to_string(Codec codec) { return codec == Codec::fp16 ? "fp16" : "fp32"; }

std::optional<Codec> codec_from_string(std::string_view text) {
  if (text == "fp32") return Codec::fp32;
  if (text == "fp16") return Codec::fp16;
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
  codec = enum_from_json<Codec>(j, codec_from_string, "fp32 or fp16");
}

nlohmann::json to_json(const Breakdown& b) {
  return {{"edge_ms", b.edge_ms},         {"upload_bytes", b.upload_bytes},
          {"upload_ms", b.upload_ms},     {"rtt_ms", b.rtt_ms},
          {"cloud_wait_ms", b.cloud_wait_ms}, {"cloud_ms", b.cloud_ms},
          {"download_bytes", b.download_bytes}, {"download_ms", b.download_ms},
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
    b.total_ms = j.at("total_ms").get<double>();
    b.energy_mj = j.at("energy_mj").get<double>();
    b.period_ms = j.at("period_ms").get<double>();
    return b;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("breakdown JSON: {}", e.what()));
  }
}

}  // namespace tandem::partition
