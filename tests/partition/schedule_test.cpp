// The timeline and the batch scheduler (partition/schedule.hpp): a task alone
// plans as the latency optimiser does, resource backlogs change the choice
// where they should, and batches of up to six tasks on small graphs match an
// exhaustive search over every order and every closed cut.
#include "partition/schedule.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include <gtest/gtest.h>

#include "partition/brute_force.hpp"
#include "partition/optimise.hpp"
#include "testutil/random_graph.hpp"

namespace tandem::partition {
namespace {

CostModel no_wait(CostModel m) {
  m.cloud_wait_ms = 0;
  return m;
}

std::vector<Stages> stages(const std::vector<CutWork>& works, const Link& link) {
  std::vector<Stages> out;
  for (const CutWork& w : works) out.push_back(stages_of(w, link));
  return out;
}

TEST(Timeline, ATaskAloneCompletesAtItsLatency) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    const auto g = testutil::random_dag(rng, {.nodes = 10});
    const auto m = no_wait(testutil::random_cost_model(g, rng));
    const Cut cut = random_closed_cut(g, rng);
    Timeline t;
    const Slot s = place(stages_of(cut_work(g, m, cut), m.link), m.link.rtt_ms, t);
    EXPECT_NEAR(s.done, latency(g, m, cut), 1e-9 * std::max(1.0, s.done));
  }
}

// Every closed cut is dominated by a candidate, so the earliest completion
// over the candidates is the latency optimum (min cut) when nothing waits.
TEST(Candidates, TheBestCandidateAloneIsTheLatencyOptimum) {
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 150; ++trial) {
    const bool chain = trial % 3 == 0;
    const auto g = chain ? testutil::random_chain(rng, 12) : testutil::random_dag(rng, {.nodes = 14});
    const auto m = no_wait(testutil::random_cost_model(g, rng));
    const auto candidates = candidate_cuts(g, m);
    ASSERT_FALSE(candidates.empty());
    EXPECT_TRUE(std::any_of(candidates.begin(), candidates.end(), [](const CutWork& w) { return w.edge_only; }));
    EXPECT_TRUE(std::any_of(candidates.begin(), candidates.end(),
                            [](const CutWork& w) { return w.cut.is_cloud_only(); }));
    for (const CutWork& w : candidates) EXPECT_EQ(w.cut.validate(g), "");
    const Slot best = earliest_completion(stages(candidates, m.link), m.link.rtt_ms, Timeline{});
    const Plan optimum = optimise(g, m, Objective::latency);
    EXPECT_NEAR(best.done, optimum.objective_value, 1e-9 * std::max(1.0, optimum.objective_value)) << "trial " << trial;
  }
}

// A DAG too big to enumerate gets the supported points of the min-cut grid:
// still valid cuts, still containing the optimum for links on the grid.
TEST(Candidates, LargeDagsUseTheMinCutGrid) {
  std::mt19937_64 rng(13);
  const auto g = testutil::random_dag(rng, {.nodes = 120, .window = 6});
  auto m = no_wait(testutil::random_cost_model(g, rng));
  const auto candidates = candidate_cuts(g, m, {.enumeration_limit = 100, .max_candidates = 48});
  ASSERT_GE(candidates.size(), 2u);
  EXPECT_LE(candidates.size(), 48u);
  for (const CutWork& w : candidates) EXPECT_EQ(w.cut.validate(g), "");
  m.link = {1.25e6, 1.25e6, 0.0};  // 10 mbit: on the grid
  const Slot best = earliest_completion(stages(candidates, m.link), 0.0, Timeline{});
  EXPECT_NEAR(best.done, optimise(g, m, Objective::latency).objective_value, 1e-6);
}

