// TorchScript import against the modules themselves: torchvision models
// traced and scripted+frozen import to the zoo's own graphs, their outputs
// equal Module::forward, every split equals the whole; small modules cover
// the importer's folding and each refusal names the operator and place.
// The .pt files are written at test time by export_torchscript.py (Debian's
// python3-torch; the export_torchscript_models fixture).

#include <filesystem>
#include <fstream>
#include <random>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/import.h>

#include "models/catalog.hpp"
#include "models/graph_builder.hpp"
#include "models/model.hpp"
#include "models/torchscript.hpp"

namespace tandem {
namespace {

const std::filesystem::path k_dir = TANDEM_TORCHSCRIPT_DIR;
const Shape k_image{1, 3, 224, 224};

std::shared_ptr<const Model> import_file(const std::string& file, std::vector<Shape> inputs,
                                         ImportReport* report = nullptr) {
  return import_torchscript(k_dir / file, {.name = "", .inputs = std::move(inputs)}, report);
}

// Module::forward on the same inputs, outputs flattened in order.
std::vector<at::Tensor> forward(const std::string& file, const std::vector<at::Tensor>& inputs) {
  torch::jit::Module m = torch::jit::load((k_dir / file).string());
  m.eval();
  std::vector<c10::IValue> args(inputs.begin(), inputs.end());
  std::vector<at::Tensor> out;
  std::vector<c10::IValue> pending{m.forward(args)};
  while (!pending.empty()) {
    c10::IValue v = pending.front();
    pending.erase(pending.begin());
    if (v.isTensor()) {
      out.push_back(v.toTensor());
    } else if (v.isTuple()) {
      const auto& items = v.toTupleRef().elements();
      pending.insert(pending.begin(), items.begin(), items.end());
    } else if (v.isList()) {
      const auto items = v.toListRef();
      pending.insert(pending.begin(), items.begin(), items.end());
    }
  }
  return out;
}

double rel_diff(const at::Tensor& got, const at::Tensor& want) {
  return (got - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-12);
}

// "export_torchscript.py:N" for the line of the exporter holding `text`.
std::string at_line(const std::string& text) {
  std::ifstream in(TANDEM_TORCHSCRIPT_EXPORTER);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find(text) != std::string::npos) return "export_torchscript.py:" + std::to_string(n);
  }
  ADD_FAILURE() << "no line holds " << text;
  return "?";
}

