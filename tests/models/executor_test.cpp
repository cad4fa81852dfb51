// The optimised executor (models/executor.hpp) against the plain per-node
// path (RunOptions::plain): the cases the zoo's whole runs and articulation
// cuts (split_test) do not reach — a batch norm cut off from its
// convolution, intermediate values asked for, in-place updates next to the
// caller's tensors, and every layer kind on its own.

#include <dlfcn.h>
#include <sys/types.h>

#include <chrono>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "models/fusion.hpp"
#include "models/graph_builder.hpp"
#include "models/model.hpp"

namespace tandem {
namespace {

constexpr double k_rel_tol = 1e-4;

double max_rel_diff(const at::Tensor& a, const at::Tensor& b) {
  const double scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a - b).abs().max().item<double>() / scale;
}

// ||a - b|| / ||b||: for values inside a network. ReLU6 clips a tensor whose
// entries reach ~40 to at most 6, so the max-abs measure would set rounding of
// the unclipped input against the clipped output's scale (measured:
// mobilenet_v2's last ReLU6 differs by 2e-4 of 6, its input by 3e-5 of 40).
double norm_rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-12);
}

void expect_maps_equal(const TensorMap& got, const TensorMap& want, const std::string& what,
                       double (*diff)(const at::Tensor&, const at::Tensor&) = max_rel_diff) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const auto& [id, w] : want) {
    ASSERT_TRUE(got.contains(id)) << what << " node " << id;
    EXPECT_EQ(got.at(id).layout(), at::kStrided) << what << " node " << id;
    EXPECT_LE(diff(got.at(id), w), k_rel_tol) << what << " node " << id;
  }
}

// Every value asked for at once: no convolution's output is read by its batch
// norm alone, so nothing folds, and every in-place update must leave the
// values asked for alone.
TEST(Executor, EveryIntermediateValueEqualsThePlainPath) {
  for (const char* name : {"mobilenet_v2", "googlenet", "resnet18"}) {
    const auto m = build_model(name, {.seed = 4});
    const GraphDesc& g = m->graph();
    std::vector<bool> compute(g.size(), true);
    compute[0] = false;
    std::vector<NodeId> wanted;
    for (const Node& n : g.nodes()) {
      if (n.id > 0) wanted.push_back(n.id);
    }
    const TensorMap available{{0, m->make_input(3)}};
    expect_maps_equal(m->run_nodes(compute, available, wanted),
                      m->run_nodes(compute, available, wanted, {.plain = true}), name, norm_rel_diff);
  }
}

TEST(Executor, BatchNormOnTheOtherSideOfACut) {
  const auto m = build_model("resnet18", {.seed = 2});
  const GraphDesc& g = m->graph();
  ASSERT_EQ(folded_into(g, g.find("bn1")), g.find("conv1"));
  const Cut cut = Cut::closure_of(g, {g.find("conv1")});
  const at::Tensor x = m->make_input(1);
  const TensorMap edge = m->run_edge(cut, x);
  const TensorMap edge_plain = m->run_edge(cut, x, {.plain = true});
  expect_maps_equal(edge, edge_plain, "edge side: the convolution without its batch norm");
  expect_maps_equal(m->run_cloud(cut, edge), m->run(x, {.plain = true}), "cloud side");
}

TEST(Executor, NeverOverwritesTheCallersTensors) {
  // The cloud side of resnet18 after layer1.0.add starts with that block's
  // ReLU, which overwrites its input when the run owns it.
  const auto m = build_model("resnet18", {.seed = 2});
  const GraphDesc& g = m->graph();
  const Cut cut = Cut::closure_of(g, {g.find("layer1.0.add")});
  const at::Tensor x = m->make_input(1);
  const at::Tensor x_copy = x.clone();
  const TensorMap edge = m->run_edge(cut, x);
  ASSERT_EQ(edge.size(), 1u);
  const at::Tensor crossing = edge.begin()->second.clone();
  const TensorMap out = m->run_cloud(cut, edge);
  EXPECT_TRUE(at::equal(edge.begin()->second, crossing));
  EXPECT_TRUE(at::equal(x, x_copy));
  expect_maps_equal(out, m->run(x, {.plain = true}), "cloud side");

  // A graph whose input goes straight into ReLU and into an add.
  GraphBuilder b("relu_first", {1, 8, 8, 8});
  const NodeId r = b.relu(b.input(), "relu");
  const NodeId c = b.conv(r, "conv", 8, 8, 3, 1, 1);
  b.add({c, b.input()}, "add");
  const auto small = make_model(b.finish(), {.seed = 1});
  const at::Tensor y = at::randn({1, 8, 8, 8});
  const at::Tensor y_copy = y.clone();
  expect_maps_equal(small->run(y), small->run(y, {.plain = true}), "relu_first");
  EXPECT_TRUE(at::equal(y, y_copy));
}

