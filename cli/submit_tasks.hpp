#pragma once
// What `tandem submit` adds to its tasks for issue 15 — joint inference,
// codec budgets, the privacy floor, and tasks made from a labelled data set —
// and the accuracy tally of their results. Kept apart from cmd_submit.cpp,
// which owns submission, pacing and the latency summary.

#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "control/protocol.hpp"

namespace tandem::cli {

/// Registers --accuracy-budget, --privacy-floor, --dataset, --dataset-dir,
/// --limit, --mode, --little, --miner, --threshold and --box-threshold.
void add_task_options(cxxopts::Options& options);

/// Sets the fields those flags give every task on `base`, then checks the
/// task as the daemon would. Throws app::UsageError naming the flag.
void apply_task_options(const cxxopts::ParseResult& args, control::TaskSpec& base);

/// Tasks made from --dataset: one per image (ids 0..n-1), the image inline,
/// and each one's label.
struct LabelledTasks {
  std::vector<control::TaskSpec> tasks;
  std::vector<int> labels;  // by task id
};

/// The tasks of --dataset (and --dataset-dir, --limit) for `model`, each a
/// copy of `base`. Throws app::UsageError for a bad flag or combination,
/// std::runtime_error when the data set cannot be read (app/dataset.hpp).
LabelledTasks dataset_tasks(const cxxopts::ParseResult& args, const control::TaskSpec& base,
                            const std::vector<std::string>& models);

/// Top-1 accuracy per model against the labels, and joint mode's edge share.
/// Single-threaded.
class AccuracyTally {
 public:
  explicit AccuracyTally(std::vector<int> labels) : labels_(std::move(labels)) {}
  /// Counts one successful result (its task id indexes the labels).
  void add(const control::TaskResult& result);
  /// Prints the accuracy lines and the joint line; nothing when nothing was counted.
  void print() const;

 private:
  struct Counts {
    std::size_t labelled = 0, correct = 0;  // results with a label, and those whose top-1 is right
    std::size_t joint = 0, little = 0;      // joint results, and those the little model answered
    double sent_bytes = 0;                  // crossing bytes of every result
  };
  std::vector<int> labels_;
  std::map<std::string, Counts> per_model_;
  Counts all_;
};

/// --max-in-flight: the writer waits while `limit` tasks are unanswered (0:
/// never). Thread-safe: one thread sends, another counts answers.
class InFlightWindow {
 public:
  explicit InFlightWindow(std::size_t limit) : limit_(limit) {}
  /// Blocks until task `i` (0-based, in sending order) fits the window;
  /// false once close() was called.
  bool wait_to_send(std::size_t i);
  /// One more task answered.
  void answered();
  /// Wakes the sender for good.
  void close();

 private:
  const std::size_t limit_;
  std::mutex mutex_;
  std::condition_variable moved_;
  std::size_t answered_ = 0;  // under mutex_
  bool closed_ = false;       // under mutex_
};

}  // namespace tandem::cli
