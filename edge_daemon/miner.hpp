#pragma once
// Hard-example miners for joint inference (docs/design.md §15): given the
// little model's output for one sample, decide whether the sample is hard —
// worth sending to the big model — and say why. Torch-free, pure functions:
// the daemon's joint mode and the benchmark's offline threshold sweep use the
// same code.
//
// The output is taken as logits and turned into probabilities p by softmax
// (C classes). The miners (thresholds in [0, 1]):
//  * confidence — score = max_c p_c; hard when score < threshold.
//  * entropy — score = H(p) / log C, the entropy normalised to [0, 1]; hard
//    when score > threshold.
//  * ibt — KubeEdge Sedna's image-box-threshold miner, for classification:
//    each class is a "box", a one-vs-rest detection whose confidence is how
//    decided it is, max(p_c, 1 - p_c). score = the hard coefficient, the
//    share of boxes whose confidence is below box_threshold; hard when
//    score >= 1 - threshold (Sedna's threshold_img). With the defaults a
//    sample is hard as soon as one class is undecided (between 0.2 and 0.8).
// An output with a non-finite value is always hard.

#include <span>
#include <string>

#include "control/protocol.hpp"

namespace tandem::edge {

struct MinerConfig {
  control::MinerKind kind = control::MinerKind::confidence;
  double threshold = 0.9;      // see above; default_threshold(kind) unless the task sets one
  double box_threshold = 0.8;  // ibt only
};

struct MinerDecision {
  bool hard = false;
  double score = 0;
  std::string reason;  // e.g. "max softmax 0.612 < 0.900"
};

/// The default threshold of each miner (confidence 0.9, entropy 0.25, ibt 0.9).
double default_threshold(control::MinerKind kind);
/// The ibt miner's default box threshold (0.8).
double default_box_threshold();
/// The miner settings of a joint task: its own thresholds, or the defaults.
MinerConfig miner_config(const control::TaskSpec& task);

/// Decides one sample from its logits. Throws std::invalid_argument when
/// `logits` is empty. Never blocks; any thread.
MinerDecision mine(const MinerConfig& config, std::span<const float> logits);

}  // namespace tandem::edge