// A two-layer chain where sending the raw input is fastest alone (a slow
// edge): with the uplink booked for a second, finishing on the edge wins; with
// the cloud booked instead, the same holds; with the edge booked, the cloud
// plan stays (the edge stage of a cloud-only plan is empty).
TEST(Timeline, BacklogsChangeTheChoice) {
  const auto g = testutil::make_graph({{}, {0}, {1}}, {25'000, 25'000, 10});  // 100 KB input
  CostModel m;
  m.edge_ms = {0, 200, 100};  // 300 ms on the edge
  m.cloud_ms = {0, 2, 1};
  m.link = {1e6, 1e6, 10.0};  // 100 KB = 100 ms up
  const auto candidates = candidate_cuts(g, m);
  const auto options = stages(candidates, m.link);
  const auto placement = [&](const Slot& s) { return candidates[s.option].cut; };

  const Slot alone = earliest_completion(options, m.link.rtt_ms, Timeline{});
  EXPECT_TRUE(placement(alone).is_cloud_only());
  EXPECT_NEAR(alone.done, 100 + 3 + 10 + 0.04, 1e-9);

  const Slot uplink_busy = earliest_completion(options, m.link.rtt_ms, Timeline{.uplink = 1000});
  EXPECT_TRUE(placement(uplink_busy).is_edge_only());
  EXPECT_DOUBLE_EQ(uplink_busy.done, 300);
  EXPECT_DOUBLE_EQ(uplink_busy.uplink_wait(), 0);

  const Slot cloud_busy = earliest_completion(options, m.link.rtt_ms, Timeline{.cloud = 1000});
  EXPECT_TRUE(placement(cloud_busy).is_edge_only());

  const Slot edge_busy = earliest_completion(options, m.link.rtt_ms, Timeline{.edge = 1000});
  EXPECT_TRUE(placement(edge_busy).is_cloud_only());
  EXPECT_DOUBLE_EQ(edge_busy.edge_wait(), 1000);

  // Half a second of uplink backlog: cloud-only would finish at 500 + 100 +
  // 13 ms, the edge at 300 ms.
  const Slot some_backlog = earliest_completion(options, m.link.rtt_ms, Timeline{.uplink = 150});
  EXPECT_TRUE(placement(some_backlog).is_cloud_only());
  EXPECT_DOUBLE_EQ(some_backlog.uplink_wait(), 150);
}

// ---- exhaustive reference ---------------------------------------------------

// The test's own simulation of a permutation over the three resources.
struct Reference {
  double makespan = 0, total = 0;
};
Reference simulate(const std::vector<const Stages*>& seq, double rtt, const Timeline& start) {
  double e = start.edge, u = start.uplink, c = start.cloud;
  Reference r;
  for (const Stages* s : seq) {
    e += s->edge;
    double done = e;
    if (s->sends) {
      u = std::max(e, u) + s->upload;
      c = std::max(u + rtt / 2, c) + s->cloud;
      done = c + s->download + rtt / 2;
      if (start.serial) e = done;  // no pipelining: the edge waits for the reply
    }
    r.makespan = std::max(r.makespan, done);
    r.total += done;
  }
  return r;
}