// A small matrix-vector product runs on the calling thread alone (a sleeping
// second thread costs milliseconds to wake); a large one on every thread. Both
// give the plain path's values, and the caller's thread count is what it was.
TEST(Executor, OneRowLinearLayersKeepTheCallersThreadCount) {
  const int was = at::get_num_threads();
  at::set_num_threads(2);
  GraphBuilder b("fc", {1, 2048});
  const NodeId big = b.linear(b.input(), "big", 2048, 2048);  // 4M weights: at the bound, parallel
  const NodeId relu = b.relu(big, "relu");
  b.linear(relu, "small", 2048, 10);  // 20k weights: one thread
  const auto m = make_model(b.finish(), {.seed = 3});
  const at::Tensor x = at::randn({1, 2048});
  for (int rep = 0; rep < 2; ++rep) {
    expect_maps_equal(m->run(x), m->run(x, {.plain = true}), "fc");
    EXPECT_EQ(at::get_num_threads(), 2) << "run " << rep;
  }
  at::set_num_threads(was);
}

// Every program that runs models is linked with jemalloc unless the build
// says otherwise (CMakeLists.txt, TANDEM_JEMALLOC): malloc itself must
// resolve into it, not merely the library be loaded.
TEST(Executor, RunsOnTheAllocatorTheBuildChose) {
#ifdef TANDEM_TEST_EXPECT_JEMALLOC
  EXPECT_EQ(process_allocator().rfind("jemalloc ", 0), 0U) << process_allocator();
#else
  EXPECT_EQ(process_allocator(), "glibc malloc");
#endif
}

#ifdef TANDEM_TEST_EXPECT_JEMALLOC
// Once a model is loaded, jemalloc keeps freed pages instead of returning
// them to the kernel (executor.cpp, keep_activations_in_heap): in the
// arenas made from now on and in the one this thread allocates from.
TEST(Executor, KeepsFreedPagesUnderJemalloc) {
  const auto m = build_model("lenet");
  m->run(m->make_input(1));
  using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
  const auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  ASSERT_NE(mallctl, nullptr);
  ssize_t decay = 0;
  std::size_t size = sizeof decay;
  ASSERT_EQ(mallctl("arenas.dirty_decay_ms", &decay, &size, nullptr, 0), 0);
  EXPECT_EQ(decay, -1) << "arenas made later";
  unsigned arena = 0;
  size = sizeof arena;
  ASSERT_EQ(mallctl("thread.arena", &arena, &size, nullptr, 0), 0);
  decay = 0;
  size = sizeof decay;
  const std::string name = "arena." + std::to_string(arena) + ".dirty_decay_ms";
  ASSERT_EQ(mallctl(name.c_str(), &decay, &size, nullptr, 0), 0);
  EXPECT_EQ(decay, -1) << name;
}
#endif

TEST(Executor, ReportsEveryNodeOnceInOrder) {
  const auto m = build_model("resnet18");
  for (const bool plain : {false, true}) {
    std::vector<NodeId> seen;
    m->run(m->make_input(1), {.on_node = [&](NodeId id, double ms) {
                                seen.push_back(id);
                                EXPECT_GE(ms, 0.0);
                              },
                              .plain = plain});
    ASSERT_EQ(seen.size(), m->graph().size() - 1) << "plain " << plain;
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<NodeId>(i + 1));
  }
}

TEST(Executor, AStretchedRunLastsAtLeastWhatItsNodesReport) {
  // RunOptions::slowdown: every node reports its compute times the slowdown,
  // and the run returns only after the slowdown's share of all of them, so
  // it lasts at least the sum of what the nodes report. (A lower bound by
  // construction, not a timing claim.)
  const auto m = build_model("lenet");
  const auto input = m->make_input(1);
  constexpr double k_slowdown = 50;
  double reported_ms = 0;
  int nodes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const TensorMap out = m->run(input, {.slowdown = k_slowdown, .on_node = [&](NodeId, double ms) {
                                         reported_ms += ms;
                                         ++nodes;
                                       }});
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(nodes, static_cast<int>(m->graph().size()) - 1);
  EXPECT_GT(reported_ms, 0.0);
  EXPECT_GE(wall_ms, reported_ms);
  expect_maps_equal(out, m->run(input), "lenet stretched");
  EXPECT_THROW(m->run(input, {.slowdown = 0.5}), std::invalid_argument);
}

