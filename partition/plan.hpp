#pragma once
// The Plan value: which nodes run on the edge, what crosses the link, and what
// the cost model predicts for it. Plain value; cheap to copy; thread-safe to
// read.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "partition/cost_model.hpp"

namespace tandem::partition {

/// Where a plan runs the graph.
enum class Placement { edge_only, split, cloud_only };

/// Which algorithm produced a plan.
enum class Solver {
  evaluation,      // a given cut, evaluated (no optimisation)
  chain_scan,      // every split point of a chain
  min_cut,         // DADS minimum s-t cut (exact for latency / energy)
  min_cut_search,  // scalarised min-cut search for the DAG throughput objective
  enumeration,     // every closed cut
};

/// One tensor sent from the edge to the cloud.
struct CrossingTensor {
  NodeId node = 0;         // producer (on the edge)
  std::string name;        // producer's node name
  std::int64_t bytes = 0;  // bytes on the wire (codec applied)
  friend bool operator==(const CrossingTensor&, const CrossingTensor&) = default;
};

struct Plan {
  Cut cut{std::vector<bool>{}};         // edge node set
  Placement placement = Placement::edge_only;
  std::vector<CrossingTensor> crossing;  // ascending by node
  Breakdown predicted;                   // edge / transfer / cloud / total, energy, period
  Codec codec = Codec::fp32;             // how its tensors travel (the cost model's)
  Objective objective = Objective::latency;
  double objective_value = 0;  // objective_value(predicted, objective)
  // A proven lower bound on the best objective value over all closed cuts;
  // equal to objective_value when the solver is exact for the objective.
  double lower_bound = 0;
  bool exact = true;  // objective_value is the optimum (up to float rounding)
  Solver solver = Solver::evaluation;

  friend bool operator==(const Plan&, const Plan&) = default;
};

/// Evaluates `cut` under `model` into a Plan (exact, lower_bound ==
/// objective_value, solver == evaluation). Throws std::invalid_argument when
/// the cut or the model is invalid for `graph`, or when the cut leaves a node
/// of model.edge_pinned in the cloud (naming it).
Plan make_plan(const GraphDesc& graph, const CostModel& model, const Cut& cut, Objective objective);

/// Same as make_plan without validating (the optimisers' inner path).
Plan make_plan_unchecked(const GraphDesc& graph, const CostModel& model, const Cut& cut,
                         Objective objective);

/// The placement a cut stands for.
Placement placement_of(const Cut& cut);

/// "edge_only" / "split" / "cloud_only".
std::string_view to_string(Placement placement);
/// Parses a placement name; std::nullopt when unknown.
std::optional<Placement> placement_from_string(std::string_view text);
/// "evaluation", "chain_scan", "min_cut", "min_cut_search", "enumeration".
std::string_view to_string(Solver solver);
/// Parses a solver name; std::nullopt when unknown.
std::optional<Solver> solver_from_string(std::string_view text);

/// A placement as its name in JSON; from_json throws std::invalid_argument for another name.
void to_json(nlohmann::json& j, Placement placement);
void from_json(const nlohmann::json& j, Placement& placement);

/// JSON of a plan: cut text, edge node ids and node count, crossing tensors,
/// breakdown, objective, bounds, solver.
nlohmann::json to_json(const Plan& plan);
/// Inverse of to_json(Plan). Throws std::invalid_argument on missing or
/// mistyped fields, unknown names, node ids out of range, or a cut without the input.
Plan plan_from_json(const nlohmann::json& j);
/// plan_from_json(j), then checks the cut is a closed cut of `graph`. Throws std::invalid_argument.
Plan plan_from_json(const nlohmann::json& j, const GraphDesc& graph);

}  // namespace tandem::partition