// Every order × every closed cut of every task's graph.
Reference exhaustive(const std::vector<std::vector<Stages>>& all_cuts, double rtt, const Timeline& start) {
  const std::size_t n = all_cuts.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Reference best{1e300, 1e300};
  do {
    std::vector<std::size_t> pick(n, 0);
    for (;;) {
      std::vector<const Stages*> seq;
      for (std::size_t j : order) seq.push_back(&all_cuts[j][pick[j]]);
      const Reference r = simulate(seq, rtt, start);
      best.makespan = std::min(best.makespan, r.makespan);
      best.total = std::min(best.total, r.total);
      std::size_t i = 0;
      while (i < n && ++pick[i] == all_cuts[i].size()) pick[i++] = 0;
      if (i == n) break;
    }
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

struct Instance {
  std::vector<BatchTask> tasks;                // candidates
  std::vector<std::vector<Stages>> all_cuts;   // every closed cut
  Link link;
  Timeline start;
};

// `n` tasks drawn from `models` small random graphs sharing one link.
Instance random_instance(std::mt19937_64& rng, std::size_t n, std::size_t models, std::size_t nodes) {
  Instance in;
  std::vector<GraphDesc> graphs;
  std::vector<CostModel> costs;
  const auto g0 = testutil::random_dag(rng, {.nodes = nodes});
  in.link = testutil::random_cost_model(g0, rng, {.min_bandwidth = 1e5, .max_bandwidth = 1e7}).link;
  for (std::size_t k = 0; k < models; ++k) {
    graphs.push_back(testutil::random_dag(rng, {.nodes = nodes}));
    CostModel m = testutil::random_cost_model(graphs.back(), rng, {.max_node_ms = 10});
    m.link = in.link;
    costs.push_back(no_wait(m));
  }
  std::uniform_real_distribution<double> busy(0, 20);
  in.start = {busy(rng), busy(rng), busy(rng)};
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t k = rng() % models;
    BatchTask t;
    t.group = k;
    t.options = stages(candidate_cuts(graphs[k], costs[k]), in.link);
    in.tasks.push_back(std::move(t));
    std::vector<Stages> all;
    for (const Cut& c : enumerate_closed_cuts(graphs[k])) all.push_back(stages_of(cut_work(graphs[k], costs[k], c), in.link));
    in.all_cuts.push_back(std::move(all));
  }
  return in;
}

std::size_t search_size(const Instance& in) {
  std::size_t size = 1;
  for (std::size_t j = 1; j <= in.tasks.size(); ++j) size *= j;
  for (const auto& cuts : in.all_cuts) size *= cuts.size();
  return size;
}

// Batches of 2..6 tasks over small graphs against every order and every
// closed cut; `serial`: without pipelining (Timeline::serial).
void expect_exhaustive_optimum(bool serial, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  int checked = 0;
  std::array<int, 7> by_size{};
  for (int trial = 0; checked < 60 && trial < 400; ++trial) {
    const std::size_t n = 2 + static_cast<std::size_t>(trial % 5);  // 2..6 tasks
    Instance in = random_instance(rng, n, 1 + trial % 3, n >= 5 ? 3 : 3 + trial % 2);
    in.start.serial = serial;
    if (search_size(in) > 1'000'000) continue;
    ++by_size[n];
    ++checked;
    const Reference ref = exhaustive(in.all_cuts, in.link.rtt_ms, in.start);
    for (BatchObjective objective : {BatchObjective::makespan, BatchObjective::total_completion}) {
      const Schedule s = schedule_batch(in.tasks, in.link.rtt_ms, in.start, objective);
      const double want = objective == BatchObjective::makespan ? ref.makespan : ref.total;
      EXPECT_NEAR(s.objective_value, want, 1e-9 * want) << "trial " << trial << " " << to_string(objective);
      EXPECT_TRUE(s.exact);
      EXPECT_LE(s.lower_bound, want * (1 + 1e-9));
      // The schedule is what it says: its slots replay to its values.
      std::vector<std::size_t> choice;
      for (const Slot& slot : s.slots) choice.push_back(slot.option);
      const Schedule replay = evaluate_schedule(in.tasks, in.link.rtt_ms, in.start, s.order, choice, objective);
      EXPECT_DOUBLE_EQ(replay.objective_value, s.objective_value);
      std::vector<std::size_t> sorted = s.order;
      std::sort(sorted.begin(), sorted.end());
      for (std::size_t j = 0; j < n; ++j) EXPECT_EQ(sorted[j], j);
    }
  }
  EXPECT_GE(checked, 50);
  EXPECT_GE(by_size[6], 5);  // six-task batches are among them
}

TEST(BatchSchedule, EqualsExhaustiveSearchOnSmallBatches) { expect_exhaustive_optimum(false, 42); }

TEST(BatchSchedule, EqualsExhaustiveSearchWithoutPipelining) { expect_exhaustive_optimum(true, 43); }

TEST(Timeline, WithoutPipeliningATaskThatSendsHoldsTheEdgeUntilItsResult) {
  // Two tasks that send: pipelined, the second's edge stage overlaps the
  // first's upload; serial, it starts when the first's result is back.
  const Stages send{.edge = 10, .upload = 30, .cloud = 5, .download = 1, .sends = true};
  const Stages local{.edge = 20};
  Timeline pipelined, serial;
  serial.serial = true;
  const Slot a = place(send, 20, pipelined);
  const Slot b = place(send, 20, pipelined);
  EXPECT_DOUBLE_EQ(a.done, 10 + 30 + 10 + 5 + 1 + 10);
  EXPECT_DOUBLE_EQ(b.edge_start, 10);
  const Slot c = place(send, 20, serial);
  const Slot d = place(send, 20, serial);
  const Slot e = place(local, 20, serial);
  EXPECT_DOUBLE_EQ(c.done, a.done);
  EXPECT_DOUBLE_EQ(d.edge_start, c.done);
  EXPECT_DOUBLE_EQ(d.done, 2 * c.done);
  EXPECT_DOUBLE_EQ(e.edge_start, d.done);  // an edge-only task waits too
  EXPECT_DOUBLE_EQ(e.done, d.done + 20);
  EXPECT_DOUBLE_EQ(serial.edge, e.done);
}

// The heuristic alone (no branch and bound) on the same kind of batches:
// how far from the optimum it lands, and that its bound stays below.
TEST(BatchSchedule, HeuristicStaysCloseToTheOptimum) {
  std::mt19937_64 rng(7);
  double worst = 1.0, sum = 0;
  int count = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Instance in = random_instance(rng, 6, 3, 4);
    for (BatchObjective objective : {BatchObjective::makespan, BatchObjective::total_completion}) {
      const Schedule exact = schedule_batch(in.tasks, in.link.rtt_ms, in.start, objective);
      const Schedule heuristic =
          schedule_batch(in.tasks, in.link.rtt_ms, in.start, objective, {.exact_max_tasks = 0});
      ASSERT_TRUE(exact.exact);
      EXPECT_GE(heuristic.objective_value, exact.objective_value * (1 - 1e-9));
      EXPECT_LE(heuristic.lower_bound, exact.objective_value * (1 + 1e-9));
      const double ratio = heuristic.objective_value / exact.objective_value;
      worst = std::max(worst, ratio);
      sum += ratio;
      ++count;
    }
  }
  RecordProperty("worst_ratio", std::to_string(worst));
  RecordProperty("mean_ratio", std::to_string(sum / count));
  EXPECT_LE(worst, 1.10);
  EXPECT_LE(sum / count, 1.01);
}

