#include "partition/privacy.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tandem::partition {
namespace {

constexpr std::size_t k_max_floor_terms = 64;
constexpr std::size_t k_max_floor_layers = 1'000'000;

bool is_weight_layer(OpKind kind) { return kind == OpKind::conv2d || kind == OpKind::linear; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

NodeId resolve(const GraphDesc& graph, const std::string& text) {
  for (const Node& n : graph.nodes()) {
    if (n.name == text) return n.id;
  }
  std::size_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size() && id < graph.size()) {
    return static_cast<NodeId>(id);
  }
  throw std::invalid_argument(fmt::format("privacy floor: model '{}' has no node '{}' (a node name or an id 0..{})",
                                          graph.name(), text.substr(0, 128), graph.size() - 1));
}

}  // namespace

PrivacyFloor parse_privacy_floor(std::string_view text) {
  PrivacyFloor floor;
  text = trim(text);
  if (text.empty() || text == "none") return floor;
  std::size_t terms = 0;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view term = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (++terms > k_max_floor_terms) {
      throw std::invalid_argument(fmt::format("privacy floor: more than {} terms", k_max_floor_terms));
    }
    if (term.starts_with("layers:")) {
      const std::string_view n = term.substr(7);
      std::size_t layers = 0;
      const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), layers);
      if (n.empty() || ec != std::errc() || end != n.data() + n.size() || layers > k_max_floor_layers) {
        throw std::invalid_argument(
            fmt::format("privacy floor '{}': layers:N needs a whole number N", std::string(term.substr(0, 64))));
      }
      floor.layers = std::max(floor.layers, layers);
    } else if (term.starts_with("node:") && term.size() > 5) {
      floor.nodes.emplace_back(term.substr(5));
    } else {
      throw std::invalid_argument(fmt::format("privacy floor term '{}' is not none, layers:N or node:NAME",
                                              std::string(term.substr(0, 64))));
    }
  }
  return floor;
}

std::string to_string(const PrivacyFloor& floor) {
  if (floor.empty()) return "none";
  std::string out;
  if (floor.layers > 0) out = fmt::format("layers:{}", floor.layers);
  for (const auto& n : floor.nodes) out += (out.empty() ? "node:" : ",node:") + n;
  return out;
}

PrivacyFloor merged(const PrivacyFloor& a, const PrivacyFloor& b) {
  PrivacyFloor out = a;
  out.layers = std::max(a.layers, b.layers);
  for (const auto& n : b.nodes) {
    if (std::find(out.nodes.begin(), out.nodes.end(), n) == out.nodes.end()) out.nodes.push_back(n);
  }
  return out;
}

void to_json(nlohmann::json& j, const PrivacyFloor& floor) { j = to_string(floor); }

void from_json(const nlohmann::json& j, PrivacyFloor& floor) {
  if (!j.is_string()) throw std::invalid_argument("expected none, layers:N or node:NAME");
  floor = parse_privacy_floor(j.get_ref<const std::string&>());
}

std::vector<std::size_t> weight_layer_depths(const GraphDesc& graph) {
  std::vector<std::size_t> depth(graph.size(), 0);
  for (const Node& n : graph.nodes()) {  // topological order
    if (graph.is_input(n.id)) continue;
    std::size_t shallowest = std::numeric_limits<std::size_t>::max();
    for (NodeId u : n.inputs) shallowest = std::min(shallowest, depth[static_cast<std::size_t>(u)]);
    depth[static_cast<std::size_t>(n.id)] = shallowest + (is_weight_layer(n.kind) ? 1 : 0);
  }
  return depth;
}

std::vector<bool> protected_nodes(const GraphDesc& graph, const PrivacyFloor& floor) {
  std::vector<bool> out(graph.size(), false);
  if (floor.layers > 0) {
    const auto depth = weight_layer_depths(graph);
    for (std::size_t v = 0; v < graph.size(); ++v) out[v] = depth[v] < floor.layers;
  }
  for (const auto& name : floor.nodes) {
    // The strict ancestors of the node: walk producers back from it.
    const NodeId target = resolve(graph, name);
    std::vector<bool> seen(graph.size(), false);
    std::vector<NodeId> stack(graph.node(target).inputs.begin(), graph.node(target).inputs.end());
    while (!stack.empty()) {
      const NodeId u = stack.back();
      stack.pop_back();
      if (seen[static_cast<std::size_t>(u)]) continue;
      seen[static_cast<std::size_t>(u)] = true;
      out[static_cast<std::size_t>(u)] = true;
      for (NodeId p : graph.node(u).inputs) stack.push_back(p);
    }
  }
  return out;
}

std::vector<bool> privacy_pinned(const GraphDesc& graph, const PrivacyFloor& floor) {
  if (floor.empty()) return {};
  const auto guarded = protected_nodes(graph, floor);
  std::vector<NodeId> pinned;
  for (std::size_t v = 0; v < graph.size(); ++v) {
    if (!guarded[v]) continue;
    pinned.push_back(static_cast<NodeId>(v));
    for (NodeId c : graph.consumers(static_cast<NodeId>(v))) pinned.push_back(c);
  }
  return Cut::closure_of(graph, pinned).mask();
}

std::string pinned_violation(const GraphDesc& graph, const std::vector<bool>& pinned, const Cut& cut) {
  for (std::size_t v = 0; v < pinned.size() && v < graph.size(); ++v) {
    if (pinned[v] && !cut.mask()[v]) {
      return fmt::format("cut {} of '{}' runs node {} '{}' in the cloud, but the privacy floor keeps it on the edge",
                         cut.to_string(), graph.name(), v, graph.nodes()[v].name);
    }
  }
  return {};
}

std::string privacy_violation(const GraphDesc& graph, const PrivacyFloor& floor, const Cut& cut) {
  const auto guarded = protected_nodes(graph, floor);
  for (NodeId id : cut.crossing(graph)) {
    if (guarded[static_cast<std::size_t>(id)]) {
      return fmt::format("cut {} of '{}' sends the output of node {} '{}', which the privacy floor {} protects",
                         cut.to_string(), graph.name(), id, graph.node(id).name, to_string(floor));
    }
  }
  return {};
}

}  // namespace tandem::partition
