#pragma once
// The DADS flow network (internal to partition/; not a public header).
//
// Minimises, over predecessor-closed cuts S of a graph,
//
//   a·E(S) + b·U(S) + c·C(S) + d·D(S) + [S ≠ all]·k
//
// with E = Σ_{v∈S} e_v, U = Σ_{crossing t} upload_ms_t, C = Σ_{v∉S} c_v,
// D = Σ_{cloud sinks o} download_ms_o, by one minimum s-t cut:
//
//   vertex per node; s = edge side, t = cloud side.
//   s -> 0            ∞                 the input is on the edge (and each node CostModel::edge_pinned holds)
//   v -> t            a·e_v             paid when v runs on the edge
//   s -> v            c·c_v (+ d·down_v for sinks)   paid when v runs in the cloud
//   p -> q            b·up_p            single consumer q of p: upload when p∈S, q∉S
//   q -> p            ∞                 closure: a consumer on the edge needs its producer there
//   p -> x_p          b·up_p            several consumers: auxiliary x_p, paid once
//   x_p -> q          ∞                 any consumer q in the cloud pulls x_p into the cloud
//   s -> z            k                 the constant of every non-edge-only plan:
//   z -> o            ∞                 any sink o in the cloud pulls z into the cloud
//
// Every closed S with S ≠ all has a sink in the cloud (descendants of a cloud
// node are in the cloud), so z is on the cloud side exactly when S ≠ all and
// the constant is paid exactly then; the min cut is exact, with no second
// solve for the edge-only plan.

#include <array>
#include <cstddef>
#include <vector>

// GCC 12 reports -Wmaybe-uninitialized inside Boost.Graph's edge iterator
// (boost::optional storage) when BK max-flow is inlined; a known false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/graph/boykov_kolmogorov_max_flow.hpp>
#include <boost/graph/compressed_sparse_row_graph.hpp>
#pragma GCC diagnostic pop

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "partition/cost_model.hpp"

namespace tandem::partition::detail {

/// Weights of the linear objective above.
struct LinearWeights {
  double edge = 0;      // a
  double transfer = 0;  // b
  double cloud = 0;     // c
  double download = 0;  // d
  double constant = 0;  // k
};

/// The latency objective as linear weights (exact).
LinearWeights latency_weights(const CostModel& model);
/// The energy objective as linear weights (exact).
LinearWeights energy_weights(const CostModel& model);

/// The terms of the objective a capacity can carry.
enum Term : std::size_t { k_edge, k_transfer, k_cloud, k_download, k_constant, k_term_count };

/// Capacity of one direction of an arc: ∞, or Σ weight[term] · base[term].
struct Capacity {
  bool infinite = false;
  std::array<double, k_term_count> base{};
};

class DadsNetwork {
 public:
  /// Builds the network topology and base costs. Assumes validate(graph, model) passed.
  DadsNetwork(const GraphDesc& graph, const CostModel& model);

  /// A minimum cut for `weights` (all >= 0 and finite). Mutates internal
  /// state: one thread at a time. Throws std::logic_error if the recovered cut
  /// is not closed (a bug, never expected).
  Cut solve(const LinearWeights& weights);

 private:
  // A compressed-sparse-row graph built in one pass: planning is dominated by
  // building the network, and CSR avoids a heap allocation per arc. Each edge
  // carries its position in the arc list (2·arc, 2·arc + 1 for the reverse).
  using FlowGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, std::size_t>;
  using Edge = boost::graph_traits<FlowGraph>::edge_descriptor;
  struct Arc {
    std::size_t from = 0;
    std::size_t to = 0;
    Capacity forward;
    Capacity backward;
  };

  void add_arc(std::size_t from, std::size_t to, Capacity forward, Capacity backward = {});
  void build(std::size_t vertex_count);

  const GraphDesc* graph_;
  std::vector<Arc> arcs_;
  FlowGraph flow_;
  std::vector<std::size_t> edge_of_slot_;  // slot (2·arc + direction) -> CSR edge index
  std::vector<Edge> reverse_;              // by CSR edge index
  std::vector<double> capacity_;           // by CSR edge index
  std::vector<double> residual_;           // by CSR edge index
  std::size_t source_ = 0;
  std::size_t sink_ = 0;
};

}  // namespace tandem::partition::detail
