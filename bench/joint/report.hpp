#pragma once
// bench_joint's outputs: CSV files, report.md and SVG plots.

#include <filesystem>
#include <string>
#include <vector>

#include "bench/joint/joint_bench.hpp"

namespace tandem::bench {

/// Everything one bench_joint run measured.
struct JointResults {
  std::string settings;             // markdown lines: machine, commit, flags
  std::string command;              // how to reproduce
  double little_accuracy = 0, big_accuracy = 0;  // percent, tandem's executor, whole test set
  std::string little_model, big_model;
  std::vector<SweepPoint> sweep;
  // Per miner, the threshold chosen on the even-numbered test images
  // (`calibration`, evaluated there) and judged on the odd-numbered ones
  // (`held_out`), which the choice never saw; `chosen` is the same threshold
  // on the whole test set, what the online runs use.
  std::vector<SweepPoint> calibration, held_out, chosen;
  double big_accuracy_held_out = 0;
  std::vector<CodecCut> codecs;
  partition::CodecPrices prices{};
  std::vector<OnlineRun> joint_runs;
  std::vector<OnlineRun> codec_runs;
  double goal_accuracy_gap = 0.5;   // points below big-only
  double goal_edge_share = 60;      // percent
};

/// Writes sweep.csv, codecs.csv, prices.csv, online.csv, codec_latency.csv,
/// codec_accuracy.json (the edge daemon's --codec-accuracy table),
/// report.md and plots/{sweep,codec_bytes}.svg into `dir`. Throws
/// std::runtime_error naming a file it cannot write.
void write_joint_results(const std::filesystem::path& dir, const JointResults& results);

}  // namespace tandem::bench
