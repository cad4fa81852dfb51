// The model zoo: torchvision's architectures (and LeNet-5) as graphs of layers,
// without LibTorch (shapes are inferred as layers are added).
// Parameter counts equal torchvision's; residual adds and inception concats
// are real join nodes.

#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "models/graph_builder.hpp"

namespace tandem {
namespace {

constexpr std::int64_t k_classes = 1000;

Shape image_input() { return {1, 3, 224, 224}; }

GraphDesc lenet() {
  GraphBuilder b("lenet", {1, 1, 32, 32});
  NodeId x = b.conv(b.input(), "conv1", 1, 6, 5);
  x = b.relu(x, "relu1");
  x = b.max_pool(x, "pool1", 2, 2);
  x = b.conv(x, "conv2", 6, 16, 5);
  x = b.relu(x, "relu2");
  x = b.max_pool(x, "pool2", 2, 2);
  x = b.flatten(x, "flatten");
  x = b.linear(x, "fc1", 16 * 5 * 5, 120);
  x = b.relu(x, "relu3");
  x = b.linear(x, "fc2", 120, 84);
  x = b.relu(x, "relu4");
  b.linear(x, "fc3", 84, 10);
  return b.finish();
}

GraphDesc alexnet() {
  GraphBuilder b("alexnet", image_input());
  NodeId x = b.conv(b.input(), "features.0", 3, 64, 11, 4, 2);
  x = b.relu(x, "features.1");
  x = b.max_pool(x, "features.2", 3, 2);
  x = b.conv(x, "features.3", 64, 192, 5, 1, 2);
  x = b.relu(x, "features.4");
  x = b.max_pool(x, "features.5", 3, 2);
  x = b.conv(x, "features.6", 192, 384, 3, 1, 1);
  x = b.relu(x, "features.7");
  x = b.conv(x, "features.8", 384, 256, 3, 1, 1);
  x = b.relu(x, "features.9");
  x = b.conv(x, "features.10", 256, 256, 3, 1, 1);
  x = b.relu(x, "features.11");
  x = b.max_pool(x, "features.12", 3, 2);
  x = b.adaptive_avg_pool(x, "avgpool", 6, 6);
  x = b.flatten(x, "flatten");
  x = b.dropout(x, "classifier.0");
  x = b.linear(x, "classifier.1", 256 * 6 * 6, 4096);
  x = b.relu(x, "classifier.2");
  x = b.dropout(x, "classifier.3");
  x = b.linear(x, "classifier.4", 4096, 4096);
  x = b.relu(x, "classifier.5");
  b.linear(x, "classifier.6", 4096, k_classes);
  return b.finish();
}

GraphDesc vgg16() {
  GraphBuilder b("vgg16", image_input());
  constexpr int k_pool = 0;
  const std::vector<int> cfg{64,  64,  k_pool, 128, 128, k_pool, 256, 256, 256, k_pool,
                             512, 512, 512, k_pool, 512, 512, 512, k_pool};
  NodeId x = b.input();
  std::int64_t channels = 3;
  int index = 0;
  for (int c : cfg) {
    if (c == k_pool) {
      x = b.max_pool(x, fmt::format("features.{}", index++), 2, 2);
    } else {
      x = b.conv(x, fmt::format("features.{}", index++), channels, c, 3, 1, 1);
      x = b.relu(x, fmt::format("features.{}", index++));
      channels = c;
    }
  }
  x = b.adaptive_avg_pool(x, "avgpool", 7, 7);
  x = b.flatten(x, "flatten");
  x = b.linear(x, "classifier.0", 512 * 7 * 7, 4096);
  x = b.relu(x, "classifier.1");
  x = b.dropout(x, "classifier.2");
  x = b.linear(x, "classifier.3", 4096, 4096);
  x = b.relu(x, "classifier.4");
  x = b.dropout(x, "classifier.5");
  b.linear(x, "classifier.6", 4096, k_classes);
  return b.finish();
}

// conv (no bias) + batch norm (+ optional activation), the unit of ResNet,
// MobileNetV2 and GoogLeNet.
enum class Act { none, relu, relu6 };

NodeId conv_bn(GraphBuilder& b, NodeId x, const std::string& conv_name, const std::string& bn_name,
               std::int64_t cin, std::int64_t cout, std::int64_t k, std::int64_t s,
               std::int64_t p, std::int64_t groups, double eps, Act act,
               const std::string& act_name) {
  x = b.conv(x, conv_name, cin, cout, k, s, p, groups, false);
  x = b.batch_norm(x, bn_name, cout, eps);
  if (act == Act::relu) x = b.relu(x, act_name);
  if (act == Act::relu6) x = b.relu6(x, act_name);
  return x;
}

NodeId resnet_stem(GraphBuilder& b) {
  NodeId x = conv_bn(b, b.input(), "conv1", "bn1", 3, 64, 7, 2, 3, 1, 1e-5, Act::relu, "relu");
  return b.max_pool(x, "maxpool", 3, 2, 1);
}

NodeId basic_block(GraphBuilder& b, NodeId in, const std::string& p, std::int64_t cin,
                   std::int64_t planes, std::int64_t stride) {
  NodeId x = conv_bn(b, in, p + ".conv1", p + ".bn1", cin, planes, 3, stride, 1, 1, 1e-5,
                     Act::relu, p + ".relu1");
  x = conv_bn(b, x, p + ".conv2", p + ".bn2", planes, planes, 3, 1, 1, 1, 1e-5, Act::none, "");
  NodeId identity = in;
  if (stride != 1 || cin != planes) {
    identity = conv_bn(b, in, p + ".downsample.0", p + ".downsample.1", cin, planes, 1, stride, 0,
                       1, 1e-5, Act::none, "");
  }
  x = b.add({x, identity}, p + ".add");
  return b.relu(x, p + ".relu2");
}

NodeId bottleneck(GraphBuilder& b, NodeId in, const std::string& p, std::int64_t cin,
                  std::int64_t planes, std::int64_t stride) {
  constexpr std::int64_t k_expansion = 4;
  NodeId x = conv_bn(b, in, p + ".conv1", p + ".bn1", cin, planes, 1, 1, 0, 1, 1e-5, Act::relu,
                     p + ".relu1");
  x = conv_bn(b, x, p + ".conv2", p + ".bn2", planes, planes, 3, stride, 1, 1, 1e-5, Act::relu,
              p + ".relu2");
  x = conv_bn(b, x, p + ".conv3", p + ".bn3", planes, planes * k_expansion, 1, 1, 0, 1, 1e-5,
              Act::none, "");
  NodeId identity = in;
  if (stride != 1 || cin != planes * k_expansion) {
    identity = conv_bn(b, in, p + ".downsample.0", p + ".downsample.1", cin, planes * k_expansion,
                       1, stride, 0, 1, 1e-5, Act::none, "");
  }
  x = b.add({x, identity}, p + ".add");
  return b.relu(x, p + ".relu3");
}

GraphDesc resnet(const std::string& name, bool use_bottleneck, const std::vector<int>& blocks) {
  GraphBuilder b(name, image_input());
  NodeId x = resnet_stem(b);
  const std::int64_t expansion = use_bottleneck ? 4 : 1;
  std::int64_t cin = 64;
  for (int layer = 0; layer < 4; ++layer) {
    const std::int64_t planes = 64LL << layer;
    for (int i = 0; i < blocks[static_cast<std::size_t>(layer)]; ++i) {
      const std::int64_t stride = (layer > 0 && i == 0) ? 2 : 1;
      const std::string prefix = fmt::format("layer{}.{}", layer + 1, i);
      x = use_bottleneck ? bottleneck(b, x, prefix, cin, planes, stride)
                         : basic_block(b, x, prefix, cin, planes, stride);
      cin = planes * expansion;
    }
  }
  x = b.adaptive_avg_pool(x, "avgpool", 1, 1);
  x = b.flatten(x, "flatten");
  b.linear(x, "fc", 512 * expansion, k_classes);
  return b.finish();
}

GraphDesc mobilenet_v2() {
  GraphBuilder b("mobilenet_v2", image_input());
  NodeId x = conv_bn(b, b.input(), "features.0.0", "features.0.1", 3, 32, 3, 2, 1, 1, 1e-5,
                     Act::relu6, "features.0.2");
  struct Stage {
    std::int64_t t, c, n, s;
  };
  const std::vector<Stage> stages{{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
  std::int64_t cin = 32;
  int index = 1;
  for (const Stage& st : stages) {
    for (std::int64_t i = 0; i < st.n; ++i) {
      const std::int64_t stride = i == 0 ? st.s : 1;
      const std::int64_t hidden = cin * st.t;
      const std::string p = fmt::format("features.{}.conv", index++);
      NodeId y = x;
      int j = 0;
      if (st.t != 1) {
        y = conv_bn(b, y, fmt::format("{}.{}.0", p, j), fmt::format("{}.{}.1", p, j), cin, hidden,
                    1, 1, 0, 1, 1e-5, Act::relu6, fmt::format("{}.{}.2", p, j));
        ++j;
      }
      y = conv_bn(b, y, fmt::format("{}.{}.0", p, j), fmt::format("{}.{}.1", p, j), hidden, hidden,
                  3, stride, 1, hidden, 1e-5, Act::relu6, fmt::format("{}.{}.2", p, j));
      ++j;
      y = conv_bn(b, y, fmt::format("{}.{}", p, j), fmt::format("{}.{}", p, j + 1), hidden, st.c,
                  1, 1, 0, 1, 1e-5, Act::none, "");
      if (stride == 1 && cin == st.c) y = b.add({y, x}, p + ".add");
      x = y;
      cin = st.c;
    }
  }
  x = conv_bn(b, x, fmt::format("features.{}.0", index), fmt::format("features.{}.1", index), cin,
              1280, 1, 1, 0, 1, 1e-5, Act::relu6, fmt::format("features.{}.2", index));
  x = b.adaptive_avg_pool(x, "avgpool", 1, 1);
  x = b.flatten(x, "flatten");
  x = b.dropout(x, "classifier.0");
  b.linear(x, "classifier.1", 1280, k_classes);
  return b.finish();
}

// GoogLeNet's BasicConv2d: conv without bias, batch norm (eps 1e-3), ReLU.
NodeId basic_conv(GraphBuilder& b, NodeId x, const std::string& p, std::int64_t cin,
                  std::int64_t cout, std::int64_t k, std::int64_t s = 1, std::int64_t pad = 0) {
  return conv_bn(b, x, p + ".conv", p + ".bn", cin, cout, k, s, pad, 1, 1e-3, Act::relu,
                 p + ".relu");
}

NodeId inception(GraphBuilder& b, NodeId in, const std::string& p, std::int64_t cin,
                 std::int64_t ch1, std::int64_t ch3red, std::int64_t ch3, std::int64_t ch5red,
                 std::int64_t ch5, std::int64_t pool_proj) {
  NodeId b1 = basic_conv(b, in, p + ".branch1", cin, ch1, 1);
  NodeId b2 = basic_conv(b, in, p + ".branch2.0", cin, ch3red, 1);
  b2 = basic_conv(b, b2, p + ".branch2.1", ch3red, ch3, 3, 1, 1);
  NodeId b3 = basic_conv(b, in, p + ".branch3.0", cin, ch5red, 1);
  // torchvision keeps a 3x3 kernel here (a known deviation from the paper).
  b3 = basic_conv(b, b3, p + ".branch3.1", ch5red, ch5, 3, 1, 1);
  NodeId b4 = b.max_pool(in, p + ".branch4.0", 3, 1, 1, true);
  b4 = basic_conv(b, b4, p + ".branch4.1", cin, pool_proj, 1);
  return b.concat({b1, b2, b3, b4}, p + ".concat");
}

GraphDesc googlenet() {
  GraphBuilder b("googlenet", image_input());
  NodeId x = basic_conv(b, b.input(), "conv1", 3, 64, 7, 2, 3);
  x = b.max_pool(x, "maxpool1", 3, 2, 0, true);
  x = basic_conv(b, x, "conv2", 64, 64, 1);
  x = basic_conv(b, x, "conv3", 64, 192, 3, 1, 1);
  x = b.max_pool(x, "maxpool2", 3, 2, 0, true);
  x = inception(b, x, "inception3a", 192, 64, 96, 128, 16, 32, 32);
  x = inception(b, x, "inception3b", 256, 128, 128, 192, 32, 96, 64);
  x = b.max_pool(x, "maxpool3", 3, 2, 0, true);
  x = inception(b, x, "inception4a", 480, 192, 96, 208, 16, 48, 64);
  x = inception(b, x, "inception4b", 512, 160, 112, 224, 24, 64, 64);
  x = inception(b, x, "inception4c", 512, 128, 128, 256, 24, 64, 64);
  x = inception(b, x, "inception4d", 512, 112, 144, 288, 32, 64, 64);
  x = inception(b, x, "inception4e", 528, 256, 160, 320, 32, 128, 128);
  x = b.max_pool(x, "maxpool4", 2, 2, 0, true);
  x = inception(b, x, "inception5a", 832, 256, 160, 320, 32, 128, 128);
  x = inception(b, x, "inception5b", 832, 384, 192, 384, 48, 128, 128);
  x = b.adaptive_avg_pool(x, "avgpool", 1, 1);
  x = b.flatten(x, "flatten");
  x = b.dropout(x, "dropout");
  b.linear(x, "fc", 1024, k_classes);
  return b.finish();
}

using Factory = GraphDesc (*)();

const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> table{
      {"lenet", lenet},
      {"alexnet", alexnet},
      {"vgg16", vgg16},
      {"mobilenet_v2", mobilenet_v2},
      {"resnet18", [] { return resnet("resnet18", false, {2, 2, 2, 2}); }},
      {"resnet50", [] { return resnet("resnet50", true, {3, 4, 6, 3}); }},
      {"googlenet", googlenet},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& zoo_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, factory] : factories()) out.push_back(name);
    return out;
  }();
  return names;
}

bool is_zoo_model(const std::string& name) {
  for (const auto& [known, factory] : factories()) {
    if (known == name) return true;
  }
  return false;
}

GraphDesc zoo_graph(const std::string& name) {
  for (const auto& [known, factory] : factories()) {
    if (known == name) return factory();
  }
  throw std::invalid_argument(fmt::format("unknown model '{}' (known: {})", name,
                                          fmt::join(zoo_names(), ", ")));
}

}  // namespace tandem
