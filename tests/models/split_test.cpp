// Differential test: edge side + cloud side == whole graph, for every cut of
// the chains and for articulation + random cuts of the DAG models; and the
// optimised executor (models/executor.hpp) == the plain per-node path,
// whole and split.

#include <random>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/fusion.hpp"
#include "models/model.hpp"

namespace tandem {
namespace {

constexpr double k_rel_tol = 1e-4;
constexpr int k_random_cuts = 50;

double max_rel_diff(const at::Tensor& a, const at::Tensor& b) {
  const double scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a - b).abs().max().item<double>() / scale;
}

// True when `cut` puts a convolution on the edge and the batch norm folded
// into it in the cloud: then the two sides compute what the whole run
// computes in one call, and agree with it up to rounding only.
bool separates_a_fold(const GraphDesc& g, const Cut& cut) {
  for (const Node& n : g.nodes()) {
    const NodeId conv = folded_into(g, n.id);
    if (conv >= 0 && cut.on_edge(conv) && !cut.on_edge(n.id)) return true;
  }
  return false;
}

// The outputs of a whole run, optimised and plain (the reference).
struct Whole {
  TensorMap fast, plain;
};

Whole run_whole(const Model& m, const at::Tensor& input) {
  Whole w{m.run(input), m.run(input, {.plain = true})};
  for (const auto& [sink, t] : w.plain) EXPECT_LE(max_rel_diff(w.fast.at(sink), t), k_rel_tol) << m.name();
  return w;
}

// Runs `cut` split and compares every output with the whole-graph runs.
void expect_split_equals_whole(const Model& m, const Cut& cut, const at::Tensor& input, const Whole& whole) {
  SCOPED_TRACE(m.name() + " cut " + cut.to_string());
  TensorMap edge = m.run_edge(cut, input);
  for (NodeId id : cut.crossing(m.graph())) {
    ASSERT_TRUE(edge.contains(id));
    // What crosses is a plain dense tensor, whatever layout the edge used.
    EXPECT_EQ(edge.at(id).layout(), at::kStrided);
    EXPECT_TRUE(edge.at(id).is_contiguous());
  }
  TensorMap cloud = m.run_cloud(cut, edge);
  const bool exact = !separates_a_fold(m.graph(), cut);
  for (const auto& [sink, expected] : whole.fast) {
    const at::Tensor& got = cut.on_edge(sink) ? edge.at(sink) : cloud.at(sink);
    EXPECT_LE(max_rel_diff(got, expected), k_rel_tol);
    EXPECT_LE(max_rel_diff(got, whole.plain.at(sink)), k_rel_tol);
    // Same process, same thread count, same kernels: bitwise equal.
    if (exact) {
      EXPECT_TRUE(at::equal(got, expected));
    }
  }
}

class ChainSplit : public ::testing::TestWithParam<std::string> {};

TEST_P(ChainSplit, EveryClosedCut) {
  const auto m = build_model(GetParam(), {.seed = 11});
  ASSERT_TRUE(m->graph().is_chain());
  const at::Tensor input = m->make_input(5);
  const Whole whole = run_whole(*m, input);
  const auto cuts = enumerate_closed_cuts(m->graph());
  EXPECT_EQ(cuts.size(), m->graph().size());  // a chain of n nodes has n prefixes
  for (const Cut& cut : cuts) expect_split_equals_whole(*m, cut, input, whole);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ChainSplit, ::testing::Values("lenet", "alexnet", "vgg16"));

class DagSplit : public ::testing::TestWithParam<std::string> {};

TEST_P(DagSplit, ArticulationAndRandomCuts) {
  const auto m = build_model(GetParam(), {.seed = 3});
  const GraphDesc& g = m->graph();
  const at::Tensor input = m->make_input(9);
  const Whole whole = run_whole(*m, input);
  const auto arts = articulation_cuts(g);
  EXPECT_GT(arts.size(), 4u);
  for (const Cut& cut : arts) expect_split_equals_whole(*m, cut, input, whole);
  std::mt19937_64 rng(std::hash<std::string>{}(GetParam()));
  int multi = 0;
  for (int i = 0; i < k_random_cuts; ++i) {
    const Cut cut = random_closed_cut(g, rng);
    ASSERT_EQ(cut.validate(g), "");
    if (cut.crossing(g).size() > 1) ++multi;
    expect_split_equals_whole(*m, cut, input, whole);
  }
  // Random cuts must exercise several crossing tensors, not only articulations.
  EXPECT_GT(multi, 0);
}

INSTANTIATE_TEST_SUITE_P(Zoo, DagSplit,
                         ::testing::Values("mobilenet_v2", "resnet18", "resnet50", "googlenet"));

TEST(Split, CloudSideReportsMissingCrossingTensor) {
  const auto m = build_model("resnet18");
  const Cut cut = Cut::closure_of(m->graph(), {m->graph().find("layer1.0.conv1")});
  TensorMap edge = m->run_edge(cut, m->make_input(1));
  ASSERT_GE(edge.size(), 1u);
  edge.erase(edge.begin());
  EXPECT_THROW(m->run_cloud(cut, edge), ExecError);
}

TEST(Split, ConcurrentRunsFromSeveralThreadsAgree) {
  const auto m = build_model("resnet18");
  const at::Tensor input = m->make_input(2);
  // Each thread's cut, run alone first: the same cut must give the same bits
  // however many runs share the model.
  const auto cuts = articulation_cuts(m->graph());
  std::vector<at::Tensor> alone;
  for (int t = 0; t < 4; ++t) {
    const Cut& cut = cuts.at(static_cast<std::size_t>(t + 1));
    alone.push_back(m->run_cloud(cut, m->run_edge(cut, input)).begin()->second);
  }
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const Cut& cut = cuts.at(static_cast<std::size_t>(t + 1));
      for (int r = 0; r < 3; ++r) {
        TensorMap e = m->run_edge(cut, input);
        TensorMap c = m->run_cloud(cut, e);
        ok[static_cast<std::size_t>(t)] += at::equal(c.begin()->second, alone[static_cast<std::size_t>(t)]);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 3);
}

}  // namespace
}  // namespace tandem