// Forty tasks: the heuristic's makespan against its own lower bound.
TEST(BatchSchedule, LargeBatchesCarryABound) {
  std::mt19937_64 rng(3);
  const Instance in = random_instance(rng, 40, 5, 8);
  const Schedule s = schedule_batch(in.tasks, in.link.rtt_ms, in.start, BatchObjective::makespan);
  EXPECT_EQ(s.order.size(), 40u);
  EXPECT_GT(s.lower_bound, 0);
  EXPECT_LE(s.lower_bound, s.objective_value * (1 + 1e-9));
  RecordProperty("makespan_over_bound", std::to_string(s.objective_value / s.lower_bound));
  // No worse than dispatching in arrival order with each task's earliest completion.
  Timeline t = in.start;
  double fifo = 0;
  for (const BatchTask& task : in.tasks) {
    const Slot slot = earliest_completion(task.options, in.link.rtt_ms, t);
    place(task.options[slot.option], in.link.rtt_ms, t);
    fifo = std::max(fifo, slot.done);
  }
  EXPECT_LE(s.objective_value, fifo * (1 + 1e-9));
}

// The makespan search does not stall on its plateaus: on forty-task
// batches it finds a makespan at least as short as the mean-completion
// search's schedule has (which it starts from, among others).
TEST(BatchSchedule, TheMakespanSearchBeatsTheMeanSearchsMakespan) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 6; ++trial) {
    const Instance in = random_instance(rng, 40, 4, 7);
    for (const ScheduleOptions& options : {ScheduleOptions{}, k_daemon_schedule_options}) {
      const Schedule span = schedule_batch(in.tasks, in.link.rtt_ms, in.start, BatchObjective::makespan, options);
      const Schedule mean =
          schedule_batch(in.tasks, in.link.rtt_ms, in.start, BatchObjective::total_completion, options);
      EXPECT_LE(span.makespan, mean.makespan * (1 + 1e-9)) << "trial " << trial;
      EXPECT_LE(mean.total_completion, span.total_completion * (1 + 1e-9)) << "trial " << trial;
    }
  }
}

// Identical tasks are interchangeable: whatever order the search found,
// they keep their submission order (the edge dispatches FIFO among twins).
TEST(BatchSchedule, InterchangeableTasksKeepTheirOrder) {
  const std::vector<Stages> heavy{{.edge = 30}, {.edge = 5, .upload = 20, .cloud = 4, .sends = true}};
  const std::vector<Stages> light{{.edge = 2}, {.edge = 0, .upload = 1, .cloud = 1, .sends = true}};
  for (const std::size_t n : {std::size_t{5}, std::size_t{12}}) {
    for (const auto objective : {BatchObjective::makespan, BatchObjective::total_completion}) {
      std::vector<BatchTask> tasks;
      for (std::size_t j = 0; j < n; ++j) {
        tasks.push_back(j % 3 == 1 ? BatchTask{light, 1} : BatchTask{heavy, 0});
      }
      const Schedule s = schedule_batch(tasks, 2.0, {}, objective);
      ASSERT_EQ(s.order.size(), n);
      std::map<std::size_t, std::size_t> last;
      for (std::size_t j : s.order) {
        const std::size_t g = tasks[j].group;
        if (last.count(g)) {
          EXPECT_LT(last[g], j) << "group " << g << ", " << n << " tasks";
        }
        last[g] = j;
      }
    }
  }
}

TEST(BatchSchedule, RefusesATaskWithoutOptions) {
  EXPECT_THROW(schedule_batch({BatchTask{}}, 0, {}, BatchObjective::makespan), std::invalid_argument);
  const Schedule empty = schedule_batch({}, 0, {}, BatchObjective::makespan);
  EXPECT_TRUE(empty.order.empty());
}

}  // namespace
}  // namespace tandem::partition
