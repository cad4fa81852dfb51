#pragma once
// The privacy floor: a constraint that nothing computed before a given point
// of the graph leaves the edge, so raw inputs and shallow features (which can
// be inverted back into the input) are never sent (docs/design.md §14).
//
// A floor names *protected* nodes, whose outputs must never cross:
//  * layers:N — nodes fewer than N weight layers (conv2d, linear) from the
//    inputs along *some* path. A tensor that may be sent has passed through
//    at least N weight layers on every path from an input, so a skip
//    connection carrying a shallower tensor forward keeps its consumers on
//    the edge too. The inputs are at depth 0: layers:1 alone means the raw
//    input is never sent.
//  * node:NAME (or node:ID) — the strict ancestors of that node: nothing
//    computed before it is sent. The node itself runs on the edge and its
//    output may cross.
// The optimisers see the floor as a set of nodes pinned to the edge: the
// protected nodes and every consumer of a protected node (so no protected
// tensor has a cloud consumer), closed under predecessors. Every cut that
// contains that set sends no protected tensor, and every cut that sends none
// contains it, so pinning loses no plan the floor allows.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/cut.hpp"
#include "models/graph.hpp"

namespace tandem::partition {

struct PrivacyFloor {
  std::size_t layers = 0;          // 0: no depth floor
  std::vector<std::string> nodes;  // node names or ids; nothing before each is sent

  bool empty() const { return layers == 0 && nodes.empty(); }
  friend bool operator==(const PrivacyFloor&, const PrivacyFloor&) = default;
};

/// Parses "none" (or ""), or comma-separated terms "layers:N" and
/// "node:NAME"; several terms all apply. Throws std::invalid_argument naming
/// the term.
PrivacyFloor parse_privacy_floor(std::string_view text);
/// The text parse_privacy_floor reads ("none" when empty).
std::string to_string(const PrivacyFloor& floor);
/// Both floors at once: the larger depth, every node.
PrivacyFloor merged(const PrivacyFloor& a, const PrivacyFloor& b);
/// A floor travels as its text; from_json throws std::invalid_argument like parse_privacy_floor.
void to_json(nlohmann::json& j, const PrivacyFloor& floor);
void from_json(const nlohmann::json& j, PrivacyFloor& floor);

/// Per node, the fewest weight layers (conv2d, linear) on any path from an
/// input to it, itself included; inputs are 0.
std::vector<std::size_t> weight_layer_depths(const GraphDesc& graph);
/// Per node, whether the floor forbids sending its output. Throws
/// std::invalid_argument naming a node the graph does not have.
std::vector<bool> protected_nodes(const GraphDesc& graph, const PrivacyFloor& floor);
/// The nodes the floor pins to the edge (see above), as CostModel::edge_pinned
/// wants them: empty for an empty floor, else graph.size() entries closed
/// under predecessors. Throws std::invalid_argument like protected_nodes.
std::vector<bool> privacy_pinned(const GraphDesc& graph, const PrivacyFloor& floor);

/// Empty when `cut` holds every node of `pinned` (empty `pinned`: always);
/// otherwise a message naming the first pinned node the cut leaves in the cloud.
std::string pinned_violation(const GraphDesc& graph, const std::vector<bool>& pinned, const Cut& cut);
/// Empty when no crossing tensor of `cut` (a valid cut) is protected by
/// `floor`; otherwise a message naming the first one. Throws like protected_nodes.
std::string privacy_violation(const GraphDesc& graph, const PrivacyFloor& floor, const Cut& cut);

}  // namespace tandem::partition
