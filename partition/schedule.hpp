#pragma once
// Scheduling tasks on the edge's three resources (docs/design.md §4.5).
//
// A task whose cut S sends something passes through three resources in turn:
// the edge CPU (its edge stage), the uplink (its crossing tensors) and the
// cloud (its cloud stage), then downloads its outputs. An edge-only task uses
// the edge CPU only. Each resource serves one task at a time, in the order
// the edge dispatches them: a permutation flow shop in which every task also
// chooses its cut, i.e. how its work splits between the three machines.
//
// With a Timeline of when each resource frees up (in ms from now), placing a
// task is
//
//   edge_end  = T.edge + e(S)
//   up_end    = max(edge_end, T.uplink) + u(S)              u = bytes / B_up
//   cloud_end = max(up_end + rtt/2, T.cloud) + c(S)
//   done      = cloud_end + d(S) + rtt/2                     d = bytes / B_down
//
// (done = edge_end for edge-only). With every resource free this is exactly
// the cost model's latency(S) (cost_model.hpp) for an empty cloud queue: a
// task alone plans as before. A cloud queue reported by the cloud (T.cloud >
// 0) overlaps with the edge and uplink stages instead of being added to them.
//
// Candidates. done is non-decreasing in each of (e, upload bytes, c,
// download bytes), so only cuts on the Pareto front of those four can be the
// best for some state of the resources. candidate_cuts() keeps that front:
// exactly (every split point, or every closed cut) for chains and for DAGs
// whose closed cuts fit an enumeration budget, otherwise the cuts minimising
// weighted sums of the four over a grid of weights (its supported points).
//
// Batches. schedule_batch() chooses the order and every task's cut together
// for a batch already waiting, minimising the makespan or the total (mean)
// completion time:
//   * small batches (ScheduleOptions::exact_max_tasks, default 6) by
//     branch and bound over orders and cuts: exact over the candidates;
//   * larger ones by NEH insertion (Nawaz, Enscore and Ham 1983) extended
//     with a cut choice at every insertion, started from the tasks' most
//     expensive first, plus a start from a Lagrangian load balance (each task
//     takes the cut minimising λ·(edge, uplink, cloud) work for the λ whose
//     bound is best), and a start from the other objective's schedule (a
//     makespan has plateaus on which its own search stalls), each polished
//     by re-insertion local search (every task tried at every position with
//     every cut until nothing improves). NEH is
//     the classical heuristic for permutation flow shops; there is no
//     constant-factor guarantee, so every schedule carries a lower bound.
//   * Lower bound on the makespan (the busiest resource's least work): for
//     any λ on the simplex, makespan >= Σ_r λ_r (T_r + W_r) >= λ·T + Σ_j
//     min_S λ·w_j(S), maximised over a grid of λ (and never below any single
//     task's best completion). For the total completion time: Σ_j min_S
//     done_j(S) from the start timeline.
//
// Torch-free; pure functions; reentrant.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "partition/cost_model.hpp"

