#include "predictor/regression.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include <gtest/gtest.h>

namespace tandem::predictor {
namespace {

double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::exp(std::uniform_real_distribution<>(std::log(lo), std::log(hi))(rng));
}

// Features of a fully connected layer, drawn independently so the design is
// well conditioned (real layers tie MACs to parameter bytes).
NodeFeatures random_linear(std::mt19937_64& rng) {
  NodeFeatures x;
  x.param_bytes = log_uniform(rng, 1e3, 4e8);
  x.macs = log_uniform(rng, 1e3, 1e8);
  x.input_bytes = log_uniform(rng, 40, 1e5);
  x.output_bytes = log_uniform(rng, 40, 1e5);
  x.arity = 1;
  return x;
}

NodeFeatures random_join(std::mt19937_64& rng) {
  NodeFeatures x;
  x.output_bytes = log_uniform(rng, 1e3, 2e7);
  x.arity = std::uniform_int_distribution<>(2, 4)(rng);
  x.input_bytes = x.output_bytes * x.arity * log_uniform(rng, 0.5, 2.0);
  return x;
}

std::vector<Sample> make_samples(OpKind kind, int n, std::uint64_t seed, double noise,
                                 const std::function<NodeFeatures(std::mt19937_64&)>& draw,
                                 const std::function<double(const NodeFeatures&)>& truth) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<> eps(0.0, noise);
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    const NodeFeatures x = draw(rng);
    out.push_back({kind, x, truth(x) * std::exp(eps(rng)), "sweep"});
  }
  return out;
}

TEST(Nnls, MatchesLeastSquaresWhenUnconstrainedOptimumIsPositive) {
  Eigen::MatrixXd a(4, 2);
  a << 1, 0, 0, 1, 1, 1, 2, 1;
  const Eigen::VectorXd truth = Eigen::Vector2d(0.5, 2.0);
  const Eigen::VectorXd x = nnls(a, a * truth);
  EXPECT_NEAR(x[0], 0.5, 1e-9);
  EXPECT_NEAR(x[1], 2.0, 1e-9);
}

TEST(Nnls, ClampsANegativeCoefficientAndSatisfiesKkt) {
  Eigen::MatrixXd a(3, 2);
  a << 1, 1, 1, 2, 1, 3;
  const Eigen::Vector3d b(3, 2, 1);  // the unconstrained slope is -1
  const Eigen::VectorXd x = nnls(a, b);
  EXPECT_GE(x[0], 0);
  EXPECT_DOUBLE_EQ(x[1], 0.0);
  const Eigen::VectorXd grad = a.transpose() * (b - a * x);
  EXPECT_NEAR(grad[0], 0.0, 1e-9);  // active: optimal
  EXPECT_LE(grad[1], 1e-9);         // at the bound: no descent direction into c >= 0
}

TEST(Regression, LinearFormRecoversKnownCoefficients) {
  // ms = 0.02 + 0.25/MB weights + 0.1/MB weights beyond 1 MiB + 0.01/M MACs
  //      + 0/MB in + 0.5/MB out
  const std::vector<double> truth{0.02, 0.25, 0.1, 0.01, 0.0, 0.5};
  const auto f = [&](const NodeFeatures& x) {
    return truth[0] + truth[1] * x.param_bytes / 1e6 + truth[2] * std::max(0.0, x.param_bytes - (1 << 20)) / 1e6 +
           truth[3] * x.macs / 1e6 + truth[4] * x.input_bytes / 1e6 + truth[5] * x.output_bytes / 1e6;
  };
  const auto samples = make_samples(OpKind::linear, 200, 7, 0.0, random_linear, f);
  const Regressor r = fit_regressor("linear", RegressionForm::linear, samples);
  ASSERT_EQ(r.coefficients.size(), truth.size() + 2);  // + after_sleep, cold_param_bytes
  for (std::size_t i = 0; i < truth.size(); ++i) {
    EXPECT_NEAR(r.coefficients[i], truth[i], 1e-6 + 1e-6 * truth[i]) << "coefficient " << i;
  }
  // Sweep samples, none after a sleep: both context terms stay 0.
  EXPECT_EQ(r.coefficients[truth.size()], 0.0);
  EXPECT_EQ(r.coefficients[truth.size() + 1], 0.0);
  EXPECT_NEAR(r.stats.median_abs_pct, 0.0, 1e-6);
}

