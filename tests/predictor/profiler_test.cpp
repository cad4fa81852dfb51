#include "predictor/profiler.hpp"

#include <cmath>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "models/fusion.hpp"
#include "predictor/predictor.hpp"

namespace tandem::predictor {
namespace {

TEST(Sweep, CoversEveryLayerKindAndEveryConvSubKind) {
  std::set<OpKind> kinds;
  std::set<std::string> conv;
  for (const SweepLayer& l : sweep_layers(true, 1)) {
    kinds.insert(l.kind);
    if (l.kind != OpKind::conv2d) continue;
    NodeFeatures x;
    x.in_channels = static_cast<double>(l.attrs.in_channels);
    x.groups = static_cast<double>(l.attrs.groups);
    x.kernel_h = static_cast<double>(l.attrs.kernel_h);
    x.kernel_w = static_cast<double>(l.attrs.kernel_w);
    conv.insert(regression_class(OpKind::conv2d, x, true));
  }
  for (OpKind k : all_op_kinds()) {
    if (k == OpKind::input) continue;
    EXPECT_TRUE(kinds.contains(k)) << to_string(k);
  }
  EXPECT_EQ(conv, (std::set<std::string>{"conv2d.1x1", "conv2d.depthwise", "conv2d.grouped", "conv2d.kxk"}));
  EXPECT_GT(sweep_layers(false, 1).size(), 3 * sweep_layers(true, 1).size());
}

TEST(Sweep, EveryQuickConfigurationBuildsAndTimes) {
  for (const SweepLayer& l : sweep_layers(true, 1)) {
    if (l.kind == OpKind::linear || l.kind == OpKind::conv2d) continue;  // weights: slow to init
    NodeFeatures x;
    const double ms = time_layer(l, 1.0, 1.0, 0.0, x);
    EXPECT_GT(ms, 0.0) << to_string(l.kind) << " " << shape_string(l.input);
    EXPECT_GT(x.output_bytes, 0.0);
  }
}

TEST(Profiler, TimerOverheadIsMeasured) {
  const double ns = measure_timer_overhead_ns();
  EXPECT_GE(ns, 0.0);
  EXPECT_TRUE(std::isfinite(ns));
}

TEST(Profiler, TimeModelGivesAPerNodeMedianForEveryComputedNode) {
  const auto model = build_model("lenet");
  const ModelTiming t = time_model(*model, {.slowdown = 2.0, .warmup = 1, .repeats = 3});
  ASSERT_EQ(t.node_ms.size(), model->graph().size());
  EXPECT_EQ(t.node_ms[0], 0.0);
  EXPECT_EQ(t.computed_nodes, static_cast<int>(model->graph().size()) - 1);
  double sum = 0;
  for (std::size_t i = 1; i < t.node_ms.size(); ++i) {
    EXPECT_GT(t.node_ms[i], 0.0) << model->graph().node(static_cast<NodeId>(i)).name;
    sum += t.node_ms[i];
  }
  EXPECT_DOUBLE_EQ(sum, t.node_sum_ms);
  EXPECT_GT(t.whole_ms, 0.0);
}

TEST(Profiler, ColdStartTimesTheProbeAfterEveryOtherModelAndAfterItself) {
  const auto lenet = build_model("lenet");
  const auto probe_again = make_model(cold_start_probe());  // a second "other" model
  const ColdStart c = measure_cold_start({lenet.get(), probe_again.get()}, {.warmup = 1, .repeats = 3});
  EXPECT_EQ(c.probe, "cold_start_probe");
  EXPECT_EQ(c.runs, 4);  // at least twice per other model
  EXPECT_GT(c.warm_ms, 0.0);
  EXPECT_GT(c.cold_ms, 0.0);
  EXPECT_GE(c.excess_ms(), 0.0);
  // The probe is no zoo model: a leave-one-model-out check never sees one through it.
  for (const auto& name : zoo_names()) EXPECT_NE(name, c.probe);
  // Without other models the probe still times (cold = after itself).
  EXPECT_EQ(measure_cold_start({}, {.warmup = 1, .repeats = 2}).runs, 2);
}

TEST(Profiler, QuickLenetProfileLoadsAndPredictsEveryNode) {
  ProfileOptions o;
  o.device = "test";
  o.threads = 1;
  o.slowdown = 2.0;
  o.models = {"lenet"};
  o.quick = true;
  o.progress = false;
  const DeviceProfile made = profile_device(o);
  const auto path = std::filesystem::temp_directory_path() /
                    ("tandem_profile_" + std::to_string(::getpid()) + ".json");
  save_profile(made, path);
  const DeviceProfile p = load_profile(path);
  std::filesystem::remove(path);

  EXPECT_EQ(p.device, "test");
  EXPECT_EQ(p.threads, 1);
  EXPECT_DOUBLE_EQ(p.slowdown, 2.0);
  EXPECT_TRUE(p.quick);
  EXPECT_FALSE(p.libtorch_version.empty());
  EXPECT_FALSE(p.cpu_model.empty());
  ASSERT_EQ(p.runs.size(), 1u);
  EXPECT_EQ(p.runs[0].model, "lenet");
  EXPECT_EQ(p.cold_start.probe, "cold_start_probe");
  EXPECT_GE(p.cold_start.runs, 2);
  // The probe's cold run beyond what the fitted regression predicts for it.
  EXPECT_DOUBLE_EQ(p.overhead.cold_ms, cold_start_residual(p));
  DeviceProfile without = p;
  without.overhead.cold_ms = 0;
  EXPECT_DOUBLE_EQ(p.overhead.cold_ms,
                   std::max(0.0, p.cold_start.cold_ms - Predictor(without).whole_ms(cold_start_probe())));
  const auto lenet = build_model("lenet");
  const GraphDesc& g = lenet->graph();
  EXPECT_EQ(p.measured.size(), g.size() - 1);
  std::size_t sweep = 0;
  for (const Sample& s : p.samples) sweep += s.source == "sweep";
  EXPECT_EQ(sweep, sweep_layers(true, o.seed).size());

  const Predictor pred(p);
  for (const Node& n : g.nodes()) {
    if (n.kind == OpKind::input) continue;
    EXPECT_TRUE(pred.in_table(g, n.id)) << n.name;
    const double reg = pred.regression_ms(g, n.id);
    EXPECT_GT(reg, 0.0) << n.name;
    EXPECT_TRUE(std::isfinite(reg)) << n.name;
    EXPECT_GT(pred.node_ms(g, n.id), 0.0) << n.name;
  }
  // Unseen models: every node has a class and a positive prediction.
  for (const char* name : {"resnet18", "mobilenet_v2", "googlenet"}) {
    const auto m = build_model(name);
    for (const Node& n : m->graph().nodes()) {
      if (n.kind == OpKind::input) continue;
      EXPECT_FALSE(pred.in_table(m->graph(), n.id));
      const double ms = pred.node_ms(m->graph(), n.id);
      if (folded_into(m->graph(), n.id) >= 0) {
        // Computed inside its convolution's call: nothing of its own.
        EXPECT_EQ(ms, 0.0) << name << " " << n.name;
        EXPECT_GT(pred.regression_ms(m->graph(), n.id), 0.0) << name << " " << n.name;
      } else {
        EXPECT_TRUE(ms > 0 && std::isfinite(ms)) << name << " " << n.name;
      }
    }
  }

  ValidateOptions vo;
  vo.warmup = 1;
  vo.repeats = 2;
  vo.progress = false;
  const ValidationReport r = validate_profile(p, vo);
  ASSERT_EQ(r.models.size(), 1u);
  EXPECT_EQ(r.models[0].model, "lenet");
  EXPECT_GT(r.models[0].measured_ms, 0.0);
  EXPECT_GT(r.models[0].lomo_ms, 0.0);
  EXPECT_GT(r.models[0].table_ms, 0.0);
  EXPECT_FALSE(r.models[0].sides.empty());
  EXPECT_TRUE(std::isfinite(r.lomo_mape_pct));
}

TEST(Profiler, RejectsBadOptions) {
  ProfileOptions o;
  o.device = "x";
  o.threads = 0;
  EXPECT_THROW(profile_device(o), std::invalid_argument);
  o.threads = 1;
  o.slowdown = 0.5;
  EXPECT_THROW(profile_device(o), std::invalid_argument);
  o.slowdown = 1;
  o.models = {"no_such_model"};
  EXPECT_THROW(profile_device(o), std::invalid_argument);
}

}  // namespace
}  // namespace tandem::predictor
