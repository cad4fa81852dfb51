#include <gtest/gtest.h>

#include "models/fusion.hpp"
#include "models/graph_builder.hpp"

namespace tandem {
namespace {

int folded(const GraphDesc& g) {
  int n = 0;
  for (const Node& node : g.nodes()) n += folded_into(g, node.id) >= 0;
  return n;
}

int kind_count(const GraphDesc& g, OpKind kind) {
  int n = 0;
  for (const Node& node : g.nodes()) n += node.kind == kind;
  return n;
}

TEST(Fusion, EveryZooBatchNormFoldsIntoItsConvolution) {
  for (const auto& name : zoo_names()) {
    const GraphDesc g = zoo_graph(name);
    EXPECT_EQ(folded(g), kind_count(g, OpKind::batch_norm2d)) << name;
    for (const Node& n : g.nodes()) {
      const NodeId conv = folded_into(g, n.id);
      if (conv < 0) continue;
      EXPECT_EQ(n.kind, OpKind::batch_norm2d);
      EXPECT_EQ(g.node(conv).kind, OpKind::conv2d);
      EXPECT_EQ(g.consumers(conv), std::vector<NodeId>{n.id});
    }
  }
  EXPECT_EQ(folded(zoo_graph("resnet50")), 53);
}

TEST(Fusion, OnlyAConvolutionReadByItsBatchNormAloneFolds) {
  GraphBuilder b("shared", {1, 4, 8, 8});
  const NodeId c = b.conv(b.input(), "c", 4, 4, 3, 1, 1, 1, false);
  const NodeId bn = b.batch_norm(c, "bn", 4);
  b.add({bn, c}, "add");  // the convolution's own output is read too
  const NodeId bn2 = b.batch_norm(b.input(), "bn2", 4);  // no convolution before it
  const GraphDesc g = b.finish();
  EXPECT_EQ(folded_into(g, bn), -1);
  EXPECT_EQ(folded_into(g, bn2), -1);
  EXPECT_EQ(folded_into(g, c), -1);
}

}  // namespace
}  // namespace tandem