TEST(Regression, LinearFormIsCloseUnderMultiplicativeNoise) {
  const auto f = [](const NodeFeatures& x) { return 0.05 + 0.3 * x.param_bytes / 1e6; };
  const auto samples = make_samples(OpKind::linear, 400, 8, 0.03, random_linear, f);
  const Regressor r = fit_regressor("linear", RegressionForm::linear, samples);
  EXPECT_NEAR(r.coefficients[0], 0.05, 0.005);
  EXPECT_NEAR(r.coefficients[1], 0.3, 0.03);
  for (double c : r.coefficients) EXPECT_GE(c, 0.0);
}

TEST(Regression, LogLinearFormRecoversKnownCoefficients) {
  // log ms = -3 + 0.8 log(1 + out/1e4) + 0.1 log(1 + in/1e4) + 0.3 log(1 + arity)
  const std::vector<double> truth{-3.0, 0.1, 0.8, 0.3};  // intercept, input, output, arity
  const auto f = [&](const NodeFeatures& x) {
    return std::exp(truth[0] + truth[1] * std::log1p(x.input_bytes / 1e4) +
                    truth[2] * std::log1p(x.output_bytes / 1e4) + truth[3] * std::log1p(x.arity));
  };
  const auto samples = make_samples(OpKind::add, 300, 9, 0.0, random_join, f);
  const Regressor r = fit_regressor("add", RegressionForm::log_linear, samples);
  ASSERT_EQ(r.coefficients.size(), truth.size() + 2);  // + after_sleep, cold_param_bytes
  for (std::size_t i = 0; i < truth.size(); ++i) {
    EXPECT_NEAR(r.coefficients[i], truth[i], 0.02) << "coefficient " << i;
  }
  EXPECT_GT(r.stats.r2, 0.999);
}

TEST(Regression, LearnsTheWakeUpCostAfterASleep) {
  // All samples share the shape terms; after a sleep every call costs
  // 0.03 ms more.
  const auto f = [](const NodeFeatures& x) { return 0.01 + 0.4 * x.output_bytes / 1e6; };
  std::vector<Sample> samples = make_samples(OpKind::add, 60, 16, 0.0, random_join, f);
  for (Sample s : make_samples(OpKind::add, 60, 17, 0.0, random_join, f)) {
    s.ms += 0.03;
    s.after_sleep = true;
    samples.push_back(s);
  }
  const Regressor r = fit_regressor("add", RegressionForm::linear, samples);
  ASSERT_EQ(r.coefficients.size(), 6u);  // 1, input, output, arity, after_sleep, cold
  EXPECT_NEAR(r.coefficients[0], 0.01, 1e-6);
  EXPECT_NEAR(r.coefficients[2], 0.4, 1e-6);
  EXPECT_NEAR(r.coefficients[4], 0.03, 1e-6);
  NodeFeatures x;
  x.output_bytes = 1e6;
  EXPECT_NEAR(r.predict(x, true), 0.44, 1e-6);
  EXPECT_NEAR(r.predict(x), 0.41, 1e-6);
}

TEST(Regression, LearnsTheColdWeightCostOfConvolutionsInContext) {
  // In a model, conv weights come from memory: 0.5 ms more per MB of weights
  // than in the sweep, where the repeated layer finds them in cache.
  const auto draw = [](std::mt19937_64& rng) {
    NodeFeatures x;
    x.in_channels = x.out_channels = 64;
    x.groups = 1;
    x.kernel_h = x.kernel_w = 3;
    x.macs = log_uniform(rng, 1e5, 1e9);
    x.param_bytes = log_uniform(rng, 1e3, 1e7);
    x.output_bytes = log_uniform(rng, 1e3, 1e7);
    x.input_bytes = log_uniform(rng, 1e3, 1e7);
    return x;
  };
  const auto f = [](const NodeFeatures& x) {
    return 0.02 + 0.25 * x.param_bytes / 1e6 + 0.01 * x.macs / 1e6;
  };
  std::vector<Sample> samples = make_samples(OpKind::conv2d, 80, 18, 0.0, draw, f);
  for (Sample s : make_samples(OpKind::conv2d, 80, 19, 0.0, draw, f)) {
    s.ms += 0.5 * s.x.param_bytes / 1e6;
    s.source = "model:m";
    samples.push_back(s);
  }
  const Regressor r = fit_regressor("conv2d.kxk", RegressionForm::linear, samples);
  ASSERT_EQ(r.coefficients.size(), 8u);  // 1, macs, window, in, out, param, sleep, cold
  EXPECT_NEAR(r.coefficients[1], 0.01, 1e-6);
  EXPECT_NEAR(r.coefficients[5], 0.25, 1e-6);
  EXPECT_NEAR(r.coefficients[7], 0.5, 1e-6);
  NodeFeatures x = draw(*std::make_unique<std::mt19937_64>(1));
  x.macs = 0, x.input_bytes = x.output_bytes = 0, x.kernel_h = x.kernel_w = 0;
  x.param_bytes = 2e6;
  EXPECT_NEAR(r.predict(x), 0.02 + 1.5, 1e-6);                // in a model
  EXPECT_NEAR(r.predict(x, false, false), 0.02 + 0.5, 1e-6);  // as in the sweep
}

