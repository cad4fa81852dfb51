#pragma once
// SVG plots written as text (no plotting library is packaged for us).

#include <filesystem>
#include <string>
#include <vector>

#include "bench/evaluate/evaluate.hpp"

namespace tandem::bench {

/// Latency against split point for one model: one panel per link, one bar
/// per candidate stacked as measured edge / transfer (upload, RTT, download) /
/// cloud / rest (queueing, runtime), the planner's and the oracle's cuts
/// marked, pruned candidates crossed out. `pairs` are the model's pairs, in link order.
/// Throws std::runtime_error when the file cannot be written.
void write_split_plot(const std::filesystem::path& path, const std::vector<const PairResult*>& pairs);

/// Regret per model × link: grouped bars with the 3% and 10% goals drawn.
void write_regret_plot(const std::filesystem::path& path, const std::vector<PairResult>& pairs);

}  // namespace tandem::bench
