#pragma once
// The benchmark's offline half (LibTorch): both models over the test set
// through tandem's executor, the miners' threshold sweep on those logits, and
// every codec at every cut of the big model, encoded and decoded by the real
// wire codec.

#include <vector>

#include "app/dataset.hpp"
#include "bench/joint/joint_bench.hpp"
#include "edge_daemon/miner.hpp"
#include "models/model.hpp"

namespace tandem::bench {

/// Runs both models on the first `limit` images (raw pixel values, 1×1×H×W).
Logits compute_logits(const Model& little, const Model& big, const app::LabelledImages& data, std::size_t limit);

/// Every other sample from `first` (0 or 1): two disjoint halves of the test
/// set, one to choose thresholds on and one to judge them on.
Logits every_other(const Logits& logits, std::size_t first);

/// Accuracy and edge share of each miner over a grid of thresholds (ibt: its
/// box threshold swept with threshold 0.9, i.e. hard as soon as one class is
/// undecided).
std::vector<SweepPoint> sweep_thresholds(const Logits& logits);

/// Accuracy and edge share of one miner setting.
SweepPoint evaluate_miner(const Logits& logits, control::MinerKind miner, double threshold, double box_threshold);

/// The miner setting a sweep point stands for: an ibt point's `threshold` is
/// its box threshold (with the miner's default threshold), the others' their
/// threshold.
edge::MinerConfig miner_config(const SweepPoint& point);

/// The big model's accuracy: every sample hard.
double big_only_accuracy(const Logits& logits);

/// Every codec at every cut of `big` (chains: every split; DAGs: articulation
/// cuts) over the first `samples` images: wire bytes, top-1 change against
/// the uncompressed model, encode and decode time.
std::vector<CodecCut> codec_table(const Model& big, const app::LabelledImages& data, const Logits& logits,
                                  std::size_t samples);

/// Per codec: encode and decode ms per MB of f32 and the zstd ratio, over the table.
partition::CodecPrices measured_prices(const std::vector<CodecCut>& table);

}  // namespace tandem::bench
