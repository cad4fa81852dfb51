#pragma once
// The processors of one host shared by the simulated daemons' computing jobs
// (docs/design.md §13): processor sharing as a fluid, with LibTorch's
// multi-threaded jobs co-scheduled. Used by the simulator's engine
// (engine.hpp, simulator.cpp) when Scenario::host_cores is set; torch-free.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace tandem::sim {

class Host {
 public:
  /// A computing job. `tag` is the engine's: what to do when it ends.
  struct Job {
    double left_s = 0;        // of its own time at full speed (a spin: of wall time)
    double weight = 1;        // threads: the cores it asks for
    bool spin = false;        // holds its cores for a fixed wall time, whatever the others do
    double started_s = 0;     // when it was added
    std::uint64_t tag = 0;
    std::size_t group = 0;    // the caller's label for jobs_core_seconds (the engine: 0 edges, 1 clouds)
  };

  /// `cores` > 0; `background` other runnable threads (weighted by nice).
  Host(double cores, double background);

  /// Adds a job at `now` (times never go back).
  void add(double now, Job job);
  /// The other load from `now` on.
  void set_background(double now, double threads);
  /// Drops the jobs `drop` picks, at `now`.
  void cancel(double now, const std::function<bool(const Job&)>& drop);
  /// Removes and returns the jobs done by `now`, in start order.
  std::vector<Job> take_done(double now);
  /// When the next job ends if nothing is added or dropped (none: no job).
  std::optional<double> next_end() const;

  /// How fast `job` progresses now (1: as on a host of its own). A
  /// one-thread job gets its fair share, cores / demand. A job of w > 1
  /// threads is LibTorch with OpenMP, whose threads meet at a barrier after
  /// every operator and spin there (libgomp: about 8 ms before sleeping,
  /// longer than a time slice): it moves only while all w of them run at
  /// once. Linux schedules each core from its own run queue, where a thread
  /// runs a cores / demand share of the time, so all w run together at the
  /// chance (cores / demand)^w — 4/9 for two threads with one more busy
  /// thread on two cores, 1/9 with four more (docs/design.md §13 has the
  /// measurements behind it).
  double speed(const Job& job) const;

  /// Core-seconds the jobs of `group` held from 0 to `now`: the busy cores
  /// (all of them while more threads ask than there are) shared out by
  /// threads, the background taking its part. A slowed multi-threaded job's
  /// threads count for as long as it runs, as they spin at its barriers on a
  /// real machine. `now` may be before the last change only if no job of the
  /// group has run since.
  double jobs_core_seconds(double now, std::size_t group) const;

 private:
  double per_thread() const { return demand_ > 0 ? std::min(demand_, cores_) / demand_ : 0; }
  void advance(double now);  // progress every job to `now`
  void reshare();            // the demand after a change

  double cores_;
  double background_;
  double at_ = 0;       // jobs' progress is as of this time
  double demand_ = 0;   // threads asking for a core, background included
  std::vector<Job> jobs_;  // in start order
  std::vector<double> group_core_s_;  // jobs_core_seconds up to at_, by group
};

}  // namespace tandem::sim
