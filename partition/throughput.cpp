#include "partition/throughput.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "partition/brute_force.hpp"
#include "partition/flow_network.hpp"
#include "partition/internal.hpp"
#include "partition/local_search.hpp"
#include "partition/privacy.hpp"

namespace tandem::partition {
namespace {

// (E, U, C) of a cut: the three pipeline stages.
using Stages = std::array<double, 3>;

Stages stages_of(const Breakdown& b) { return {b.edge_ms, b.upload_ms, b.cloud_ms}; }

double weighted(const Stages& lambda, const Stages& f) {
  return lambda[0] * f[0] + lambda[1] * f[1] + lambda[2] * f[2];
}

struct ModelMax {
  Stages lambda;
  double value;
};

// Maximises h(λ) = min_i λ·f_i over the simplex. With λ = (x, y, 1-x-y) each
// plane is affine in (x, y); the maximum of a min of affine functions over a
// triangle lies at a corner, where a pairwise tie meets a side, or where three
// planes meet inside. Exact; O(k^4) worst case with early exits, k <= a few dozen.
ModelMax maximise_model(const std::vector<Stages>& planes) {
  struct Affine {
    double a, bx, by;  // a + bx·x + by·y
  };
  std::vector<Affine> affine;
  affine.reserve(planes.size());
  for (const Stages& f : planes) affine.push_back({f[2], f[0] - f[2], f[1] - f[2]});

  constexpr double k_inside = 1e-12;
  ModelMax best{{1.0 / 3, 1.0 / 3, 1.0 / 3}, -std::numeric_limits<double>::infinity()};
  auto consider = [&](double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    if (x < -k_inside || y < -k_inside || x + y > 1 + k_inside) return;
    x = std::clamp(x, 0.0, 1.0);
    y = std::clamp(y, 0.0, 1.0 - x);
    double h = std::numeric_limits<double>::infinity();
    for (const Affine& p : affine) {
      h = std::min(h, p.a + p.bx * x + p.by * y);
      if (h <= best.value) return;
    }
    best = {{x, y, 1.0 - x - y}, h};
  };

  consider(0, 0);
  consider(1, 0);
  consider(0, 1);
  const std::size_t k = affine.size();
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = i + 1; j < k; ++j) {
      // Tie line: dx·x + dy·y = r.
      const double dx = affine[i].bx - affine[j].bx;
      const double dy = affine[i].by - affine[j].by;
      const double r = affine[j].a - affine[i].a;
      if (dy != 0) consider(0, r / dy);                // side x = 0
      if (dx != 0) consider(r / dx, 0);                // side y = 0
      if (dx != dy) {  // side x + y = 1
        const double x = (r - dy) / (dx - dy);
        consider(x, 1 - x);
      }
      for (std::size_t m = j + 1; m < k; ++m) {
        const double ex = affine[i].bx - affine[m].bx;
        const double ey = affine[i].by - affine[m].by;
        const double s = affine[m].a - affine[i].a;
        const double det = dx * ey - dy * ex;
        if (std::abs(det) < 1e-300) continue;
        consider((r * ey - dy * s) / det, (dx * s - r * ex) / det);
      }
    }
  }
  return best;
}

void check_options(const ThroughputOptions& options) {
  if (options.max_min_cuts == 0) throw std::invalid_argument("throughput options: max_min_cuts must be >= 1");
  if (!std::isfinite(options.tolerance) || options.tolerance < 0) {
    throw std::invalid_argument("throughput options: tolerance must be finite and >= 0");
  }
}

// A lower bound on the period from the shape of the graph: every plan but
// edge-only uploads at least one tensor and runs at least one sink in the
// cloud (every node descends from the input, every node has a sink below it).
double structural_lower_bound(const GraphDesc& graph, const CostModel& model, double edge_only_period) {
  if (graph.size() < 2) return edge_only_period;
  double min_upload = std::numeric_limits<double>::infinity();
  for (std::size_t v = 0; v < graph.size(); ++v) {
    if (graph.consumers(static_cast<NodeId>(v)).empty()) continue;
    min_upload = std::min(min_upload, upload_ms(graph.nodes()[v], model));
  }
  double min_sink_cloud = std::numeric_limits<double>::infinity();
  for (NodeId o : graph.sinks()) min_sink_cloud = std::min(min_sink_cloud, model.cloud_ms[static_cast<std::size_t>(o)]);
  min_sink_cloud += model.cloud_run_ms;
  return std::min(edge_only_period, std::max(min_upload, min_sink_cloud));
}

