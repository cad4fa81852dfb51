#pragma once
// Cuts of a graph: which nodes run on the edge.
//
// A cut is a set S of nodes run on the edge, closed under predecessors. The
// input nodes are always in S: they are where the inputs live. S == all is
// edge-only; S == the inputs is cloud-only (the raw inputs are uploaded).

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "models/graph.hpp"

namespace tandem {

class Cut {
 public:
  /// Builds a cut from a membership mask (size == graph.size()) of a graph
  /// with `inputs` input nodes. Does not validate: call validate() or use the
  /// checked factories below.
  explicit Cut(std::vector<bool> on_edge, std::size_t inputs = 1)
      : on_edge_(std::move(on_edge)), inputs_(inputs) {}
  /// The same for a mask of `graph`.
  Cut(const GraphDesc& graph, std::vector<bool> on_edge) : Cut(std::move(on_edge), graph.input_count()) {}

  static Cut edge_only(const GraphDesc& graph);
  static Cut cloud_only(const GraphDesc& graph);
  /// The predecessor closure of `nodes` plus the inputs. Always valid.
  static Cut closure_of(const GraphDesc& graph, const std::vector<NodeId>& nodes);
  /// For a chain: the first `split` nodes after the input run on the edge
  /// (0 == cloud-only, graph.size()-1 == edge-only). Throws std::out_of_range.
  static Cut chain_prefix(const GraphDesc& graph, std::size_t split);

  bool on_edge(NodeId id) const { return on_edge_.at(static_cast<std::size_t>(id)); }
  const std::vector<bool>& mask() const { return on_edge_; }
  /// Number of nodes on the edge, the inputs included.
  std::size_t edge_count() const;
  /// Nodes computed on the edge (the inputs excluded).
  std::size_t computed_on_edge() const { return edge_count() - inputs_; }
  /// Number of input nodes of the graph the cut belongs to.
  std::size_t inputs() const { return inputs_; }
  bool is_edge_only() const;
  bool is_cloud_only() const;  // only the inputs on the edge
  /// Edge node ids, ascending.
  std::vector<NodeId> edge_nodes() const;

  /// Empty string when the cut is valid for `graph`; otherwise why not
  /// (wrong size, an input not on the edge, or the first node whose producer
  /// is in the cloud).
  std::string validate(const GraphDesc& graph) const;
  /// Throws std::invalid_argument with validate()'s message when invalid.
  void check(const GraphDesc& graph) const;

  /// Producers on the edge with at least one consumer in the cloud, ascending;
  /// each tensor once however many consumers it has. Assumes a valid cut.
  std::vector<NodeId> crossing(const GraphDesc& graph) const;
  /// Sum of output bytes of crossing(); the upload volume.
  std::int64_t crossing_bytes(const GraphDesc& graph) const;
  /// Sinks computed in the cloud (their outputs are downloaded), ascending.
  std::vector<NodeId> cloud_sinks(const GraphDesc& graph) const;

  /// Compact text form: "edge_only", "cloud_only", or the edge node ids as
  /// comma-separated ranges ("0-12,15").
  std::string to_string() const;
  /// Inverse of to_string(); throws std::invalid_argument on bad text.
  static Cut parse(const GraphDesc& graph, const std::string& text);

  friend bool operator==(const Cut&, const Cut&) = default;

 private:
  std::vector<bool> on_edge_;
  std::size_t inputs_ = 1;
};

/// Calls `visit` once for every closed cut of `graph`. Throws
/// std::length_error once more than `limit` cuts have been produced (DAGs have
/// exponentially many; meant for small graphs and chains).
void for_each_closed_cut(const GraphDesc& graph, const std::function<void(const Cut&)>& visit,
                         std::size_t limit = 1'000'000);
/// All closed cuts (see for_each_closed_cut for the limit).
std::vector<Cut> enumerate_closed_cuts(const GraphDesc& graph, std::size_t limit = 1'000'000);

/// Cuts across which exactly one tensor crosses, produced by a node that all
/// later nodes depend on (the cut after an articulation point), plus
/// cloud-only and edge-only. Ascending by edge size.
std::vector<Cut> articulation_cuts(const GraphDesc& graph);

/// A random closed cut: the closure of a random subset of nodes.
Cut random_closed_cut(const GraphDesc& graph, std::mt19937_64& rng);

}  // namespace tandem
