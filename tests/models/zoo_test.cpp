#include <map>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/model.hpp"

namespace tandem {
namespace {

TEST(Zoo, ParameterCountsEqualTorchvision) {
  const std::map<std::string, std::int64_t> expected{
      {"alexnet", 61'100'840},     {"vgg16", 138'357'544},       {"resnet18", 11'689'512},
      {"resnet50", 25'557'032},    {"mobilenet_v2", 3'504'872},  {"googlenet", 6'624'904},
      {"lenet", 61'706},
  };
  for (const auto& name : zoo_names()) {
    SCOPED_TRACE(name);
    const auto model = build_model(name);
    ASSERT_TRUE(expected.contains(name));
    EXPECT_EQ(model->graph().param_count(), expected.at(name));
    std::int64_t numel = 0;
    for (const auto& p : model->params()) {
      if (p.name.ends_with("running_mean") || p.name.ends_with("running_var")) continue;
      numel += p.value.numel();
    }
    EXPECT_EQ(numel, expected.at(name)) << "descriptor and tensors disagree";
  }
}

TEST(Zoo, ShapesAndTopology) {
  const auto lenet = build_model("lenet");
  EXPECT_TRUE(lenet->graph().is_chain());
  EXPECT_EQ(lenet->graph().input_shape(), (Shape{1, 1, 32, 32}));
  for (const char* name : {"alexnet", "vgg16"}) {
    const auto m = build_model(name);
    EXPECT_TRUE(m->graph().is_chain()) << name;
    EXPECT_EQ(m->graph().input_shape(), (Shape{1, 3, 224, 224}));
    EXPECT_EQ(m->graph().node(m->graph().sinks().front()).out_shape, (Shape{1, 1000}));
  }
  for (const char* name : {"mobilenet_v2", "resnet18", "resnet50", "googlenet"}) {
    const auto m = build_model(name);
    EXPECT_FALSE(m->graph().is_chain()) << name;
    EXPECT_EQ(m->graph().sinks().size(), 1u);
  }
}

TEST(Zoo, JoinsAreRealNodes) {
  const auto r18 = build_model("resnet18");
  int adds = 0;
  for (const Node& n : r18->graph().nodes()) {
    if (n.kind == OpKind::add) {
      ++adds;
      EXPECT_EQ(n.inputs.size(), 2u);
    }
  }
  EXPECT_EQ(adds, 8);  // one per BasicBlock
  const auto g = build_model("googlenet");
  int concats = 0;
  for (const Node& n : g->graph().nodes()) {
    if (n.kind == OpKind::concat) {
      ++concats;
      EXPECT_EQ(n.inputs.size(), 4u);
    }
  }
  EXPECT_EQ(concats, 9);  // one per inception block
  const NodeId cat3a = g->graph().find("inception3a.concat");
  EXPECT_EQ(g->graph().node(cat3a).out_shape, (Shape{1, 256, 28, 28}));
}

TEST(Zoo, UnknownModelNamesTheKnownOnes) {
  try {
    build_model("resnet1000");
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("resnet1000"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("googlenet"), std::string::npos);
  }
}

// The oneDNN convolution path must agree with LibTorch's reference conv2d.
TEST(Zoo, OneDnnConvolutionMatchesReference) {
  const auto m = build_model("mobilenet_v2");
  const GraphDesc& g = m->graph();
  int checked = 0;
  for (const Node& n : g.nodes()) {
    if (n.kind != OpKind::conv2d) continue;
    at::Tensor x = at::randn(g.node(n.inputs[0]).out_shape);
    at::Tensor got = m->run_node(n.id, {x});
    const auto& w = m->params();
    at::Tensor weight;
    for (const auto& p : w) {
      if (p.name == n.name + ".weight") weight = p.value;
    }
    const auto& a = n.attrs;
    at::Tensor ref = at::conv2d(x, weight, {}, {a.stride_h, a.stride_w}, {a.pad_h, a.pad_w},
                                {1, 1}, a.groups);
    EXPECT_TRUE(at::allclose(got, ref, 1e-4, 1e-4)) << n.name;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TEST(Zoo, ExecutorReportsBadInputShape) {
  const auto m = build_model("lenet");
  EXPECT_THROW(m->run(at::zeros({1, 3, 32, 32})), ExecError);
}

}  // namespace
}  // namespace tandem
