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

// The graphs come from shape inference, without LibTorch; every inferred
// shape must be the one LibTorch computes when the model runs.
TEST(Zoo, InferredShapesEqualWhatLibTorchComputes) {
  for (const auto& name : zoo_names()) {
    SCOPED_TRACE(name);
    const auto model = build_model(name);
    const GraphDesc& g = model->graph();
    std::vector<at::Tensor> values(g.size());
    values[0] = model->make_input(0);
    for (std::size_t i = 1; i < g.size(); ++i) {
      std::vector<at::Tensor> ins;
      for (NodeId p : g.nodes()[i].inputs) ins.push_back(values[static_cast<std::size_t>(p)]);
      values[i] = model->run_node(static_cast<NodeId>(i), ins);
      EXPECT_EQ(Shape(values[i].sizes().begin(), values[i].sizes().end()), g.nodes()[i].out_shape)
          << g.nodes()[i].name;
    }
  }
}

// Pooling corner cases of PyTorch's output-size rule (ceil mode, padding).
TEST(Zoo, ShapeInferenceFollowsPyTorchsPoolingRules) {
  for (const bool ceil : {false, true}) {
    for (std::int64_t in = 5; in <= 16; ++in) {
      for (std::int64_t k = 1; k <= 4 && k <= in; ++k) {
        for (std::int64_t s = 1; s <= 3; ++s) {
          for (std::int64_t p = 0; p <= k / 2; ++p) {
            LayerAttrs a;
            a.kernel_h = a.kernel_w = k;
            a.stride_h = a.stride_w = s;
            a.pad_h = a.pad_w = p;
            a.ceil_mode = ceil;
            const Shape inferred = infer_shape(OpKind::max_pool2d, a, {{1, 2, in, in}});
            const at::Tensor out = at::max_pool2d(at::zeros({1, 2, in, in}), {k, k}, {s, s}, {p, p}, {1, 1}, ceil);
            EXPECT_EQ(inferred, Shape(out.sizes().begin(), out.sizes().end()))
                << "in " << in << " k " << k << " s " << s << " p " << p << " ceil " << ceil;
          }
        }
      }
    }
  }
  EXPECT_THROW(infer_shape(OpKind::conv2d, LayerAttrs{.in_channels = 3, .out_channels = 8, .kernel_h = 7,
                                                      .kernel_w = 7, .stride_h = 1, .stride_w = 1, .groups = 1},
                           {{1, 3, 5, 5}}),
               std::invalid_argument);
  EXPECT_THROW(infer_shape(OpKind::add, {}, {{1, 2}, {1, 3}}), std::invalid_argument);
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
