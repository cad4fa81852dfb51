// The Plan value: construction from a cut and its JSON round trip.
#include "partition/plan.hpp"

#include <random>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "partition/optimise.hpp"
#include "testutil/random_graph.hpp"

namespace tandem::partition {
namespace {

GraphDesc diamond() { return testutil::make_graph({{}, {0}, {0}, {1, 2}}, {10, 10, 10, 20}); }

CostModel unit_model(const GraphDesc& g) {
  CostModel m;
  m.edge_ms.assign(g.size(), 2.0);
  m.cloud_ms.assign(g.size(), 1.0);
  m.link = {40000.0, 80000.0, 3.0};
  return m;
}

TEST(PlanValue, MakePlanFillsEveryField) {
  const auto g = diamond();
  const auto m = unit_model(g);
  const Plan plan = make_plan(g, m, Cut({true, true, false, false}), Objective::energy);
  EXPECT_EQ(plan.placement, Placement::split);
  ASSERT_EQ(plan.crossing.size(), 2u);
  EXPECT_EQ(plan.crossing[0].node, 0);
  EXPECT_EQ(plan.crossing[0].name, "n0");
  EXPECT_EQ(plan.crossing[1].bytes, 40);
  EXPECT_EQ(plan.predicted, evaluate(g, m, plan.cut));
  EXPECT_EQ(plan.objective_value, plan.predicted.energy_mj);
  EXPECT_EQ(plan.lower_bound, plan.objective_value);
  EXPECT_EQ(plan.solver, Solver::evaluation);
  EXPECT_EQ(make_plan(g, m, Cut::edge_only(g), Objective::latency).placement, Placement::edge_only);
  EXPECT_EQ(make_plan(g, m, Cut::cloud_only(g), Objective::latency).placement, Placement::cloud_only);
}

TEST(PlanValue, MakePlanRejectsInvalidCuts) {
  const auto g = diamond();
  const auto m = unit_model(g);
  EXPECT_THROW(make_plan(g, m, Cut({true, false, false, true}), Objective::latency), std::invalid_argument);
  EXPECT_THROW(make_plan(g, m, Cut({false, true, true, true}), Objective::latency), std::invalid_argument);
  EXPECT_THROW(make_plan(g, m, Cut({true, true}), Objective::latency), std::invalid_argument);
}

TEST(PlanValue, JsonRoundTripsOptimisedPlans) {
  std::mt19937_64 rng(61);
  for (int trial = 0; trial < 200; ++trial) {
    const auto g = testutil::random_dag(rng);
    const auto m = testutil::random_cost_model(g, rng);
    for (Objective o : {Objective::latency, Objective::energy, Objective::throughput}) {
      const Plan plan = optimise(g, m, o);
      const auto j = to_json(plan);
      EXPECT_EQ(plan_from_json(j), plan);
      EXPECT_EQ(plan_from_json(nlohmann::json::parse(j.dump()), g), plan);  // through text too
    }
  }
}

TEST(PlanValue, JsonCarriesReadableFields) {
  const auto g = diamond();
  const auto j = to_json(make_plan(g, unit_model(g), Cut({true, true, false, false}), Objective::latency));
  EXPECT_EQ(j.at("cut"), "0-1");
  EXPECT_EQ(j.at("placement"), "split");
  EXPECT_EQ(j.at("objective"), "latency");
  EXPECT_EQ(j.at("solver"), "evaluation");
  EXPECT_EQ(j.at("edge_nodes"), nlohmann::json::array({0, 1}));
  EXPECT_EQ(j.at("crossing").size(), 2u);
  EXPECT_TRUE(j.at("predicted").contains("upload_ms"));
}

TEST(PlanValue, JsonRejectsMalformedPlans) {
  const auto g = diamond();
  const auto good = to_json(make_plan(g, unit_model(g), Cut({true, true, false, false}), Objective::latency));
  auto expect_bad = [&](auto mutate) {
    auto j = good;
    mutate(j);
    EXPECT_THROW(plan_from_json(j), std::invalid_argument) << j.dump();
  };
  expect_bad([](nlohmann::json& j) { j.erase("predicted"); });
  expect_bad([](nlohmann::json& j) { j["placement"] = "hybrid"; });
  expect_bad([](nlohmann::json& j) { j["placement"] = "edge_only"; });  // disagrees with the nodes
  expect_bad([](nlohmann::json& j) { j["objective"] = "speed"; });
  expect_bad([](nlohmann::json& j) { j["solver"] = 3; });
  expect_bad([](nlohmann::json& j) { j["edge_nodes"] = nlohmann::json::array({0, 7}); });
  expect_bad([](nlohmann::json& j) { j["edge_nodes"] = nlohmann::json::array({1}); });
  expect_bad([](nlohmann::json& j) { j["edge_nodes"] = nlohmann::json::array({0, -1}); });
  expect_bad([](nlohmann::json& j) { j["node_count"] = "four"; });
  expect_bad([](nlohmann::json& j) { j["crossing"] = 5; });
  // Valid JSON, but the cut is not closed in this graph: node 3 needs node 2.
  auto open = good;
  open["edge_nodes"] = nlohmann::json::array({0, 1, 3});
  EXPECT_NO_THROW(plan_from_json(open));
  EXPECT_THROW(plan_from_json(open, g), std::invalid_argument);
}

TEST(PlanValue, NamesRoundTrip) {
  for (auto p : {Placement::edge_only, Placement::split, Placement::cloud_only}) {
    EXPECT_EQ(placement_from_string(to_string(p)), p);
  }
  for (auto s : {Solver::evaluation, Solver::chain_scan, Solver::min_cut, Solver::min_cut_search, Solver::enumeration}) {
    EXPECT_EQ(solver_from_string(to_string(s)), s);
  }
  EXPECT_FALSE(placement_from_string("both"));
  EXPECT_FALSE(solver_from_string("magic"));
}

}  // namespace
}  // namespace tandem::partition