// One-layer models of every built-in kind, including the shapes that leave
// oneDNN's layout (small convolutions, pools oneDNN cannot do) and joins
// that read one value twice.
TEST(Executor, EveryLayerKindEqualsThePlainPath) {
  struct Case {
    std::string what;
    std::function<void(GraphBuilder&)> build;
    Shape input;
  };
  const std::vector<Case> cases{
      {"small conv + bn + relu6", [](GraphBuilder& b) {
         b.relu6(b.batch_norm(b.conv(b.input(), "c", 4, 4, 3, 1, 1, 1, false), "bn", 4), "r");
       }, {1, 4, 8, 8}},
      {"large conv + bn + relu, pools", [](GraphBuilder& b) {
         NodeId x = b.relu(b.batch_norm(b.conv(b.input(), "c", 16, 32, 3, 1, 1, 1, false), "bn", 32), "r");
         x = b.max_pool(x, "mp", 3, 2, 0, true);
         x = b.avg_pool(x, "ap", 2, 2);
         b.adaptive_avg_pool(x, "aap", 3, 3);  // 8x8 -> 3x3: not divisible, leaves oneDNN
       }, {1, 16, 32, 32}},
      {"depthwise + pointwise + residual", [](GraphBuilder& b) {
         NodeId x = b.conv(b.input(), "dw", 32, 32, 3, 1, 1, 32);
         x = b.relu6(b.batch_norm(x, "bn", 32), "r6");
         x = b.conv(x, "pw", 32, 32, 1);
         b.add({x, b.input(), x}, "add");
       }, {1, 32, 28, 28}},
      {"activations after oneDNN convolutions, channels padded to the block or not", [](GraphBuilder& b) {
         // 72 and 120 channels are padded in oneDNN's blocked layout (LibTorch
         // 1.13's oneDNN hardtanh / hardswish / hardsigmoid are wrong there), 96 is not.
         const NodeId first = b.relu6(b.conv(b.input(), "c72", 16, 72, 3, 1, 1), "r6_72");
         NodeId x = b.layer(OpKind::hardswish, "hs_72", {first}, {});
         x = b.relu6(b.conv(x, "c96", 72, 96, 3, 1, 1), "r6_96");
         x = b.layer(OpKind::hardswish, "hs_96", {x}, {});
         x = b.layer(OpKind::hardsigmoid, "hsig_96", {x}, {});
         x = b.conv(x, "c120", 96, 120, 3, 1, 1);
         x = b.layer(OpKind::hardsigmoid, "hsig_120", {x}, {});
         x = b.layer(OpKind::hardswish, "hs_120", {b.relu6(x, "r6_120")}, {});
         // The rest of oneDNN's layout on padded channels: a residual add, a
         // batch norm after it (no convolution to fold into), pools.
         x = b.add({b.conv(x, "c120_72", 120, 72, 3, 1, 1), first}, "add_72");
         x = b.max_pool(b.batch_norm(x, "bn_72", 72), "mp_72", 3, 2, 1);
         b.adaptive_avg_pool(b.avg_pool(x, "ap_72", 2, 2), "gap_72", 1, 1);
       }, {1, 16, 28, 28}},
      {"add of one value twice", [](GraphBuilder& b) {
         const NodeId x = b.relu(b.conv(b.input(), "c", 16, 16, 3, 1, 1), "r");
         b.relu(b.add({x, x}, "add"), "r2");
       }, {1, 16, 32, 32}},
      {"concat of branches, flatten, linear", [](GraphBuilder& b) {
         const NodeId l = b.conv(b.input(), "l", 16, 32, 1);
         const NodeId r = b.relu(b.conv(b.input(), "r", 16, 16, 3, 1, 1), "rr");
         NodeId x = b.concat({l, r, b.input()}, "cat");
         x = b.adaptive_avg_pool(x, "gap", 1, 1);
         x = b.flatten(x, "flat");
         x = b.relu(b.linear(x, "fc1", 64, 32), "fr");
         x = b.dropout(x, "drop");
         b.softmax(b.linear(x, "fc2", 32, 10, false), "sm");
       }, {1, 16, 14, 14}},
  };
  for (const Case& c : cases) {
    GraphBuilder b("case", c.input);
    c.build(b);
    const auto m = make_model(b.finish(), {.seed = 9});
    const at::Tensor x = at::randn(c.input);
    expect_maps_equal(m->run(x), m->run(x, {.plain = true}), c.what);
    for (const Cut& cut : articulation_cuts(m->graph())) {
      const TensorMap edge = m->run_edge(cut, x);
      TensorMap out = m->run_cloud(cut, edge);
      for (NodeId s : m->graph().sinks()) {
        if (cut.on_edge(s)) out.emplace(s, edge.at(s));
      }
      expect_maps_equal(out, m->run(x, {.plain = true}), c.what + " cut " + cut.to_string());
    }
  }
}

}  // namespace
}  // namespace tandem
