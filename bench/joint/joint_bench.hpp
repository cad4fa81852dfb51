#pragma once
// The joint-inference and codec benchmark (issue 15): what bench_joint
// measures and writes. bench/joint.sh drives it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "control/protocol.hpp"
#include "partition/cost_model.hpp"

namespace tandem::bench {

/// Each test sample's little- and big-model logits and label.
struct Logits {
  std::size_t classes = 0;
  std::vector<float> little, big;  // samples × classes
  std::vector<int> labels;
  std::size_t count() const { return labels.size(); }
};

/// One row of the offline threshold sweep.
struct SweepPoint {
  control::MinerKind miner = control::MinerKind::confidence;
  double threshold = 0;
  double accuracy = 0;    // percent
  double edge_share = 0;  // percent answered by the little model
};

/// One codec at one cut of the big model.
struct CodecCut {
  partition::Codec codec = partition::Codec::fp32;
  std::size_t split = 0;   // nodes after the input on the edge
  std::string node;        // the crossing tensor's producer
  std::size_t samples = 0;
  double raw_bytes = 0;    // mean f32 bytes of the crossing tensor
  double wire_bytes = 0;   // mean bytes on the wire (tensor record, codec applied)
  double top1_change = 0;  // percent of samples whose top-1 differs from fp32
  double accuracy = 0;     // percent
  double encode_ms = 0, decode_ms = 0;  // median per tensor
};

/// One configuration run through the daemons.
struct OnlineRun {
  std::string name;        // e.g. "joint confidence 0.90", "big only"
  std::string link;
  std::size_t samples = 0;
  std::size_t failures = 0;
  double accuracy = 0;     // percent
  double edge_share = 0;   // percent answered by the little model (joint), or run edge-only
  double p50_ms = 0, p95_ms = 0;  // measured_ms: from the start of edge work to the answer
  double bytes_per_sample = 0;    // crossing bytes
  double wall_s = 0;
  std::string cuts;        // the plans used, most frequent first
  std::string command;     // the task line that reproduces it
};

}  // namespace tandem::bench