std::string refusal(const std::string& file, std::vector<Shape> inputs) {
  try {
    import_file(file, std::move(inputs));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "imported";
}

int count_kind(const GraphDesc& g, OpKind kind) {
  return static_cast<int>(std::count_if(g.nodes().begin(), g.nodes().end(), [&](const Node& n) { return n.kind == kind; }));
}

// Whole-model outputs equal Module::forward; edge + cloud at every
// articulation cut and at 20 random closed cuts equal the whole.
void check_against_forward_and_splits(const std::string& file, const Model& model) {
  const GraphDesc& g = model.graph();
  const auto inputs = model.make_inputs(5);
  const auto want = forward(file, inputs);
  const TensorMap whole = model.run(inputs);
  ASSERT_EQ(whole.size(), want.size()) << file;
  std::size_t i = 0;
  for (const auto& [id, t] : whole) EXPECT_LE(rel_diff(t, want.at(i++)), 1e-4) << file << " output " << id;

  std::vector<Cut> cuts = articulation_cuts(g);
  std::mt19937_64 rng(11);
  for (int k = 0; k < 20; ++k) cuts.push_back(random_closed_cut(g, rng));
  for (const Cut& cut : cuts) {
    const TensorMap edge = model.run_edge(cut, inputs);
    TensorMap outputs = model.run_cloud(cut, edge);
    for (NodeId s : g.sinks()) {
      if (cut.on_edge(s)) outputs.emplace(s, edge.at(s));
    }
    for (const auto& [id, t] : whole) {
      EXPECT_LE(rel_diff(outputs.at(id), t), 1e-4) << file << " cut " << cut.to_string().substr(0, 80);
    }
  }
}

class TorchvisionImport : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(TorchvisionImport, MatchesTheZooAndModuleForwardAndSplitsExactly) {
  const auto& [name, form] = GetParam();
  const std::string file = name + "_" + form + ".pt";
  const auto model = import_file(file, {k_image});
  const GraphDesc& g = model->graph();
  const GraphDesc zoo = zoo_graph(name);
  EXPECT_EQ(g.param_count(), zoo.param_count()) << file;
  EXPECT_EQ(count_kind(g, OpKind::conv2d), count_kind(zoo, OpKind::conv2d)) << file;
  EXPECT_NEAR(g.flops(), zoo.flops(), 1e-9 * zoo.flops()) << file;
  EXPECT_FALSE(g.is_chain());
  EXPECT_EQ(count_kind(g, OpKind::generic), 0) << file << ": every operator of a torchvision CNN maps to a kind";
  check_against_forward_and_splits(file, *model);
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchvisionImport,
                         ::testing::Combine(::testing::Values("resnet18", "mobilenet_v2", "googlenet"),
                                            ::testing::Values("traced", "scripted")),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

// Models the zoo does not have: they import, match Module::forward and split.
class UnseenImport : public ::testing::TestWithParam<std::string> {};

TEST_P(UnseenImport, MatchesModuleForwardAndSplitsExactly) {
  const std::string file = GetParam() + "_traced.pt";
  const auto model = import_file(file, {k_image});
  check_against_forward_and_splits(file, *model);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, UnseenImport,
                         ::testing::Values("mobilenet_v3_small", "shufflenet_v2_x0_5", "squeezenet1_1",
                                           "efficientnet_b0"));

TEST(TorchScriptImport, FoldsShapeArithmetic) {
  ImportReport report;
  const auto model = import_file("small_shape_arithmetic.pt", {{1, 3, 8, 8}}, &report);
  const GraphDesc& g = model->graph();
  ASSERT_EQ(g.size(), 4u);  // input, conv, reshape, linear: x.size(0) and the list fold away
  EXPECT_EQ(g.node(2).kind, OpKind::reshape);
  EXPECT_EQ(g.node(2).out_shape, (Shape{1, 256}));
  EXPECT_EQ(report.folded.at("aten::size"), 1);
  EXPECT_TRUE(g.is_chain());
  check_against_forward_and_splits("small_shape_arithmetic.pt", *model);
}

TEST(TorchScriptImport, ChunkAndSplitGiveOneNodePerOutput) {
  const auto model = import_file("small_chunk_split.pt", {{1, 3, 6, 6}});
  const GraphDesc& g = model->graph();
  EXPECT_NO_THROW(g.find("chunk.0"));
  EXPECT_NO_THROW(g.find("chunk.1"));
  EXPECT_NO_THROW(g.find("split.0"));
  EXPECT_EQ(g.node(g.find("split.1")).out_shape, (Shape{1, 5, 6, 6}));
  EXPECT_EQ(count_kind(g, OpKind::concat), 1);
  check_against_forward_and_splits("small_chunk_split.pt", *model);
}

TEST(TorchScriptImport, ResidualsAndConcatsAreJoins) {
  const auto model = import_file("small_residual_cat.pt", {{1, 4, 6, 6}});
  const GraphDesc& g = model->graph();
  EXPECT_EQ(count_kind(g, OpKind::add), 1);
  EXPECT_EQ(count_kind(g, OpKind::concat), 1);
  EXPECT_EQ(count_kind(g, OpKind::batch_norm2d), 1);
  EXPECT_EQ(g.consumers(0).size(), 3u);  // conv1, the add and the concat read the input
  check_against_forward_and_splits("small_residual_cat.pt", *model);
}

TEST(TorchScriptImport, TupleOutputsAreSinksInOrder) {
  const auto model = import_file("small_tuple_outputs.pt", {{1, 3, 7, 7}});
  EXPECT_EQ(model->graph().sinks().size(), 3u);
  check_against_forward_and_splits("small_tuple_outputs.pt", *model);
}

TEST(TorchScriptImport, TwoInputsAreTwoInputNodes) {
  for (const char* file : {"small_two_inputs.pt", "small_two_inputs_traced.pt"}) {
    const auto model = import_file(file, {{1, 3, 8, 8}, {1, 10}});
    const GraphDesc& g = model->graph();
    EXPECT_EQ(g.input_count(), 2u) << file;
    EXPECT_EQ(g.input_shapes(), (std::vector<Shape>{{1, 3, 8, 8}, {1, 10}}));
    const Cut cloud = Cut::cloud_only(g);
    EXPECT_TRUE(cloud.is_cloud_only());
    EXPECT_EQ(cloud.crossing(g), (std::vector<NodeId>{0, 1}));  // both raw inputs are uploaded
    check_against_forward_and_splits(file, *model);
  }
}

TEST(TorchScriptImport, ConstantLoopsUnroll) {
  ImportReport report;
  const auto model = import_file("small_unrolled_loop.pt", {{1, 4, 6, 6}}, &report);
  EXPECT_EQ(count_kind(model->graph(), OpKind::conv2d), 3);
  EXPECT_EQ(report.folded.at("prim::Loop"), 1);
  EXPECT_EQ(report.mapped.at("aten::mul").at("generic"), 2);  // 4 channels // 2 iterations
  check_against_forward_and_splits("small_unrolled_loop.pt", *model);
}

// Found importing all of torchvision: ViT's attention
// (aten::_native_multi_head_attention leaves its weights output undefined),
// Swin's dropout (training=True, p=0.0, in eval mode) and Swin's attention
// mask (x.new_zeros, then slices filled in place) were refused.
TEST(TorchScriptImport, TransformerPatternsImport) {
  ImportReport report;
  const auto attention = import_file("small_attention_traced.pt", {{1, 5, 8}}, &report);
  EXPECT_EQ(report.mapped.at("aten::_native_multi_head_attention").at("generic"), 1);
  check_against_forward_and_splits("small_attention_traced.pt", *attention);

  ImportReport dropout_report;
  const auto dropout = import_file("small_zero_dropout_traced.pt", {{2, 6}}, &dropout_report);
  EXPECT_EQ(dropout_report.folded.at("aten::dropout"), 1);
  EXPECT_EQ(dropout->graph().size(), 3u);  // input, linear, relu
  check_against_forward_and_splits("small_zero_dropout_traced.pt", *dropout);

  ImportReport mask_report;
  const auto mask = import_file("small_mask_traced.pt", {{1, 2, 4, 5}}, &mask_report);
  EXPECT_EQ(mask_report.folded.at("aten::new_zeros"), 1);
  EXPECT_EQ(mask->graph().size(), 2u);  // input, add (of the folded mask)
  check_against_forward_and_splits("small_mask_traced.pt", *mask);
}

// Every refusal: one error naming the operator, the user's file and line,
// and what is wrong.
TEST(TorchScriptImport, RefusalsNameTheOperatorAndThePlace) {
  const Shape x{1, 3, 4, 4};
  EXPECT_EQ(refusal("small_unsupported_op.pt", {x}),
            "cannot import " + (k_dir / "small_unsupported_op.pt").string() + ":\n  - aten::nonzero at " +
                at_line("torch.nonzero(x > 0.5)") +
                ": its output's shape depends on the input data, which a graph of static shapes cannot hold");
  EXPECT_EQ(refusal("small_data_value.pt", {x}),
            "cannot import " + (k_dir / "small_data_value.pt").string() + ":\n  - aten::mul at " +
                at_line("return x * scale") + ": uses a value computed from the input data (by aten::item at " +
                at_line("x.sum().item()") + "); only tensors may depend on data");
  EXPECT_EQ(refusal("small_data_branch.pt", {x}),
            "cannot import " + (k_dir / "small_data_branch.pt").string() + ":\n  - prim::If at " +
                at_line("if x.sum() > 0:") +
                ": a branch whose condition depends on the input data (computed by aten::Bool at " +
                at_line("if x.sum() > 0:") + "); data-dependent control flow cannot be split");
  EXPECT_EQ(refusal("small_input_mutation.pt", {x}),
            "cannot import " + (k_dir / "small_input_mutation.pt").string() + ":\n  - aten::add_ at " +
                at_line("x.add_(1.0)") + ": updates a graph input in place (make a copy first, e.g. x = x.clone())");
  const std::string training = refusal("small_training_dropout.pt", {{2, 6}});
  EXPECT_NE(training.find("aten::dropout at "), std::string::npos) << training;
  EXPECT_NE(training.find("dropout in training mode (save the model after model.eval())"), std::string::npos)
      << training;
  EXPECT_EQ(refusal("small_two_inputs.pt", {{1, 3, 8, 8}}),
            "forward() takes 2 tensor input(s); --input gives 1 shape(s) (1x3x8x8)");
  const std::string wrong_shape = refusal("resnet18_traced.pt", {{1, 1, 224, 224}});
  EXPECT_NE(wrong_shape.find("aten::_convolution at conv.py:"), std::string::npos) << wrong_shape;
  EXPECT_NE(wrong_shape.find("fails on inputs of shapes 1x1x224x224 (is --input right?)"), std::string::npos)
      << wrong_shape;
  EXPECT_NE(refusal("no_such_file.pt", {x}).find("no such file"), std::string::npos);
}

TEST(TorchScriptImport, FingerprintCoversWeightsAndGraph) {
  const auto a = import_file("resnet18_traced.pt", {k_image});
  const auto b = import_file("resnet18_traced.pt", {k_image});
  EXPECT_EQ(a->fingerprint(), b->fingerprint());  // deterministic: edge and cloud agree
  EXPECT_NE(a->fingerprint(), import_file("resnet18_scripted.pt", {k_image})->fingerprint());
  EXPECT_NE(a->fingerprint(), import_file("resnet18_traced.pt", {{1, 3, 112, 112}})->fingerprint());
}

TEST(TorchScriptImport, ModelDirectoriesServeBesideTheZoo) {
  const ModelCatalog catalog(k_dir / "model_dir");
  const auto names = catalog.names();
  EXPECT_NE(std::find(names.begin(), names.end(), "myresnet"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "resnet18"), names.end());
  const auto model = catalog.load("myresnet");
  EXPECT_EQ(model->name(), "myresnet");
  EXPECT_EQ(model->graph().param_count(), 11'689'512);
  EXPECT_EQ(catalog.load("twoin")->graph().input_count(), 2u);
  EXPECT_THROW(catalog.load("nosuch"), std::invalid_argument);
  EXPECT_EQ(catalog.load_reference((k_dir / "small_two_inputs.pt").string(), {{1, 3, 8, 8}, {1, 10}})->graph().size(),
            6u);
  EXPECT_THROW(ModelCatalog(k_dir / "no_such_dir"), std::runtime_error);
}

TEST(TorchScriptImport, InputShapesParseStrictly) {
  EXPECT_EQ(parse_input_shapes("1x3x224x224"), (std::vector<Shape>{{1, 3, 224, 224}}));
  EXPECT_EQ(parse_input_shapes("1x3x32x32,1x10"), (std::vector<Shape>{{1, 3, 32, 32}, {1, 10}}));
  for (const char* bad : {"", "1x", "x3", "1x0x2", "1x-3", "1,,2", "a", "1x3 "}) {
    EXPECT_THROW(parse_input_shapes(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace tandem
