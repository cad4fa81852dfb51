#include "partition/brute_force.hpp"

#include <limits>
#include <optional>

#include "partition/internal.hpp"
#include "partition/privacy.hpp"

namespace tandem::partition {

Plan brute_force(const GraphDesc& graph, const CostModel& model, Objective objective, std::size_t cut_limit) {
  validate(graph, model);
  std::optional<Cut> best_cut;
  double best_value = std::numeric_limits<double>::infinity();
  for_each_closed_cut(
      graph,
      [&](const Cut& cut) {
        if (!pinned_violation(graph, model.edge_pinned, cut).empty()) return;
        const double value = objective_value(evaluate(graph, model, cut), objective);
        if (!best_cut || detail::strictly_better(value, best_value)) {
          best_cut = cut;
          best_value = value;
        }
      },
      cut_limit);
  Plan plan = make_plan_unchecked(graph, model, *best_cut, objective);
  plan.solver = Solver::enumeration;
  return plan;
}

}  // namespace tandem::partition