TEST(Regression, AProfileWithoutTheGroupedClassPredictsGroupedConvsAsKxK) {
  // Profiles made before conv2d.grouped existed hold grouped convolutions in
  // conv2d.kxk; they must still predict them, and other missing classes
  // still fail naming the class.
  Regressor kxk;
  kxk.cls = "conv2d.kxk";
  kxk.form = RegressionForm::linear;
  kxk.coefficients.assign(design_names("conv2d.kxk", kxk.form).size() + 1, 0.0);
  kxk.coefficients[0] = 0.7;  // the intercept
  kxk.floor_ms = 0.1;
  RegressionSet old;
  old.regressors.emplace("conv2d.kxk", kxk);
  NodeFeatures x;
  x.in_channels = x.out_channels = 64;
  x.groups = 4;
  x.kernel_h = x.kernel_w = 3;
  ASSERT_EQ(regression_class(OpKind::conv2d, x, true), "conv2d.grouped");
  EXPECT_DOUBLE_EQ(old.predict(OpKind::conv2d, x), kxk.predict(x));
  x.groups = 64;  // depthwise: not a k x k
  EXPECT_THROW(old.predict(OpKind::conv2d, x), std::out_of_range);
}

TEST(Regression, SelectionPicksLinearOnLinearData) {
  // A sum of two terms: no power law fits it across four decades.
  const auto f = [](const NodeFeatures& x) {
    return 0.01 + 0.2 * x.input_bytes / 1e6 + 1.5 * x.arity;
  };
  const auto samples = make_samples(OpKind::add, 120, 10, 0.02, random_join, f);
  const Regressor r = fit_best("add", samples);
  EXPECT_EQ(r.form, RegressionForm::linear);
  EXPECT_LT(r.stats.cv_linear_pct, r.stats.cv_log_linear_pct);
}

TEST(Regression, SelectionPicksLogLinearOnPowerLawData) {
  const auto f = [](const NodeFeatures& x) {
    return 0.004 * std::pow(1 + x.output_bytes / 1e4, 0.6) * std::pow(1 + x.arity, 0.5);
  };
  const auto samples = make_samples(OpKind::add, 120, 11, 0.02, random_join, f);
  const Regressor r = fit_best("add", samples);
  EXPECT_EQ(r.form, RegressionForm::log_linear);
  EXPECT_LT(r.stats.cv_log_linear_pct, r.stats.cv_linear_pct);
}

TEST(Regression, SmallLayersStayAccurateAcrossFiveDecades) {
  // docs/design.md §9: unweighted least squares over 0.01 ms .. 1 s predicts small
  // layers negative. Relative weighting must keep them within a few percent.
  NodeFeatures probe;
  const auto draw = [](std::mt19937_64& rng) {
    NodeFeatures x;
    x.output_bytes = log_uniform(rng, 1e2, 1e9);
    x.input_bytes = x.output_bytes;
    return x;
  };
  const auto f = [](const NodeFeatures& x) { return 0.008 + 1e-6 * x.output_bytes; };
  const auto samples = make_samples(OpKind::relu, 200, 12, 0.02, draw, f);
  const Regressor r = fit_regressor("relu", RegressionForm::linear, samples);
  probe.output_bytes = probe.input_bytes = 200;
  EXPECT_NEAR(r.predict(probe), f(probe), 0.05 * f(probe));
  probe.output_bytes = probe.input_bytes = 0;
  EXPECT_GT(r.predict(probe), 0.0);
}

TEST(Regression, PredictionsArePositiveEvenForEmptyFeatures) {
  const auto f = [](const NodeFeatures& x) { return 1e-3 * std::pow(1 + x.output_bytes / 1e4, 0.9); };
  const auto samples = make_samples(OpKind::add, 50, 13, 0.05, random_join, f);
  for (RegressionForm form : {RegressionForm::linear, RegressionForm::log_linear}) {
    const Regressor r = fit_regressor("add", form, samples);
    EXPECT_GT(r.floor_ms, 0.0);
    EXPECT_GE(r.predict(NodeFeatures{}), r.floor_ms);
  }
}