namespace tandem::partition {

/// What one cut asks of each resource, independent of the link's speed.
struct CutWork {
  Cut cut{std::vector<bool>{}};
  double edge_ms = 0;              // Breakdown::edge_ms: Σ_{v∈S} e_v plus the edge's run cost
  std::int64_t upload_bytes = 0;   // crossing tensors on the wire
  double cloud_ms = 0;             // Breakdown::cloud_ms: Σ_{v∉S} c_v plus the cloud's run cost
  std::int64_t download_bytes = 0; // outputs of cloud sinks on the wire
  double upload_codec_ms = 0;      // encode + decode of the crossing tensors (the codec's price)
  double download_codec_ms = 0;    // the same for the downloaded outputs
  bool edge_only = true;
};

struct CandidateOptions {
  /// Enumerate closed cuts of DAGs while there are at most this many.
  std::size_t enumeration_limit = 20'000;
  /// Keep at most this many candidates (the front of a large DAG can be
  /// big): the supported points first, then the rest by latency at 10 mbit.
  std::size_t max_candidates = 48;
};

/// The Pareto front of (edge ms, upload bytes, cloud ms, download bytes) over
/// the graph's closed cuts, edge-only and cloud-only always included; see
/// above for when it is exact. Ordered by edge ms, ascending. `model`'s link
/// and wait are ignored (the front does not depend on them). Throws
/// std::invalid_argument on an invalid model.
std::vector<CutWork> candidate_cuts(const GraphDesc& graph, const CostModel& model,
                                    const CandidateOptions& options = {});

/// The work of one cut (evaluate() without the link).
CutWork cut_work(const GraphDesc& graph, const CostModel& model, const Cut& cut);

/// A cut's stages under a link, in ms.
struct Stages {
  double edge = 0, upload = 0, cloud = 0, download = 0;
  bool sends = false;
};
Stages stages_of(const CutWork& work, const Link& link);

/// When each resource is next free, in ms from now (>= 0).
struct Timeline {
  double edge = 0;
  double uplink = 0;
  double cloud = 0;
  /// Without pipelining (edge_daemon --no-pipeline): the edge starts no
  /// task while one is with the cloud, so a task that sends holds the edge
  /// until its result is back. Every bound below stays valid (it only
  /// delays), though looser.
  bool serial = false;
};

/// One task placed on a timeline, times in ms from the timeline's origin.
struct Slot {
  std::size_t option = 0;  // index into the task's candidates
  double edge_start = 0, edge_end = 0;
  double upload_start = 0, upload_end = 0;  // == edge_end when nothing is sent
  double cloud_start = 0, cloud_end = 0;    // == upload_end when nothing is sent
  double done = 0;
  /// Waits for each resource: the edge from the origin, the uplink after the
  /// edge stage, the cloud after the upload arrived.
  double edge_wait() const { return edge_start; }
  double uplink_wait() const { return upload_start - edge_end; }
  double cloud_wait(double rtt_ms) const;
};

/// Places stages after `timeline` and advances it. O(1).
Slot place(const Stages& stages, double rtt_ms, Timeline& timeline);

/// The option with the earliest completion after `timeline` (ties: the lower
/// index); does not advance it. `options` must not be empty.
Slot earliest_completion(const std::vector<Stages>& options, double rtt_ms, const Timeline& timeline);

/// What a batch schedule minimises.
enum class BatchObjective { makespan, total_completion };
std::string_view to_string(BatchObjective objective);

struct ScheduleOptions {
  /// Batches up to this size are solved exactly by branch and bound.
  std::size_t exact_max_tasks = 6;
  /// Branch-and-bound nodes before giving up on exactness (the best schedule
  /// found so far is returned, exact = false).
  std::size_t exact_node_budget = 2'000'000;
  /// Re-insertion passes of the local search.
  std::size_t local_search_passes = 4;
};

/// One task of a batch: its options' stages, and a group id — tasks of the
/// same group have identical options (the same model), which lets the exact
/// search skip orders that only swap them.
struct BatchTask {
  std::vector<Stages> options;
  std::size_t group = 0;
};

struct Schedule {
  std::vector<std::size_t> order;  // task indices in dispatch order
  std::vector<Slot> slots;         // per task index (Slot::option is its cut)
  double makespan = 0;             // latest done
  double total_completion = 0;     // Σ done
  double objective_value = 0;      // of the objective asked for
  double lower_bound = 0;          // on the objective over all orders and candidates
  bool exact = false;              // optimal over orders and candidates
};

/// Order and cuts for a waiting batch, after `start`. Throws
/// std::invalid_argument when a task has no options. Deterministic.
/// The edge daemon's options: planning runs on its compute thread between
/// tasks, so the branch and bound is kept to a few milliseconds
/// (bench_queue_bound reports the time of one decision).
inline constexpr ScheduleOptions k_daemon_schedule_options{
    .exact_max_tasks = 4, .exact_node_budget = 300, .local_search_passes = 2};

Schedule schedule_batch(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start,
                        BatchObjective objective, const ScheduleOptions& options = {});

/// Simulates a given order and choice (slots per task index, objective values).
Schedule evaluate_schedule(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start,
                           const std::vector<std::size_t>& order, const std::vector<std::size_t>& choice,
                           BatchObjective objective);

/// The lower bound schedule_batch reports (see above).
double batch_lower_bound(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start,
                         BatchObjective objective);

}  // namespace tandem::partition
