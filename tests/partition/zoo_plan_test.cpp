// The partition optimisers on the real zoo graphs (needs LibTorch only to
// build the graphs): min cut == brute force on windows of the DAG models,
// chain scan == enumeration on the chain models, and every full model's plan
// is a valid closed cut no worse than edge-only, cloud-only and every
// articulation cut.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "models/model.hpp"
#include "partition/brute_force.hpp"
#include "partition/chain.hpp"
#include "partition/dag.hpp"
#include "partition/optimise.hpp"
#include "testutil/random_graph.hpp"
#include "testutil/synthetic_costs.hpp"

namespace tandem::partition {
namespace {

constexpr double k_relative = 1e-9;
// Windows of the DAG models: the fresh input plus this many zoo nodes (the
// oracle enumerates every closed cut; 20 nodes stay well inside its limit).
constexpr std::size_t k_window_nodes = 19;
constexpr std::size_t k_window_stride = 2;
// Bandwidths (bytes/s) spanning edge-only to cloud-only: 100 kbit/s .. 1 Gbit/s.
const std::vector<double> k_bandwidths = {12'500, 731'250, 12'500'000, 125'000'000};

void expect_close(double a, double b) { EXPECT_NEAR(a, b, k_relative * std::max(1.0, std::abs(b))); }

// The chain scan sums prefix totals, evaluate() sums node by node: equal up
// to rounding, byte counts exactly.
void expect_close(const Breakdown& a, const Breakdown& b) {
  expect_close(a.edge_ms, b.edge_ms);
  EXPECT_EQ(a.upload_bytes, b.upload_bytes);
  expect_close(a.upload_ms, b.upload_ms);
  expect_close(a.rtt_ms, b.rtt_ms);
  expect_close(a.cloud_wait_ms, b.cloud_wait_ms);
  expect_close(a.cloud_ms, b.cloud_ms);
  EXPECT_EQ(a.download_bytes, b.download_bytes);
  expect_close(a.download_ms, b.download_ms);
  expect_close(a.total_ms, b.total_ms);
  expect_close(a.energy_mj, b.energy_mj);
  expect_close(a.period_ms, b.period_ms);
}

// Building a model initialises its weights (seconds for vgg16); the graph is
// all these tests need, so each model is built once.
const GraphDesc& zoo_graph(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, build_model(name)).first;
  return it->second->graph();
}

// Nodes [first, first + count) of `g` as a graph of their own. A fresh input
// node stands for every tensor entering the window (its size that of the
// largest one); arcs inside the window are kept. Features (FLOPs, bytes) are
// copied, not recomputed: they are what the costs are made of.
GraphDesc window(const GraphDesc& g, NodeId first, std::size_t count) {
  const NodeId end = first + static_cast<NodeId>(count);
  Node input;
  input.id = 0;
  input.name = "window_input";
  input.kind = OpKind::input;
  std::vector<Node> nodes{input};
  for (NodeId v = first; v < end; ++v) {
    Node n = g.node(v);
    n.id = v - first + 1;
    std::vector<NodeId> inputs;
    for (NodeId p : n.inputs) {
      NodeId mapped = 0;
      if (p >= first) {
        mapped = p - first + 1;
      } else if (g.node(p).output_bytes > nodes[0].output_bytes) {
        nodes[0].out_shape = g.node(p).out_shape;
        nodes[0].dtype = g.node(p).dtype;
        nodes[0].output_bytes = g.node(p).output_bytes;
      }
      if (std::find(inputs.begin(), inputs.end(), mapped) == inputs.end()) inputs.push_back(mapped);
    }
    n.inputs = std::move(inputs);
    nodes.push_back(std::move(n));
  }
  return GraphDesc(fmt::format("{}[{}..{}]", g.name(), first, end - 1), std::move(nodes));
}

bool has_shared_tensor(const GraphDesc& g) {
  for (std::size_t v = 0; v < g.size(); ++v) {
    if (g.consumers(static_cast<NodeId>(v)).size() > 1) return true;
  }
  return false;
}

void expect_consistent(const GraphDesc& g, const CostModel& m, const Plan& plan) {
  ASSERT_EQ(plan.cut.validate(g), "");
  EXPECT_EQ(plan.predicted, evaluate(g, m, plan.cut));
  EXPECT_EQ(plan.objective_value, objective_value(plan.predicted, plan.objective));
  EXPECT_EQ(plan.placement, placement_of(plan.cut));
}

// Random costs and synthetic FLOPs-based costs at several bandwidths.
std::vector<CostModel> cost_models(const GraphDesc& g, std::mt19937_64& rng) {
  std::vector<CostModel> models;
  for (double bw : k_bandwidths) models.push_back(testutil::synthetic_cost_model(g, bw));
  for (int i = 0; i < 3; ++i) models.push_back(testutil::random_cost_model(g, rng));
  return models;
}

std::string param_name(const testing::TestParamInfo<std::string>& info) { return info.param; }

class ZooWindows : public testing::TestWithParam<std::string> {};

TEST_P(ZooWindows, MinCutEqualsBruteForce) {
  const GraphDesc& full = zoo_graph(GetParam());
  ASSERT_FALSE(full.is_chain());
  ASSERT_GT(full.size(), k_window_nodes + 1);
  std::mt19937_64 rng(7);
  int windows = 0, shared = 0, split_optima = 0;
  for (std::size_t first = 1; first + k_window_nodes <= full.size(); first += k_window_stride) {
    const GraphDesc g = window(full, static_cast<NodeId>(first), k_window_nodes);
    ++windows;
    shared += has_shared_tensor(g);
    for (const CostModel& m : cost_models(g, rng)) {
      for (Objective o : {Objective::latency, Objective::energy, Objective::throughput}) {
        const Plan plan = optimise_dag(g, m, o);
        const Plan oracle = brute_force(g, m, o);
        SCOPED_TRACE(testing::Message() << g.name() << " " << to_string(o) << " plan " << plan.cut.to_string()
                                        << " oracle " << oracle.cut.to_string());
        expect_consistent(g, m, plan);
        // Latency and energy: one exact min cut. Throughput: the search, then
        // enumeration, which always fits a 20-node window.
        expect_close(plan.objective_value, oracle.objective_value);
        split_optima += oracle.placement == Placement::split;
      }
    }
  }
  EXPECT_GT(windows, 10);
  // The windows really contain branches (shared tensors) and the optima are
  // not all the trivial plans; otherwise the comparison proves little.
  EXPECT_GT(shared, windows / 4);
  EXPECT_GT(split_optima, windows);
}

INSTANTIATE_TEST_SUITE_P(Dags, ZooWindows, testing::Values("resnet18", "googlenet", "mobilenet_v2"), param_name);

class ZooChains : public testing::TestWithParam<std::string> {};

TEST_P(ZooChains, ChainScanEqualsEnumeration) {
  const GraphDesc& g = zoo_graph(GetParam());
  ASSERT_TRUE(g.is_chain());
  std::mt19937_64 rng(11);
  int split_optima = 0;
  for (const CostModel& m : cost_models(g, rng)) {
    for (Objective o : {Objective::latency, Objective::energy, Objective::throughput}) {
      SCOPED_TRACE(testing::Message() << g.name() << " " << to_string(o));
      const ChainResult chain = optimise_chain(g, m, o);
      const Plan oracle = brute_force(g, m, o);
      expect_consistent(g, m, chain.best);
      expect_close(chain.best.objective_value, oracle.objective_value);
      EXPECT_EQ(chain.best.solver, Solver::chain_scan);
      EXPECT_EQ(optimise(g, m, o), chain.best);
      ASSERT_EQ(chain.splits.size(), g.size());
      for (std::size_t k = 0; k < chain.splits.size(); ++k) {
        EXPECT_EQ(chain.splits[k].split, k);
        expect_close(chain.splits[k].breakdown, evaluate(g, m, Cut::chain_prefix(g, k)));
        EXPECT_EQ(chain.splits[k].objective_value, objective_value(chain.splits[k].breakdown, o));
        EXPECT_GE(chain.splits[k].objective_value * (1 + k_relative), chain.best.objective_value);
      }
      split_optima += oracle.placement == Placement::split;
    }
  }
  EXPECT_GT(split_optima, 0) << "no cost model makes a split optimal: the scan is barely tested";
}

INSTANTIATE_TEST_SUITE_P(Chains, ZooChains, testing::Values("lenet", "alexnet", "vgg16"), param_name);

class ZooModels : public testing::TestWithParam<std::string> {};

TEST_P(ZooModels, PlanIsClosedAndNoWorseThanArticulationCuts) {
  const GraphDesc& g = zoo_graph(GetParam());
  const std::vector<Cut> articulation = articulation_cuts(g);
  ASSERT_GE(articulation.size(), 2u);  // edge-only and cloud-only at least
  std::mt19937_64 rng(13);
  for (const CostModel& m : cost_models(g, rng)) {
    for (Objective o : {Objective::latency, Objective::energy, Objective::throughput}) {
      const Plan plan = optimise(g, m, o);
      SCOPED_TRACE(testing::Message() << g.name() << " " << to_string(o) << " plan " << plan.cut.to_string());
      expect_consistent(g, m, plan);
      EXPECT_LE(plan.lower_bound, plan.objective_value * (1 + k_relative));
      // Throughput on a DAG is a search: only edge-only and cloud-only are
      // guaranteed to be among its candidates.
      const bool exact_objective = o != Objective::throughput || g.is_chain();
      for (const Cut& cut : articulation) {
        if (!exact_objective && !cut.is_edge_only() && !cut.is_cloud_only()) continue;
        const double value = objective_value(evaluate(g, m, cut), o);
        EXPECT_LE(plan.objective_value, value + k_relative * std::max(1.0, value)) << "cut " << cut.to_string();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModels, testing::ValuesIn(zoo_names()), param_name);

}  // namespace
}  // namespace tandem::partition