TEST(Regression, RejectsNonPositiveTimesAndEmptyData) {
  std::vector<Sample> samples{{OpKind::relu, NodeFeatures{}, 0.0, "sweep"}};
  EXPECT_THROW(fit_regressor("relu", RegressionForm::linear, samples), std::invalid_argument);
  EXPECT_THROW(fit_regressor("relu", RegressionForm::linear, {}), std::invalid_argument);
  EXPECT_THROW(design_row("no_such_class", RegressionForm::linear, NodeFeatures{}),
               std::invalid_argument);
}

TEST(Regression, SleepsOnlyPastTheStretchSpin) {
  EXPECT_FALSE(sleeps_after(10.0, 1.0));   // no slowdown: never stretched
  EXPECT_FALSE(sleeps_after(0.2, 4.0));    // extra 0.15 ms: spins
  EXPECT_FALSE(sleeps_after(2.4, 4.0));    // extra 1.8 ms: still spins (k_stretch_spin_ms = 2)
  EXPECT_TRUE(sleeps_after(3.2, 4.0));     // extra 2.4 ms: sleeps
}

TEST(Regression, ConvSubKinds) {
  NodeFeatures x;
  x.in_channels = x.out_channels = x.groups = 32;
  x.kernel_h = x.kernel_w = 3;
  EXPECT_EQ(regression_class(OpKind::conv2d, x, true), "conv2d.depthwise");
  x.groups = 1;
  EXPECT_EQ(regression_class(OpKind::conv2d, x, true), "conv2d.kxk");
  x.groups = 4;  // grouped but not depthwise
  EXPECT_EQ(regression_class(OpKind::conv2d, x, true), "conv2d.grouped");
  x.kernel_h = x.kernel_w = 1;  // a grouped 1x1 is grouped too
  EXPECT_EQ(regression_class(OpKind::conv2d, x, true), "conv2d.grouped");
  x.kernel_h = x.kernel_w = 3;
  x.groups = 1;
  x.kernel_h = x.kernel_w = 1;
  EXPECT_EQ(regression_class(OpKind::conv2d, x, true), "conv2d.1x1");
  EXPECT_EQ(regression_class(OpKind::conv2d, x, false), "conv2d");
  EXPECT_EQ(class_kind("conv2d.1x1"), OpKind::conv2d);
  EXPECT_EQ(class_kind("max_pool2d"), OpKind::max_pool2d);
}

TEST(Regression, FitRegressionsCoversEveryClassPresent) {
  std::mt19937_64 rng(14);
  std::vector<Sample> samples;
  auto conv = [&](double cin, double groups, double k, double per_mac_ms) {
    for (int i = 0; i < 30; ++i) {
      NodeFeatures x;
      x.in_channels = cin;
      x.out_channels = groups > 1 ? cin : 64;
      x.groups = groups;
      x.kernel_h = x.kernel_w = k;
      x.out_h = x.out_w = log_uniform(rng, 7, 112);
      x.output_bytes = 4 * x.out_channels * x.out_h * x.out_w;
      x.input_bytes = 4 * cin * x.out_h * x.out_w;
      x.macs = x.output_bytes / 4 * (cin / groups) * k * k;
      x.param_bytes = 4 * x.out_channels * (cin / groups) * k * k;
      samples.push_back({OpKind::conv2d, x, 0.01 + per_mac_ms * x.macs / 1e6, "sweep"});
    }
  };
  // Three regimes with very different speeds: splitting must validate better.
  conv(64, 64, 3, 0.5);
  conv(64, 1, 1, 0.02);
  conv(64, 1, 3, 0.005);
  for (const Sample& s : make_samples(OpKind::add, 30, 15, 0.01, random_join,
                                      [](const NodeFeatures& x) { return 0.01 + x.output_bytes / 1e9; })) {
    samples.push_back(s);
  }
  samples.push_back({OpKind::input, NodeFeatures{}, 1.0, "sweep"});  // ignored
  const RegressionSet set = fit_regressions(samples);
  EXPECT_TRUE(set.split_conv);
  EXPECT_LT(set.cv_conv_split_pct, set.cv_conv_joint_pct);
  for (const char* cls : {"conv2d.depthwise", "conv2d.1x1", "conv2d.kxk", "add"}) {
    EXPECT_TRUE(set.regressors.contains(cls)) << cls;
  }
  EXPECT_EQ(set.regressors.size(), 4u);
  EXPECT_DOUBLE_EQ(set.predict(OpKind::input, NodeFeatures{}), 0.0);
  EXPECT_THROW(set.predict(OpKind::softmax, NodeFeatures{}), std::out_of_range);
}

}  // namespace
}  // namespace tandem::predictor