bool within(double upper, double lower, double tolerance) {
  return upper - lower <= tolerance * std::max(1.0, std::abs(upper));
}

}  // namespace

Plan min_cut_throughput_search(const GraphDesc& graph, const CostModel& model, const ThroughputOptions& options) {
  validate(graph, model);
  check_options(options);

  std::vector<Stages> planes;
  std::vector<Plan> candidates{make_plan_unchecked(graph, model, Cut::edge_only(graph), Objective::throughput)};
  planes.push_back(stages_of(candidates.front().predicted));
  // Two lower bounds on the optimum: the graph's structure, and the best
  // Lagrangian value g(λ) seen (which also drives the cutting planes).
  double lower = structural_lower_bound(graph, model, candidates.front().objective_value);
  double dual = 0;
  auto best_value = [&] {
    double v = candidates.front().objective_value;
    for (const Plan& p : candidates) v = std::min(v, p.objective_value);
    return v;
  };
  if (graph.size() > 1) {
    auto offer = [&](const Cut& cut) {
      Plan candidate = make_plan_unchecked(graph, model, cut, Objective::throughput);
      const Stages f = stages_of(candidate.predicted);
      planes.push_back(f);
      if (std::none_of(candidates.begin(), candidates.end(), [&](const Plan& p) { return p.cut == cut; })) {
        candidates.push_back(std::move(candidate));
      }
      return f;
    };
    if (pinned_violation(graph, model.edge_pinned, Cut::cloud_only(graph)).empty()) offer(Cut::cloud_only(graph));
    detail::DadsNetwork network(graph, model);
    Stages lambda{1.0 / 3, 1.0 / 3, 1.0 / 3};
    for (std::size_t solve = 0; solve < options.max_min_cuts; ++solve) {
      const Stages f = offer(network.solve({lambda[0], lambda[1], lambda[2], 0.0, 0.0}));
      dual = std::max(dual, weighted(lambda, f));
      lower = std::max(lower, dual);
      if (within(best_value(), lower, options.tolerance)) break;
      const ModelMax next = maximise_model(planes);
      if (within(next.value, dual, options.tolerance)) break;  // max g reached: a duality gap remains
      lambda = next.lambda;
    }
    // Polish the best few candidates by single-node moves.
    if (!within(best_value(), lower, options.tolerance)) {
      std::sort(candidates.begin(), candidates.end(),
                [](const Plan& a, const Plan& b) { return a.objective_value < b.objective_value; });
      const std::size_t starts = std::min(candidates.size(), options.local_search_starts);
      for (std::size_t i = 0; i < starts; ++i) {
        const Cut start = candidates[i].cut;
        offer(detail::improve_period_locally(graph, model, start, options.local_search_moves_per_node * graph.size()));
      }
    }
  }
  Plan best = candidates.front();
  for (const Plan& p : candidates) {
    if (detail::strictly_better(p.objective_value, best.objective_value)) best = p;
  }
  best.solver = Solver::min_cut_search;
  best.lower_bound = std::min(lower, best.objective_value);
  best.exact = within(best.objective_value, best.lower_bound, options.tolerance);
  if (best.exact) best.lower_bound = best.objective_value;
  return best;
}

Plan optimise_throughput_dag(const GraphDesc& graph, const CostModel& model, const ThroughputOptions& options) {
  Plan searched = min_cut_throughput_search(graph, model, options);
  if (searched.exact || options.enumeration_budget == 0) return searched;
  const std::size_t cut_limit = options.enumeration_budget / std::max<std::size_t>(1, graph.size());
  if (cut_limit == 0) return searched;
  try {
    Plan enumerated = brute_force(graph, model, Objective::throughput, cut_limit);
    // Enumeration is exact; keep the searched cut on a tie (it is the same value).
    if (!detail::strictly_better(enumerated.objective_value, searched.objective_value)) {
      searched.lower_bound = searched.objective_value;
      searched.exact = true;
      searched.solver = Solver::enumeration;
      return searched;
    }
    return enumerated;
  } catch (const std::length_error&) {
    return searched;  // too many closed cuts: keep the bounded search result
  }
}

}  // namespace tandem::partition
