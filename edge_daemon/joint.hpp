#pragma once
// Joint inference (KubeEdge Sedna's JointInference; docs/design.md §15): a
// little model answers on the edge, and only samples a hard-example miner
// finds hard go to the big model, which is planned like any task (it may be
// split, or run in the cloud). Built on the engine's public submit(): the
// little model runs as an edge-only task that returns its outputs; the miner
// decides on the thread that finished it; a hard sample is then submitted as
// an ordinary task of the big model (at the back of the queue). Every joint
// task ends with exactly one result, whose `joint` field says which model
// answered and why.

#include <functional>

#include "control/protocol.hpp"

namespace tandem::edge {

/// Queues one ordinary task; `done` is called exactly once from some thread
/// (EdgeService::submit). Must not block.
using SubmitFn = std::function<void(control::TaskSpec, std::function<void(control::TaskResult)>)>;

class JointRunner {
 public:
  explicit JointRunner(SubmitFn submit);

  /// Runs a task: a joint one as above, any other straight through `submit`.
  /// `done` is called exactly once, from the thread that finished the last
  /// model's task. Never blocks; thread-safe.
  ///
  /// The result is the answering model's (its placement, cut, bytes, top1,
  /// outputs when asked; `model` names the model that answered) with:
  /// queue_ms the little task's wait; measured_ms the little task's, plus the
  /// big one's wait and measured time when it ran; joint filled in. A failed
  /// little task fails the joint task, naming the little model.
  void submit(control::TaskSpec task, std::function<void(control::TaskResult)> done) const;

 private:
  SubmitFn submit_;
};

}  // namespace tandem::edge
