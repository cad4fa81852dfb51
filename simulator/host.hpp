#pragma once
// The processors of one host shared by the simulated daemons' computing jobs
// (docs/design.md §13): each core time-shared among the threads queued on
// it, as Linux runs each core from its own run queue, with LibTorch's
// multi-threaded jobs co-scheduled. Used by the simulator's engine
// (engine.hpp, simulator.cpp) when Scenario::host_cores is set; torch-free.

#include <cstddef>
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
    double weight = 1;        // threads (rounded up, at most the host's cores)
    bool spin = false;        // holds its cores for a fixed wall time, whatever the others do
    double started_s = 0;     // when it was added
    std::uint64_t tag = 0;
    std::size_t group = 0;    // the caller's label for jobs_core_seconds (the engine: 0 edges, 1 clouds)
  };

  /// `cores`: a whole number >= 1; `background` other runnable threads
  /// (weighted by nice), spread over the cores like a fluid.
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

  /// Core-seconds the jobs of `group` held from 0 to `now`: each of their
  /// threads its share of its core. A slowed multi-threaded job's threads
  /// count for as long as it runs, as they spin at its barriers on a real
  /// machine. `now` may be before the last change only if no job of the
  /// group has run since.
  double jobs_core_seconds(double now, std::size_t group) const;

  /// Threads queued on each core (tests and diagnostics).
  const std::vector<int>& queued() const { return queued_; }

 private:
  // A job and the cores its threads are queued on (distinct cores).
  struct Running {
    Job job;
    std::vector<std::size_t> cores;
  };

  /// How fast `r` progresses now (1: as on a host of its own). A thread gets
  /// an equal share of its core with the threads queued there and the
  /// background poured on it. A job of w > 1 threads is LibTorch with
  /// OpenMP, whose threads meet at a barrier after every operator and spin
  /// there (libgomp: about 8 ms before sleeping, longer than a time slice):
  /// it moves only while all w run at once, and each core slices its time
  /// on its own, so at the product of its threads' shares — 1/4 for two
  /// threads with one more busy job of two threads on two cores, 1/2 beside
  /// one one-thread job, which itself gets half of the core it shares with
  /// one of them (docs/design.md §13 has the measurements behind it).
  double speed(const Running& r) const;
  double share(std::size_t core) const;  // of each thread queued on `core`
  void advance(double now);              // progress every job to `now`
  void place(Running& r);                // its threads on the least loaded cores
  void rebalance();                      // as Linux pulls threads to idler cores
  void reshare();                        // the loads after a change

  std::size_t cores_;
  double background_;
  double at_ = 0;               // jobs' progress is as of this time
  std::vector<int> queued_;     // threads queued per core
  std::vector<double> load_;    // queued_ plus its part of the background
  std::vector<Running> jobs_;   // in start order
  std::vector<double> group_core_s_;  // jobs_core_seconds up to at_, by group
};

}  // namespace tandem::sim
