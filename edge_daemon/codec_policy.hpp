#pragma once
// Which codecs a task may use, and the plan that picks among them
// (docs/design.md §14): a task names a codec, or "auto" with an accuracy
// budget — the share of samples (percent) whose top-1 may differ from the
// uncompressed model's. Lossless codecs (fp32, fp32+zstd) always fit; a lossy
// one fits a model when the daemon's --codec-accuracy table (written by
// bench/joint.sh from a test set) measured a top-1 change within the budget.
// Torch-free.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/protocol.hpp"
#include "models/cut.hpp"
#include "net/tensor_codec.hpp"
#include "partition/plan.hpp"
#include "planner/planner.hpp"

namespace tandem::edge {

/// Measured top-1 change (percent of samples, worst cut) per model and lossy codec.
struct CodecAccuracy {
  std::map<std::string, std::map<partition::Codec, double>> change;

  /// The measured change, or nullopt when the table has none for the pair.
  std::optional<double> of(const std::string& model, partition::Codec codec) const;
};

/// Reads {"MODEL": {"fp16": 0.0, "int8": 0.12, ...}, ...}. Throws
/// std::runtime_error naming the file and what is wrong (missing, larger than
/// 1 MiB, not JSON, an unknown codec, a value outside 0..100).
CodecAccuracy load_codec_accuracy(const std::filesystem::path& file);

/// The codecs `task` may use on `model`: its own codec (refused with
/// std::invalid_argument when a budget is set and the codec's change is
/// unknown or over it), or for "auto" every codec within the budget (null
/// budget: 0), lossless first. `accuracy` may be null (no measurements).
std::vector<partition::Codec> allowed_codecs(const control::TaskSpec& task, const std::string& model,
                                             const CodecAccuracy* accuracy);

/// The best plan over `codecs` (the first wins ties): planned for
/// `objective`, or the given cut evaluated. Plan::codec says which. Throws
/// what Planner::plan / evaluate throw. Thread-safe.
partition::Plan plan_with_codecs(const planner::Planner& planner, const std::string& model,
                                 partition::Objective objective, planner::Conditions conditions,
                                 const std::vector<partition::Codec>& codecs, const std::optional<Cut>& forced);

/// The one codec a task's tensors travel with: its own, or for "auto" the
/// allowed codec whose plan (the task's forced cut, or the planner's under
/// `conditions`) predicts the best objective. Throws std::invalid_argument for
/// a codec over the budget or a bad forced plan. Thread-safe.
partition::Codec resolve_codec(const planner::Planner& planner, const control::TaskSpec& task, const GraphDesc& graph,
                               const planner::Conditions& conditions, const CodecAccuracy* accuracy);

/// The wire codec of a planning codec.
net::Codec wire_codec(partition::Codec codec);

}  // namespace tandem::edge
