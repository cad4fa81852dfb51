#include "partition/plan.hpp"

#include <array>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "partition/privacy.hpp"

namespace tandem::partition {
namespace {

constexpr std::array k_placements{Placement::edge_only, Placement::split, Placement::cloud_only};
constexpr std::array k_solvers{Solver::evaluation, Solver::chain_scan, Solver::min_cut,
                               Solver::min_cut_search, Solver::enumeration};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_enum(const std::array<Enum, N>& values, std::string_view text) {
  for (Enum v : values) {
    if (to_string(v) == text) return v;
  }
  return std::nullopt;
}

template <typename Enum>
Enum require_enum(std::optional<Enum> value, std::string_view field, std::string_view text) {
  if (!value) throw std::invalid_argument(fmt::format("plan JSON: unknown {} '{}'", field, text));
  return *value;
}

}  // namespace

Placement placement_of(const Cut& cut) {
  if (cut.is_edge_only()) return Placement::edge_only;
  if (cut.is_cloud_only()) return Placement::cloud_only;
  return Placement::split;
}

Plan make_plan_unchecked(const GraphDesc& graph, const CostModel& model, const Cut& cut,
                         Objective objective) {
  Plan plan;
  plan.cut = cut;
  plan.placement = placement_of(cut);
  for (NodeId id : cut.crossing(graph)) {
    const Node& n = graph.node(id);
    plan.crossing.push_back({id, n.name, std::llround(expected_wire_bytes(n, model))});
  }
  plan.codec = model.codec;
  plan.predicted = evaluate(graph, model, cut);
  plan.objective = objective;
  plan.objective_value = objective_value(plan.predicted, objective);
  plan.lower_bound = plan.objective_value;
  plan.exact = true;
  plan.solver = Solver::evaluation;
  return plan;
}

Plan make_plan(const GraphDesc& graph, const CostModel& model, const Cut& cut, Objective objective) {
  validate(graph, model);
  cut.check(graph);
  if (auto why = pinned_violation(graph, model.edge_pinned, cut); !why.empty()) throw std::invalid_argument(why);
  return make_plan_unchecked(graph, model, cut, objective);
}

std::string_view to_string(Placement placement) {
  switch (placement) {
    case Placement::edge_only:
      return "edge_only";
    case Placement::split:
      return "split";
    case Placement::cloud_only:
      return "cloud_only";
  }
  return "unknown";
}

std::optional<Placement> placement_from_string(std::string_view text) {
  return parse_enum(k_placements, text);
}

void to_json(nlohmann::json& j, Placement placement) { j = to_string(placement); }

void from_json(const nlohmann::json& j, Placement& placement) {
  const auto value = j.is_string() ? placement_from_string(j.get_ref<const std::string&>()) : std::nullopt;
  if (!value) throw std::invalid_argument("expected edge_only, split or cloud_only");
  placement = *value;
}

std::string_view to_string(Solver solver) {
  switch (solver) {
    case Solver::evaluation:
      return "evaluation";
    case Solver::chain_scan:
      return "chain_scan";
    case Solver::min_cut:
      return "min_cut";
    case Solver::min_cut_search:
      return "min_cut_search";
    case Solver::enumeration:
      return "enumeration";
  }
  return "unknown";
}

std::optional<Solver> solver_from_string(std::string_view text) { return parse_enum(k_solvers, text); }

nlohmann::json to_json(const Plan& plan) {
  nlohmann::json crossing = nlohmann::json::array();
  for (const auto& t : plan.crossing) {
    crossing.push_back({{"node", t.node}, {"name", t.name}, {"bytes", t.bytes}});
  }
  return {{"cut", plan.cut.to_string()},
          {"node_count", plan.cut.mask().size()},
          {"inputs", plan.cut.inputs()},
          {"edge_nodes", plan.cut.edge_nodes()},
          {"placement", to_string(plan.placement)},
          {"crossing", std::move(crossing)},
          {"predicted", to_json(plan.predicted)},
          {"codec", to_string(plan.codec)},
          {"objective", to_string(plan.objective)},
          {"objective_value", plan.objective_value},
          {"lower_bound", plan.lower_bound},
          {"exact", plan.exact},
          {"solver", to_string(plan.solver)}};
}

Plan plan_from_json(const nlohmann::json& j) {
  try {
    Plan plan;
    const auto count = j.at("node_count").get<std::size_t>();
    std::vector<bool> mask(count, false);
    for (const auto& jid : j.at("edge_nodes")) {
      const auto id = jid.get<std::int64_t>();
      if (id < 0 || static_cast<std::size_t>(id) >= count) {
        throw std::invalid_argument(
            fmt::format("plan JSON: edge node {} is out of range 0..{}", id, count == 0 ? 0 : count - 1));
      }
      mask[static_cast<std::size_t>(id)] = true;
    }
    const auto inputs = j.value("inputs", std::size_t{1});
    if (inputs == 0 || inputs > count) throw std::invalid_argument("plan JSON: 'inputs' must be 1..node_count");
    for (std::size_t i = 0; i < inputs; ++i) {
      if (!mask[i]) throw std::invalid_argument(fmt::format("plan JSON: the input node {} must be on the edge", i));
    }
    plan.cut = Cut(std::move(mask), inputs);
    plan.placement = require_enum(placement_from_string(j.at("placement").get<std::string>()), "placement",
                                  j.at("placement").get<std::string>());
    if (plan.placement != placement_of(plan.cut)) {
      throw std::invalid_argument(fmt::format("plan JSON: placement '{}' disagrees with the edge nodes",
                                              to_string(plan.placement)));
    }
    for (const auto& jt : j.at("crossing")) {
      plan.crossing.push_back(
          {jt.at("node").get<NodeId>(), jt.at("name").get<std::string>(), jt.at("bytes").get<std::int64_t>()});
    }
    plan.predicted = breakdown_from_json(j.at("predicted"));
    const auto codec = j.value("codec", std::string("fp32"));  // absent in plans written before codecs
    plan.codec = require_enum(codec_from_string(codec), "codec", codec);
    const auto objective = j.at("objective").get<std::string>();
    plan.objective = require_enum(objective_from_string(objective), "objective", objective);
    plan.objective_value = j.at("objective_value").get<double>();
    plan.lower_bound = j.at("lower_bound").get<double>();
    plan.exact = j.at("exact").get<bool>();
    const auto solver = j.at("solver").get<std::string>();
    plan.solver = require_enum(solver_from_string(solver), "solver", solver);
    return plan;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("plan JSON: {}", e.what()));
  }
}

Plan plan_from_json(const nlohmann::json& j, const GraphDesc& graph) {
  Plan plan = plan_from_json(j);
  if (auto why = plan.cut.validate(graph); !why.empty()) {
    throw std::invalid_argument(fmt::format("plan JSON: {}", why));
  }
  return plan;
}

}  // namespace tandem::partition
