#include "models/graph.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tandem {
namespace {

Node make(NodeId id, std::string name, OpKind kind, std::vector<NodeId> inputs, Shape shape) {
  Node n;
  n.id = id;
  n.name = std::move(name);
  n.kind = kind;
  n.inputs = std::move(inputs);
  n.out_shape = std::move(shape);
  return n;
}

// input -> conv -> relu -> (add with conv's output) : a tiny residual block.
std::vector<Node> residual_nodes() {
  std::vector<Node> nodes;
  nodes.push_back(make(0, "input", OpKind::input, {}, {1, 3, 8, 8}));
  Node conv = make(1, "conv", OpKind::conv2d, {0}, {1, 4, 8, 8});
  conv.attrs.in_channels = 3;
  conv.attrs.out_channels = 4;
  conv.attrs.kernel_h = conv.attrs.kernel_w = 3;
  conv.attrs.stride_h = conv.attrs.stride_w = 1;
  conv.attrs.pad_h = conv.attrs.pad_w = 1;
  conv.attrs.groups = 1;
  conv.attrs.bias = true;
  nodes.push_back(conv);
  nodes.push_back(make(2, "relu", OpKind::relu, {1}, {1, 4, 8, 8}));
  nodes.push_back(make(3, "add", OpKind::add, {2, 1}, {1, 4, 8, 8}));
  compute_features(nodes);
  return nodes;
}

TEST(Graph, ConvFeaturesFollowFromShapes) {
  const auto nodes = residual_nodes();
  const Node& conv = nodes[1];
  EXPECT_EQ(conv.param_count, 4 * 3 * 3 * 3 + 4);
  EXPECT_DOUBLE_EQ(conv.macs, 4.0 * 8 * 8 * 3 * 3 * 3);
  EXPECT_EQ(conv.output_bytes, 4 * 8 * 8 * 4);
  EXPECT_EQ(conv.input_bytes, 3 * 8 * 8 * 4);
  EXPECT_EQ(nodes[3].input_bytes, 2 * conv.output_bytes);
}

TEST(Graph, TopologyConsumersSinksAndChainness) {
  GraphDesc g("res", residual_nodes());
  EXPECT_FALSE(g.is_chain());
  EXPECT_EQ(g.edge_count(), 4u);
  EXPECT_EQ(g.consumers(1), (std::vector<NodeId>{2, 3}));
  EXPECT_EQ(g.sinks(), (std::vector<NodeId>{3}));
  EXPECT_EQ(g.find("relu"), 2);
  EXPECT_THROW(g.find("nope"), std::out_of_range);
}

TEST(Graph, RejectsForwardReferencesAndDuplicateNames) {
  auto nodes = residual_nodes();
  nodes[2].inputs = {3};
  EXPECT_THROW(GraphDesc("bad", nodes), std::invalid_argument);
  nodes = residual_nodes();
  nodes[2].name = "conv";
  EXPECT_THROW(GraphDesc("bad", nodes), std::invalid_argument);
}

TEST(Graph, RejectsConvWithChannelsNotDivisibleByGroups) {
  auto nodes = residual_nodes();
  nodes[1].attrs.groups = 2;
  EXPECT_THROW(compute_features(nodes), std::invalid_argument);
}

TEST(Graph, JsonRoundTrip) {
  GraphDesc g("res", residual_nodes());
  GraphDesc back = graph_from_json(to_json(g));
  ASSERT_EQ(back.size(), g.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    EXPECT_EQ(back.nodes()[i].name, g.nodes()[i].name);
    EXPECT_EQ(back.nodes()[i].kind, g.nodes()[i].kind);
    EXPECT_EQ(back.nodes()[i].inputs, g.nodes()[i].inputs);
    EXPECT_EQ(back.nodes()[i].out_shape, g.nodes()[i].out_shape);
    EXPECT_EQ(back.nodes()[i].attrs, g.nodes()[i].attrs);
    EXPECT_EQ(back.nodes()[i].flops, g.nodes()[i].flops);
  }
}

TEST(Graph, KindNamesRoundTrip) {
  for (OpKind k : all_op_kinds()) EXPECT_EQ(op_kind_from_string(to_string(k)), k);
  EXPECT_FALSE(op_kind_from_string("conv3d").has_value());
}

}  // namespace
}  // namespace tandem
