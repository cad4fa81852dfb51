#pragma once
// Seeded random graphs and cost models for optimiser tests and benchmarks.
// Torch-free: the graphs are valid GraphDescs (shapes consistent with their
// kinds, features from compute_features) but are never executed.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "models/graph.hpp"
#include "partition/cost_model.hpp"

namespace tandem::testutil {

struct RandomGraphOptions {
  std::size_t nodes = 12;            // including the input; >= 1
  double multi_input_probability = 0.35;  // chance a node is an `add` of several producers
  std::size_t max_inputs = 3;        // producers of an `add`
  std::size_t window = 0;            // producers come from the last `window` nodes; 0 = any earlier node
  std::size_t width_classes = 3;     // distinct tensor widths; `add` joins tensors of one width
  std::int64_t min_width = 16;       // elements per tensor (batch 1, f32)
  std::int64_t max_width = 1 << 16;
};

/// A random DAG: node 0 the input [1, w]; `linear` nodes change the width,
/// `relu` keeps it, `add` joins 2..max_inputs producers of equal width. Tensors
/// with several consumers and several sinks arise naturally. Deterministic
/// for a given rng state. Throws std::invalid_argument on bad options.
GraphDesc random_dag(std::mt19937_64& rng, const RandomGraphOptions& options = {});

/// A hand-written graph: `inputs[i]` are node i's producers (inputs[0] empty:
/// the input), `widths[i]` its f32 elements (bytes = 4 · width). One producer
/// makes a `linear`, several a `concat` (give it the sum of their widths).
/// Throws std::invalid_argument when the sizes differ or the topology is invalid.
GraphDesc make_graph(const std::vector<std::vector<NodeId>>& inputs, const std::vector<std::int64_t>& widths,
                     std::string name = "hand");

/// A random chain of `nodes` nodes (input, then linear / relu layers).
GraphDesc random_chain(std::mt19937_64& rng, std::size_t nodes);

struct RandomCostOptions {
  double min_bandwidth = 1e4;  // bytes/s, sampled log-uniformly
  double max_bandwidth = 1e8;
  double max_node_ms = 20.0;   // edge time per node, log-uniform in [max/1000, max]
};

/// Random per-node edge and cloud times (cloud 1x-100x faster, sometimes
/// slower), random asymmetric link, RTT, queue wait, codec and power.
partition::CostModel random_cost_model(const GraphDesc& graph, std::mt19937_64& rng,
                                       const RandomCostOptions& options = {});

}  // namespace tandem::testutil
