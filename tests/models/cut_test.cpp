#include "models/cut.hpp"

#include <set>

#include <gtest/gtest.h>

namespace tandem {
namespace {

// input(0) -> a(1) -> b(2) -> d(4);  a(1) -> c(3) -> d(4);  d -> e(5)
// a is a branch point with two consumers; d joins.
GraphDesc diamond() {
  std::vector<Node> nodes(6);
  const std::vector<std::vector<NodeId>> ins{{}, {0}, {1}, {1}, {2, 3}, {4}};
  for (int i = 0; i < 6; ++i) {
    nodes[i].id = i;
    nodes[i].name = "n";
    nodes[i].name += std::to_string(i);
    nodes[i].kind = i == 0 ? OpKind::input : (i == 4 ? OpKind::add : OpKind::relu);
    nodes[i].inputs = ins[static_cast<std::size_t>(i)];
    nodes[i].out_shape = {1, 10 * (i + 1)};
  }
  compute_features(nodes);
  return GraphDesc("diamond", std::move(nodes));
}

Cut mask_cut(std::initializer_list<int> bits) {
  std::vector<bool> m;
  for (int b : bits) m.push_back(b != 0);
  return Cut(m);
}

TEST(Cut, ValidationRejectsNonClosedSets) {
  const GraphDesc g = diamond();
  EXPECT_EQ(mask_cut({1, 1, 1, 1, 1, 1}).validate(g), "");
  EXPECT_EQ(mask_cut({1, 0, 0, 0, 0, 0}).validate(g), "");
  // b on the edge without a.
  EXPECT_NE(mask_cut({1, 0, 1, 0, 0, 0}).validate(g), "");
  // d on the edge without c.
  EXPECT_NE(mask_cut({1, 1, 1, 0, 1, 0}).validate(g), "");
  // input must be on the edge.
  EXPECT_NE(mask_cut({0, 0, 0, 0, 0, 0}).validate(g), "");
  // wrong size.
  EXPECT_NE(mask_cut({1, 1}).validate(g), "");
  EXPECT_THROW(mask_cut({1, 0, 1, 0, 0, 0}).check(g), std::invalid_argument);
}

TEST(Cut, MultiConsumerTensorCrossesOnce) {
  const GraphDesc g = diamond();
  // {input, a}: a's output feeds both b and c in the cloud; sent once.
  const Cut c = mask_cut({1, 1, 0, 0, 0, 0});
  EXPECT_EQ(c.crossing(g), std::vector<NodeId>{1});
  EXPECT_EQ(c.crossing_bytes(g), g.node(1).output_bytes);
  // {input, a, b}: a still crosses (for c), and b crosses (for d).
  const Cut c2 = mask_cut({1, 1, 1, 0, 0, 0});
  EXPECT_EQ(c2.crossing(g), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(c2.cloud_sinks(g), std::vector<NodeId>{5});
  EXPECT_TRUE(Cut::edge_only(g).crossing(g).empty());
  EXPECT_EQ(Cut::cloud_only(g).crossing(g), std::vector<NodeId>{0});
}

TEST(Cut, EnumeratesExactlyTheClosedCuts) {
  const GraphDesc g = diamond();
  const auto cuts = enumerate_closed_cuts(g);
  // Brute force over all 2^5 masks with the input fixed on the edge.
  std::set<std::vector<bool>> expected;
  for (int bits = 0; bits < 32; ++bits) {
    std::vector<bool> m(6, false);
    m[0] = true;
    for (int i = 0; i < 5; ++i) m[static_cast<std::size_t>(i + 1)] = (bits >> i) & 1;
    if (Cut(m).validate(g).empty()) expected.insert(m);
  }
  std::set<std::vector<bool>> got;
  for (const auto& c : cuts) got.insert(c.mask());
  EXPECT_EQ(got.size(), cuts.size()) << "duplicates produced";
  EXPECT_EQ(got, expected);
  // cloud-only, {a}, {a,b}, {a,c}, {a,b,c}, +d, +e
  EXPECT_EQ(cuts.size(), 7u);
  EXPECT_THROW(enumerate_closed_cuts(g, 3), std::length_error);
}

TEST(Cut, ArticulationCutsHaveOneCrossingTensor) {
  const GraphDesc g = diamond();
  const auto cuts = articulation_cuts(g);
  std::set<std::string> names;
  for (const auto& c : cuts) {
    names.insert(c.to_string());
    if (!c.is_edge_only()) {
      EXPECT_EQ(c.crossing(g).size(), 1u) << c.to_string();
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"cloud_only", "0-1", "0-4", "edge_only"}));
}

TEST(Cut, TextRoundTripAndClosure) {
  const GraphDesc g = diamond();
  const Cut c = Cut::closure_of(g, {3});
  EXPECT_EQ(c.to_string(), "0-1,3");
  EXPECT_EQ(Cut::parse(g, "0-1,3"), c);
  EXPECT_EQ(Cut::parse(g, "edge_only"), Cut::edge_only(g));
  EXPECT_THROW(Cut::parse(g, "0,2"), std::invalid_argument);   // not closed
  EXPECT_THROW(Cut::parse(g, "0-9"), std::invalid_argument);   // no node 9
  EXPECT_THROW(Cut::parse(g, "0-x"), std::invalid_argument);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    const Cut r = random_closed_cut(g, rng);
    EXPECT_EQ(r.validate(g), "");
    EXPECT_EQ(Cut::parse(g, r.to_string()), r);
  }
}

}  // namespace
}  // namespace tandem
