#pragma once
// Predicted latencies of nodes and of the two sides of a cut on one device.
//
// A node known to the profile's measured table — same model, same node name,
// same kind and shapes — gets its measured in-context median; any other node
// gets the regression of its class. Immutable after construction; safe to
// call from several threads.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "predictor/profile.hpp"

namespace tandem::predictor {

class Predictor {
 public:
  /// Takes the profile as loaded (no refit). Does not throw.
  explicit Predictor(DeviceProfile profile);

  const DeviceProfile& profile() const { return profile_; }

  /// Predicted ms of node `id` of `graph` (0 for the input node and for a
  /// batch norm the executor folds into its convolution, models/fusion.hpp):
  /// the measured table when (model, node) is known with the same shapes,
  /// the regression otherwise. Throws std::out_of_range when the profile has no regressor for
  /// the node's class.
  double node_ms(const GraphDesc& graph, NodeId id) const;
  /// node_ms for every node of `graph`, indexed by node id.
  std::vector<double> node_ms(const GraphDesc& graph) const;
  /// The regression alone (ignores the measured table).
  double regression_ms(const GraphDesc& graph, NodeId id) const;
  /// True when node `id` of `graph` is answered from the measured table.
  bool in_table(const GraphDesc& graph, NodeId id) const;

  /// Overhead of one run computing `nodes` nodes whose predictions sum to
  /// `node_ms` (0 for none): the fraction plus the cold start; see RunOverhead.
  double run_overhead_ms(std::size_t nodes, double node_ms, bool cold_in_table = false) const;
  /// The cold start a run of `graph` pays beyond its nodes' predictions
  /// (ColdStart; 0 for profiles made before it was measured): none when the
  /// run starts at the graph's first computed node (`starts_graph`) and
  /// that node is answered from the in-context table, which holds it.
  double cold_start_ms(const GraphDesc& graph, bool starts_graph) const;
  /// Predicted ms of the edge side of `cut`: its computed nodes (the input
  /// excluded; a folded batch norm whose convolution is in the cloud at its
  /// regression) plus one run's overhead; 0 when only the input is on the edge.
  double edge_ms(const GraphDesc& graph, const Cut& cut) const;
  /// Predicted ms of the cloud side of `cut`: nodes not on the edge plus one
  /// run's overhead; 0 for an edge-only cut.
  double cloud_ms(const GraphDesc& graph, const Cut& cut) const;
  /// Predicted ms of a whole local run of `graph` (edge-only cut).
  double whole_ms(const GraphDesc& graph) const;

 private:
  const MeasuredNode* lookup(const GraphDesc& graph, NodeId id) const;
  /// A run that starts at the graph's first computed node (`starts_graph`)
  /// answered from the in-context table: the table holds its cold start.
  bool cold_start_in_table(const GraphDesc& graph, bool starts_graph) const;
  double side_ms(const GraphDesc& graph, const Cut& cut, bool edge) const;

  DeviceProfile profile_;
  std::map<std::pair<std::string, std::string>, std::size_t> table_;  // (model, node) -> measured
};

}  // namespace tandem::predictor
