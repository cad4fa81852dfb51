#pragma once
// Plans each task from static shapes and cached per-node costs: no forward
// passes at planning time (DESIGN §9). Per-node edge and cloud costs are
// computed once per model from the device profiles.

#include <map>
#include <mutex>
#include <tuple>
#include <string>
#include <vector>

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/plan.hpp"

namespace tandem::edge {

/// Per-node predicted ms of one model on the edge and in the cloud.
struct ModelCosts {
  std::vector<double> edge_ms;
  std::vector<double> cloud_ms;
};

/// What the planner knows about the link and the cloud right now.
struct Conditions {
  double uplink_bytes_per_s = 0;
  double downlink_bytes_per_s = 0;
  double rtt_ms = 0;
  double cloud_wait_ms = 0;
  partition::Codec codec = partition::Codec::fp32;
};

/// Set up once (add_model), then plan() from any thread. Plans are cached
/// per (model, objective, codec) and small buckets of bandwidth (2% steps),
/// RTT and cloud wait (0.5 ms steps): a new measurement within a bucket reuses
/// the plan, so the optimiser runs only when conditions really move.
class Planner {
 public:
  explicit Planner(partition::EdgePower power = {}) : power_(power) {}

  /// Registers a model's graph and costs. Throws std::invalid_argument when the
  /// cost vectors do not match the graph.
  void add_model(const GraphDesc& graph, ModelCosts costs);
  /// The graph of a registered model; throws std::out_of_range naming it.
  const GraphDesc& graph(const std::string& model) const;
  /// Best plan for `objective` under `conditions`. Microseconds to a
  /// millisecond; never runs the model.
  partition::Plan plan(const std::string& model, partition::Objective objective,
                       const Conditions& conditions) const;
  /// The prediction for a given cut (forced plans, fallbacks).
  partition::Plan evaluate(const std::string& model, const Cut& cut,
                           partition::Objective objective, const Conditions& conditions) const;

 private:
  struct Entry {
    GraphDesc graph;
    ModelCosts costs;
  };
  partition::CostModel cost_model(const Entry& entry, const Conditions& conditions) const;
  const Entry& entry(const std::string& model) const;

  partition::EdgePower power_;
  std::map<std::string, Entry> models_;
  using CacheKey = std::tuple<std::string, int, int, long, long, long>;
  mutable std::mutex cache_mutex_;
  mutable std::map<CacheKey, partition::Plan> cache_;
};

}  // namespace tandem::edge
