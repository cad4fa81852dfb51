// The hard-example miners on hand-made logits: each decision, its score and
// its reason, at and around the thresholds.
#include "edge_daemon/miner.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace tandem::edge {
namespace {

using control::MinerKind;

// Logits whose softmax is exactly `p` (log p, up to a shift).
std::vector<float> logits_of(const std::vector<double>& p) {
  std::vector<float> out;
  for (double v : p) out.push_back(static_cast<float>(std::log(v)));
  return out;
}

MinerConfig config(MinerKind kind, double threshold, double box = 0.8) { return {kind, threshold, box}; }

TEST(Miner, ConfidenceIsTheLargestProbability) {
  const auto easy = logits_of({0.95, 0.03, 0.02});
  const auto hard = logits_of({0.5, 0.3, 0.2});
  const auto e = mine(config(MinerKind::confidence, 0.9), easy);
  EXPECT_FALSE(e.hard);
  EXPECT_NEAR(e.score, 0.95, 1e-6);
  EXPECT_EQ(e.reason, "max softmax 0.950 >= 0.900");
  const auto h = mine(config(MinerKind::confidence, 0.9), hard);
  EXPECT_TRUE(h.hard);
  EXPECT_NEAR(h.score, 0.5, 1e-6);
  EXPECT_EQ(h.reason, "max softmax 0.500 < 0.900");
  // Threshold 0 never mines, 1 mines every sample that is not certain.
  EXPECT_FALSE(mine(config(MinerKind::confidence, 0.0), hard).hard);
  EXPECT_TRUE(mine(config(MinerKind::confidence, 1.0), easy).hard);
  // Softmax is shift-invariant, and large logits do not overflow.
  EXPECT_NEAR(mine(config(MinerKind::confidence, 0.9), std::vector<float>{1000, 990, 0}).score, 1 / (1 + std::exp(-10.0)), 1e-9);
}

TEST(Miner, EntropyIsNormalisedToOne) {
  const auto uniform = std::vector<float>(10, 0.5f);
  const auto u = mine(config(MinerKind::entropy, 0.25), uniform);
  EXPECT_TRUE(u.hard);
  EXPECT_NEAR(u.score, 1.0, 1e-9);
  const auto peaked = logits_of({0.97, 0.01, 0.01, 0.01});
  const double h = -(0.97 * std::log(0.97) + 3 * 0.01 * std::log(0.01)) / std::log(4.0);
  const auto p = mine(config(MinerKind::entropy, 0.25), peaked);
  EXPECT_FALSE(p.hard);
  EXPECT_NEAR(p.score, h, 1e-6);
  EXPECT_NE(p.reason.find("normalised entropy"), std::string::npos);
  EXPECT_TRUE(mine(config(MinerKind::entropy, h - 1e-3), peaked).hard);
  EXPECT_FALSE(mine(config(MinerKind::entropy, h + 1e-3), peaked).hard);
  // One class: nothing is uncertain.
  EXPECT_EQ(mine(config(MinerKind::entropy, 0.0), std::vector<float>{3}).score, 0.0);
}

TEST(Miner, IbtCountsUndecidedClassesAsBoxes) {
  // Box confidences max(p, 1-p): 0.95, 0.97, 0.98 -> none below 0.8.
  const auto decided = logits_of({0.95, 0.03, 0.02});
  const auto d = mine(config(MinerKind::ibt, 0.9, 0.8), decided);
  EXPECT_FALSE(d.hard);
  EXPECT_EQ(d.score, 0.0);
  // 0.55 and 0.40 are undecided (below 0.8), 0.05 is not: coefficient 2/3.
  const auto split = logits_of({0.55, 0.40, 0.05});
  const auto s = mine(config(MinerKind::ibt, 0.9, 0.8), split);
  EXPECT_TRUE(s.hard);
  EXPECT_NEAR(s.score, 2.0 / 3, 1e-12);
  EXPECT_NE(s.reason.find("2 of 3 classes undecided"), std::string::npos) << s.reason;
  // Sedna's rule: hard when the coefficient reaches 1 - threshold_img.
  EXPECT_FALSE(mine(config(MinerKind::ibt, 0.3, 0.8), split).hard);  // 0.667 < 0.7
  EXPECT_TRUE(mine(config(MinerKind::ibt, 0.34, 0.8), split).hard);  // 0.667 >= 0.66
  // A lower box threshold decides more boxes.
  EXPECT_FALSE(mine(config(MinerKind::ibt, 0.9, 0.5), split).hard);
  // threshold 1 mines everything, 0 only samples with every class undecided.
  EXPECT_TRUE(mine(config(MinerKind::ibt, 1.0, 0.8), decided).hard);
  EXPECT_FALSE(mine(config(MinerKind::ibt, 0.0, 0.8), split).hard);
}

TEST(Miner, NonFiniteOutputsAreHardAndEmptyOnesRefused) {
  for (MinerKind k : {MinerKind::confidence, MinerKind::entropy, MinerKind::ibt}) {
    const auto d = mine(config(k, 0.0), std::vector<float>{1, std::numeric_limits<float>::quiet_NaN()});
    EXPECT_TRUE(d.hard);
    EXPECT_NE(d.reason.find("not finite"), std::string::npos);
    EXPECT_THROW(mine(config(k, 0.5), std::vector<float>{}), std::invalid_argument);
  }
}

TEST(Miner, TaskSettingsOrDefaults) {
  control::TaskSpec t;
  t.mode = control::TaskMode::joint;
  t.miner = MinerKind::entropy;
  EXPECT_EQ(miner_config(t).threshold, default_threshold(MinerKind::entropy));
  t.threshold = 0.4;
  t.miner = MinerKind::ibt;
  t.box_threshold = 0.6;
  const auto c = miner_config(t);
  EXPECT_EQ(c.kind, MinerKind::ibt);
  EXPECT_EQ(c.threshold, 0.4);
  EXPECT_EQ(c.box_threshold, 0.6);
}

}  // namespace
}  // namespace tandem::edge
