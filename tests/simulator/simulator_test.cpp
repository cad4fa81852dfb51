// The fleet simulator on tiny scenarios whose answers are worked out by
// hand: lenet with explicit costs (every computed node 1 ms on the edge,
// 0.5 ms in the cloud; 4096 bytes up, 40 bytes down), one or two edges,
// fixed or traced arrivals, forced plans; then failures, the planner, the
// parsers and determinism.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/graph_builder.hpp"
#include "simulator/host.hpp"
#include "simulator/report.hpp"
#include "simulator/simulator.hpp"

namespace tandem::sim {
namespace {

constexpr double k_edge_node_ms = 1.0;
constexpr double k_cloud_node_ms = 0.5;
constexpr double k_rate = 40960;    // B/s: 4096 B up in 100 ms, 40 B down in 0.9765625 ms
constexpr double k_rtt_ms = 20;     // 10 ms each way
constexpr double k_lenet_nodes = 12;  // computed nodes (node 0 is the input)

std::shared_ptr<planner::Planner> lenet_planner() {
  auto p = std::make_shared<planner::Planner>();
  const GraphDesc g = zoo_graph("lenet");
  planner::ModelCosts costs{std::vector<double>(g.size(), k_edge_node_ms), std::vector<double>(g.size(), k_cloud_node_ms)};
  p->add_model(g, std::move(costs));
  return p;
}

Scenario tiny(Planning planning = Planning::cloud_only) {
  Scenario s;
  s.models = {"lenet"};
  s.arrivals.kind = Arrivals::Kind::fixed;
  s.arrivals.rate_per_s = 1;
  s.duration_s = 3;
  units::Link link;
  link.bytes_per_s = k_rate;
  link.rtt_ms = k_rtt_ms;
  s.link_mix = {{link, 1}};
  s.planning = planning;
  return s;
}

// Cloud-only lenet, alone: upload 100 + 10 + cloud 12 × 0.5 + download 0.9765625 + 10.
constexpr double k_alone_ms = 100 + 10 + 6 + 0.9765625 + 10;

// The planner on the shipped profiles (profiles/), no model added yet.
std::shared_ptr<planner::Planner> shipped_planner() {
  return planner::Planner::from_profiles(std::filesystem::path(TANDEM_PROFILES_DIR) / "edge.json",
                                         std::filesystem::path(TANDEM_PROFILES_DIR) / "cloud.json");
}

// `edges` edges submitting one task of `model` each at 0, forced to `planning`.
Scenario one_task_each(const std::string& model, const std::string& mix, Planning planning, std::size_t edges = 1) {
  Scenario s;
  s.models = {model};
  s.edges = edges;
  s.link_mix = parse_link_mix(mix);
  s.planning = planning;
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0};
  return s;
}

TEST(Simulator, TheHandComputedCaseTheOthersBuildOn) {
  const GraphDesc g = zoo_graph("lenet");
  ASSERT_EQ(g.size(), 13u);
  EXPECT_EQ(g.node(0).output_bytes, 4096);
  EXPECT_EQ(g.node(g.sinks().front()).output_bytes, 40);
}

TEST(Simulator, OneEdgeOneCloudFixedArrivalsCompleteAtExactTimes) {
  const auto planner = lenet_planner();
  const SimResult r = simulate(tiny(), *planner);
  ASSERT_EQ(r.tasks.size(), 3u);  // at 0, 1 and 2 s
  for (std::size_t i = 0; i < 3; ++i) {
    const TaskRecord& t = r.tasks[i];
    EXPECT_DOUBLE_EQ(t.arrival_s, static_cast<double>(i));
    EXPECT_NEAR(t.done_s, static_cast<double>(i) + k_alone_ms / 1e3, 1e-12);
    EXPECT_EQ(t.placement, partition::Placement::cloud_only);
    EXPECT_FALSE(t.fallback);
    EXPECT_EQ(t.cloud, 0);
  }
  EXPECT_EQ(r.completed, 3u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_NEAR(r.latency_ms.p50, k_alone_ms, 1e-9);
  EXPECT_NEAR(r.latency_ms.p95, k_alone_ms, 1e-9);
  EXPECT_EQ(r.clouds[0].requests, 3u);
  EXPECT_NEAR(r.clouds[0].busy_s, 3 * 6e-3, 1e-12);
  // Makespan: from the first arrival to the last result.
  EXPECT_NEAR(r.makespan_s, 2 + k_alone_ms / 1e3, 1e-12);
}

TEST(Simulator, UploadsQueueBehindEachOtherOnTheEdgesLink) {
  // Every 50 ms, 100 ms of upload each: task k's upload ends at 100(k+1) ms.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.arrivals.rate_per_s = 20;
  s.duration_s = 0.2;
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    const double done_ms = 100.0 * static_cast<double>(k + 1) + 10 + 6 + 0.9765625 + 10;
    EXPECT_NEAR(r.tasks[k].done_s * 1e3, done_ms, 1e-9) << k;
    EXPECT_NEAR(r.tasks[k].latency_ms(), done_ms - 50.0 * static_cast<double>(k), 1e-9) << k;
  }
}

TEST(Simulator, TwoEdgesQueueAtOneCloudWorker) {
  // Both edges submit at 0 (a trace), upload in parallel, reach the cloud at
  // 110 ms together: one is computed 110-116, the other 116-122.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.edges = 2;
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0};
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 2u);
  std::vector<double> done{r.tasks[0].done_s * 1e3, r.tasks[1].done_s * 1e3};
  std::sort(done.begin(), done.end());
  EXPECT_NEAR(done[0], k_alone_ms, 1e-9);
  EXPECT_NEAR(done[1], k_alone_ms + 6, 1e-9);
  EXPECT_EQ(r.clouds[0].max_queue, 1u);  // the second waits while the first is computed
  EXPECT_EQ(r.clouds[0].max_connections, 2u);
}

TEST(Simulator, StartOffsetsShiftEachEdgesArrivals) {
  // The case above with edge 1 starting 50 ms later: it reaches the cloud at
  // 160 ms, after the first is done (116 ms), so neither waits (together,
  // one of them would wait 6 ms).
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.edges = 2;
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0, 1};
  s.arrivals.offsets_s = {0, 0.05};
  SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 4u);
  std::vector<double> arrivals;
  for (const TaskRecord& t : r.tasks) {
    arrivals.push_back(t.arrival_s);
    EXPECT_NEAR(t.latency_ms(), k_alone_ms, 1e-9);
    EXPECT_NEAR(t.arrival_s - std::floor(t.arrival_s + 1e-9), t.edge == 0 ? 0.0 : 0.05, 1e-12) << t.edge;
  }
  std::sort(arrivals.begin(), arrivals.end());
  const std::vector<double> expected{0, 0.05, 1, 1.05};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(arrivals[i], expected[i], 1e-12) << i;

  // Fixed arrivals: the offset replaces the random phase (edge e mod n).
  s.edges = 3;
  s.arrivals.kind = Arrivals::Kind::fixed;
  s.arrivals.offsets_s = {0.25, 0.5};
  s.duration_s = 1;
  r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 3u);
  for (const TaskRecord& t : r.tasks) EXPECT_DOUBLE_EQ(t.arrival_s, t.edge == 1 ? 0.5 : 0.25) << t.edge;

  s.arrivals.offsets_s = {0.25, 1.0};  // not before the end of the arrivals
  EXPECT_THROW(validate(s), std::invalid_argument);
}

TEST(Simulator, OnASharedHostComputeSlowsWhileMoreAskThanItHas) {
  // One core and one background thread: the cloud's 6 ms take 12.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.duration_s = 1;
  s.host_cores = 1;
  s.host_background = 1;
  SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_NEAR(r.tasks[0].latency_ms(), k_alone_ms + 6, 1e-9);
  // It held half the core for those 12 ms; the background the other half.
  EXPECT_NEAR(r.host_cores_clouds * r.makespan_s, 0.006, 1e-9);

  // Two edges computing the whole of lenet (12 ms each) at once on one core:
  // both at half speed, done at 24 ms; on two cores, at 12 ms.
  s = tiny(Planning::edge_only);
  s.edges = 2;
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0};
  s.host_cores = 1;
  r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 2u);
  for (const TaskRecord& t : r.tasks) EXPECT_NEAR(t.latency_ms(), 24, 1e-9);
  EXPECT_NEAR(r.host_cores_daemons, 1.0, 1e-9);  // the one core, all the time
  EXPECT_NEAR(r.host_cores_edges, 1.0, 1e-9);
  EXPECT_EQ(r.host_cores_clouds, 0.0);
  s.host_cores = 2;
  r = simulate(s, *planner);
  for (const TaskRecord& t : r.tasks) EXPECT_NEAR(t.latency_ms(), 12, 1e-9);
  EXPECT_NEAR(r.host_cores_daemons, 2.0, 1e-9);

  // One edge's two tasks, 6 ms apart, on one core: its compute thread takes
  // them in turn, so they never share: done at 12 and 24 ms.
  s.host_cores = 1;
  s.arrivals.kind = Arrivals::Kind::fixed;
  s.arrivals.rate_per_s = 1.0 / 0.006;  // two tasks per edge within the duration, 6 ms apart
  s.duration_s = 0.007;
  s.edges = 1;
  r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 2u);
  EXPECT_NEAR(r.tasks[0].done_s * 1e3, 12, 1e-9);
  EXPECT_NEAR(r.tasks[1].done_s * 1e3, 24, 1e-9);
}

TEST(Simulator, OnASharedHostASecondJobHalvesTheSpeedOfTheFirstFromItsStart) {
  // Two edges, the second's upload 3 ms slower: their requests reach a
  // two-worker cloud at 110 and 113 ms. On one core the first computes alone
  // for 3 ms (3 of its 6 done), then both at half speed: the first ends at
  // 119, the second (3 done by then) alone at 122.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.edges = 2;
  s.cloud_workers = 2;
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0};
  units::Link slower = s.link_mix[0].link;
  slower.bytes_per_s = 4096 / 0.103;
  s.link_mix.push_back({slower, 1});
  s.links_in_turn = true;
  s.host_cores = 1;
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 2u);
  const TaskRecord& fast = r.tasks[0].edge == 0 ? r.tasks[0] : r.tasks[1];
  const TaskRecord& slow = r.tasks[0].edge == 0 ? r.tasks[1] : r.tasks[0];
  EXPECT_NEAR(fast.done_s * 1e3, 119 + 0.9765625 + 10, 1e-9);
  EXPECT_NEAR(slow.done_s * 1e3, 122 + 40 / *slower.bytes_per_s * 1e3 + 10, 1e-9);
}

TEST(Simulator, ABackgroundTraceChangesTheSpeedWhereItSteps) {
  // The cloud computes 110-116 ms alone on one core; at 115 ms a background
  // thread appears: the last 1 ms of work takes 2, the result comes 1 ms later.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.duration_s = 1;
  s.host_cores = 1;
  s.host_background = 5;  // replaced by the trace
  s.host_background_trace = {{0, 0}, {0.115, 1}};
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_NEAR(r.tasks[0].latency_ms(), k_alone_ms + 1, 1e-9);
}

TEST(Simulator, TwoCloudsShareEdgesByLeastconn) {
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.edges = 4;
  s.clouds = 2;
  const SimResult r = simulate(s, *planner);
  EXPECT_EQ(r.clouds[0].max_connections, 2u);
  EXPECT_EQ(r.clouds[1].max_connections, 2u);
  EXPECT_EQ(r.clouds[0].requests + r.clouds[1].requests, r.tasks.size());
}

TEST(Simulator, EdgeOnlyRunsTheWholeGraphOnTheEdge) {
  const auto planner = lenet_planner();
  const SimResult r = simulate(tiny(Planning::edge_only), *planner);
  for (const auto& t : r.tasks) {
    EXPECT_NEAR(t.latency_ms(), k_lenet_nodes * k_edge_node_ms, 1e-9);
    EXPECT_EQ(t.placement, partition::Placement::edge_only);
    EXPECT_EQ(t.cloud, -1);
  }
  EXPECT_EQ(r.clouds[0].requests, 0u);
}

TEST(Simulator, AKilledCloudLosesNoTaskTheEdgeFinishesThem) {
  // Killed at 50 ms, mid-upload: the edge runs the cloud side itself (12 ×
  // 1 ms) from 50 ms. Later tasks find no cloud (its only one) and run there
  // too: 12 ms each.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.failures = {parse_failure("kill:1@50ms")};
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 3u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.fallbacks, 3u);
  EXPECT_NEAR(r.tasks[0].done_s * 1e3, 50 + 12, 1e-9);
  EXPECT_NEAR(r.tasks[1].latency_ms(), 12, 1e-9);
  EXPECT_NEAR(r.tasks[2].latency_ms(), 12, 1e-9);
  EXPECT_EQ(r.clouds[0].failed, 1u);
  EXPECT_EQ(r.clouds[0].requests, 0u);
}

TEST(Simulator, AKilledConnectionTakesItsQueuedUploadsOffTheLink) {
  // Uploads of 100 ms queue on the link: tasks at 0, 50 and 100 ms upload
  // until 100, 200 and 300 ms. The first is answered at 127 ms, the cloud
  // dies at 130, the other two (and one at 150, with no cloud) finish on the
  // edge. The edge reconnects to the second cloud after its 100 ms back-off
  // and two round trips (270 ms), so a task at 280 ms uploads at once: the
  // dead connection's queue left the link with it (else it would wait
  // until 300).
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.clouds = 2;
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0, 0.05, 0.1, 0.15, 0.28};
  s.duration_s = 1;
  s.failures = {parse_failure("kill:1@130ms")};
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 5u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.fallbacks, 3u);
  EXPECT_NEAR(r.tasks[0].latency_ms(), k_alone_ms, 1e-9);
  EXPECT_EQ(r.tasks[4].cloud, 1);
  EXPECT_FALSE(r.tasks[4].fallback);
  EXPECT_NEAR(r.tasks[4].latency_ms(), k_alone_ms, 1e-9);
}

TEST(Simulator, ADrainedCloudHandsItsEdgesToAnotherWithoutFallbacks) {
  // Two edges, two clouds, one edge each. Cloud 1 drains at 0.5 s (idle
  // then), stops at 0.7 s; its edge reconnects after 100 ms plus 2 RTTs and
  // sends the rest to cloud 2.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.edges = 2;
  s.clouds = 2;
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0, 1, 2};
  s.drain_grace_s = 0.2;
  s.failures = {parse_failure("drain:1@500ms")};
  const SimResult r = simulate(s, *planner);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.fallbacks, 0u);
  EXPECT_EQ(r.clouds[0].requests, 1u);  // its edge's task at 0 s
  EXPECT_EQ(r.clouds[1].requests, 5u);
  EXPECT_EQ(r.clouds[1].max_connections, 2u);
  // Both edges' tasks now reach cloud 2 together: one waits 6 ms.
  for (const auto& t : r.tasks) {
    EXPECT_GE(t.latency_ms(), k_alone_ms - 1e-9);
    EXPECT_LE(t.latency_ms(), k_alone_ms + 6 + 1e-9);
  }
}

TEST(Simulator, ADrainClosesASessionWithNothingAtTheCloudAndItsUploadFallsBack) {
  // The cloud stops at 0.2 s while a task is still uploading (sent at 0.15 s,
  // due at 0.26 s). Nothing of that session is queued or in service there,
  // so the server closes it at once; the request on the wire fails with the
  // connection and the edge finishes it (12 ms) from 0.2 s.
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0.15};
  s.drain_grace_s = 0.1;
  s.failures = {parse_failure("drain:1@100ms")};
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_TRUE(r.tasks[0].fallback);
  EXPECT_EQ(r.clouds[0].refused, 1u);
  EXPECT_NEAR(r.tasks[0].done_s * 1e3, 200 + 12, 1e-9);
}

TEST(Simulator, ThePlannerChoosesByLink) {
  // Automatic planning: a fast link sends lenet to the faster cloud; a very
  // slow one keeps it on the edge.
  const auto planner = lenet_planner();
  Scenario s = tiny(Planning::automatic);
  s.link_mix = parse_link_mix("lan");
  SimResult r = simulate(s, *planner);
  EXPECT_EQ(r.cloud_only + r.split, r.tasks.size());
  s.link_mix = parse_link_mix("10kbit,rtt=100ms");
  r = simulate(s, *planner);
  EXPECT_EQ(r.edge_only, r.tasks.size());
}

// Every lenet node 5 ms on the edge (60 ms whole) and next to nothing in the
// cloud, so that cloud-only costs the link's 117 ms.
std::shared_ptr<planner::Planner> slow_lenet_planner() {
  auto planner = std::make_shared<planner::Planner>();
  const GraphDesc g = zoo_graph("lenet");
  planner->add_model(g, planner::ModelCosts{std::vector<double>(g.size(), 5.0), std::vector<double>(g.size(), 1e-3)});
  return planner;
}

TEST(Simulator, AnEdgeSlowerThanItsProfileOffloadsOnceItHasMeasuredIt) {
  // Every lenet node 5 ms on the edge (60 ms whole) and next to nothing in
  // the cloud, so cloud-only is the link's 117 ms. On one core beside three
  // busy threads the edge computes at a quarter of its profile's speed: its
  // first tasks run on the edge (60 ms predicted, 240 ms measured); once the
  // daemon's compute monitor has its three samples, the scaled plan (240 ms
  // on the edge) leaves the edge. --no-calibrate plans on the profile: every
  // task on the edge.
  const auto planner = slow_lenet_planner();
  Scenario s = tiny(Planning::automatic);
  s.duration_s = 8;
  s.host_cores = 1;
  s.host_background = 3;
  SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.tasks.size(), 8u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.tasks[i].placement, partition::Placement::edge_only) << i;
    EXPECT_NEAR(r.tasks[i].latency_ms(), 240, 1e-6) << i;
  }
  for (std::size_t i = 3; i < r.tasks.size(); ++i) {
    EXPECT_NE(r.tasks[i].placement, partition::Placement::edge_only) << i;
    EXPECT_LT(r.tasks[i].latency_ms(), 240) << i;
  }
  s.calibrate = false;
  r = simulate(s, *planner);
  EXPECT_EQ(r.edge_only, r.tasks.size());
}

TEST(Simulator, ComputeScalesStretchEachSideAndTheEdgesLearnThem) {
  // A cloud at 3x its profile: lenet's 6 ms in the cloud take 18 ms.
  const auto lenet = lenet_planner();
  Scenario c = tiny();
  c.cloud_compute_scale = 3;
  SimResult r = simulate(c, *lenet);
  ASSERT_EQ(r.tasks.size(), 3u);
  for (const TaskRecord& t : r.tasks) EXPECT_NEAR(t.latency_ms(), k_alone_ms + 12, 1e-9);
  // An edge at 4x its profile, as AnEdgeSlowerThanItsProfileOffloadsOnceItHasMeasuredIt
  // gets from a shared core: 60 ms predicted, 240 ms measured, then offloads.
  const auto planner = slow_lenet_planner();
  Scenario e = tiny(Planning::automatic);
  e.duration_s = 8;
  e.edge_compute_scale = 4;
  r = simulate(e, *planner);
  ASSERT_EQ(r.tasks.size(), 8u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.tasks[i].placement, partition::Placement::edge_only) << i;
    EXPECT_NEAR(r.tasks[i].latency_ms(), 240, 1e-6) << i;
  }
  for (std::size_t i = 3; i < r.tasks.size(); ++i) EXPECT_NE(r.tasks[i].placement, partition::Placement::edge_only) << i;
  EXPECT_THROW(
      {
        Scenario bad = tiny();
        bad.edge_compute_scale = 0;
        validate(bad);
      },
      std::invalid_argument);
}

TEST(Simulator, TheTimelineSchedulerPlansATaskAloneAsTheLatencyOptimiser) {
  // One task at a time: the timeline scheduler's plan is the latency plan,
  // so both schedulers give the same results.
  const auto planner = lenet_planner();
  Scenario s = tiny(Planning::automatic);
  s.link_mix = parse_link_mix("5.85mbit,rtt=40ms");
  s.scheduler = Scheduler::alone;
  const SimResult alone = simulate(s, *planner);
  s.scheduler = Scheduler::timeline;
  const SimResult timeline = simulate(s, *planner);
  ASSERT_EQ(alone.tasks.size(), 3u);
  ASSERT_EQ(timeline.tasks.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(timeline.tasks[i].done_s, alone.tasks[i].done_s) << i;
    EXPECT_EQ(timeline.tasks[i].placement, alone.tasks[i].placement) << i;
  }
}

TEST(Simulator, TheTimelineSchedulerSpreadsABurstOverTheEdgeAndTheUplink) {
  // Every lenet node 10 ms on the edge (120 ms whole) against 127 ms
  // cloud-only: alone, each task is split after a few nodes (the cut with
  // the fewest bytes for its edge time), and a burst of 8 queues on the
  // uplink. The timeline scheduler keeps some on the edge and sends some
  // whole while others upload: a shorter makespan and mean latency.
  auto planner = std::make_shared<planner::Planner>();
  const GraphDesc g = zoo_graph("lenet");
  planner->add_model(g, planner::ModelCosts{std::vector<double>(g.size(), 10.0), std::vector<double>(g.size(), 0.5)});
  Scenario s = tiny(Planning::automatic);
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = std::vector<double>(8, 0.0);
  s.scheduler = Scheduler::alone;
  s.heavy_backlog = 0;  // Neurosurgeon: every task planned for its own latency
  const SimResult alone = simulate(s, *planner);
  s.scheduler = Scheduler::timeline;
  const SimResult timeline = simulate(s, *planner);
  ASSERT_EQ(alone.completed, 8u);
  ASSERT_EQ(timeline.completed, 8u);
  EXPECT_EQ(alone.edge_only, 0u);  // alone, the split wins every time
  EXPECT_EQ(alone.split, 8u);
  EXPECT_GT(timeline.edge_only, 0u);
  EXPECT_GT(timeline.split, 0u);
  EXPECT_GT(timeline.cloud_only, 0u);
  EXPECT_LT(timeline.makespan_s, alone.makespan_s);
  EXPECT_LT(timeline.latency_ms.mean, alone.latency_ms.mean);
}

TEST(Simulator, ABurstIsWaitingWholeWhenTheEdgeFirstLooks) {
  // A queue sent at once (equal arrival times) is all in the edge's queue
  // when its compute thread first plans, as on the daemon, whose first
  // dispatch after `tandem submit` sees a window of tasks: the timeline
  // scheduler runs the short lenet (every node 1 ms) before the long
  // alexnet (every node 50 ms) that arrived first. Planned as each task
  // arrived, the alexnet ran first, alone.
  auto planner = std::make_shared<planner::Planner>();
  for (const char* name : {"alexnet", "lenet"}) {
    const GraphDesc g = zoo_graph(name);
    const double edge_ms = std::string(name) == "lenet" ? 1.0 : 50.0;
    planner->add_model(g, planner::ModelCosts{std::vector<double>(g.size(), edge_ms), std::vector<double>(g.size(), 1e4)});
  }
  Scenario s = tiny(Planning::automatic);
  s.models = {"alexnet", "lenet"};  // in turn: task 0 alexnet, task 1 lenet
  s.arrivals.kind = Arrivals::Kind::trace;
  s.arrivals.trace_s = {0, 0};
  s.scheduler = Scheduler::timeline;
  const SimResult r = simulate(s, *planner);
  ASSERT_EQ(r.completed, 2u);
  EXPECT_EQ(r.edge_only, 2u);  // the cloud costs 10 s a node
  EXPECT_EQ(r.tasks[1].start_s, 0.0);
  EXPECT_NEAR(r.tasks[0].start_s, k_lenet_nodes * 1e-3, 1e-9);
}

TEST(Simulator, SeededAndDeterministic) {
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.edges = 20;
  s.clouds = 3;
  s.arrivals.kind = Arrivals::Kind::poisson;
  s.arrivals.rate_per_s = 5;
  s.duration_s = 10;
  s.link_mix = parse_link_mix("4g");
  s.compute_noise = 0.3;
  s.failures = {parse_failure("kill:2@3s"), parse_failure("drain:3@5s")};
  const SimResult a = simulate(s, *planner), b = simulate(s, *planner);
  ASSERT_EQ(a.tasks.size(), b.tasks.size());
  for (std::size_t i = 0; i < a.tasks.size(); ++i) {
    EXPECT_EQ(a.tasks[i].done_s, b.tasks[i].done_s) << i;
    EXPECT_EQ(a.tasks[i].cloud, b.tasks[i].cloud) << i;
  }
  EXPECT_EQ(a.lost, 0u);
  EXPECT_GT(a.fallbacks, 0u);  // the kill hit requests in flight
  s.seed = 2;
  const SimResult c = simulate(s, *planner);
  EXPECT_NE(c.latency_ms.p95, a.latency_ms.p95);
}

TEST(Simulator, ProfilesDriveComputeTimes) {
  const auto planner = shipped_planner();
  planner->add_model(zoo_graph("resnet18"));
  const SimResult r = simulate(one_task_each("resnet18", "wifi", Planning::edge_only), *planner);
  ASSERT_EQ(r.tasks.size(), 1u);
  const GraphDesc g = zoo_graph("resnet18");
  EXPECT_NEAR(r.tasks[0].latency_ms(), planner->edge_predictor()->whole_ms(g), 1e-9);
}

TEST(Simulator, AStretchedEdgeWaitsInProportionToTheComputeItGot) {
  // The 4x edge's stretch (RunOptions::slowdown) computes, then waits three
  // times the wall time its compute took. Two such edges starting together
  // on one core share it while they compute, so each compute takes twice as
  // long, and so does each wait: twice the time alone. On two cores they do
  // not meet, and their waits (sleeps) ask for no core at all.
  const auto planner = shipped_planner();
  ASSERT_GT(planner->edge_predictor()->profile().slowdown, 1.0);
  ASSERT_EQ(planner->edge_predictor()->profile().threads, 1);
  planner->add_model(zoo_graph("mobilenet_v2"));
  const double alone = planner->edge_predictor()->whole_ms(zoo_graph("mobilenet_v2"));
  for (const int cores : {1, 2}) {
    Scenario s = one_task_each("mobilenet_v2", "wifi", Planning::edge_only, 2);
    s.host_cores = cores;
    const SimResult r = simulate(s, *planner);
    ASSERT_EQ(r.tasks.size(), 2u);
    for (const TaskRecord& t : r.tasks) {
      EXPECT_NEAR(t.latency_ms(), (cores == 1 ? 2.0 : 1.0) * alone, 1e-6 * alone) << cores << " core(s)";
    }
  }
}

TEST(Simulator, AMultiThreadedJobMovesOnlyWhileAllItsThreadsHoldACore) {
  // The cloud profile's two threads on a 2-core host: with one busy thread
  // beside them each runs 2/3 of the time on its core and both at once
  // (2/3)^2 = 4/9 of it, so the cloud side takes 2.25 times as long
  // (measured: 2.3); fair sharing would say 1.5.
  const auto planner = shipped_planner();
  ASSERT_EQ(planner->cloud_predictor()->profile().threads, 2);
  const GraphDesc g = zoo_graph("resnet18");
  planner->add_model(g);
  const auto latency = [&](double background) {
    Scenario s = one_task_each("resnet18", "lan", Planning::cloud_only);
    s.host_cores = 2;
    s.host_background = background;
    const SimResult r = simulate(s, *planner);
    EXPECT_EQ(r.tasks.size(), 1u);
    return r.tasks.empty() ? 0.0 : r.tasks[0].latency_ms();
  };
  const double cloud = planner->cloud_predictor()->whole_ms(g);
  EXPECT_NEAR(latency(1) - latency(0), 1.25 * cloud, 1e-6 * cloud);
  // One busy thread and the edge's input side (one thread) fit on the host
  // as long as the cloud is not computing: nothing else slows.
}

TEST(SimulatorHost, SharesCoresFairlyAndCoSchedulesMultiThreadedJobs) {
  // Two cores and one background thread. A two-thread job of 1 s runs at
  // (2/3)^2 = 4/9: each of its threads runs 2/3 of the time on its core.
  // At 1 s (4/9 done) a one-thread job of 0.5 s and a spin of 4 s join:
  // demand 5, the first at (2/5)^2, the second at 2/5. A spin holds its
  // wall time whatever the load.
  Host host(2, 1);
  host.add(0, {.left_s = 1, .weight = 2, .tag = 1});
  ASSERT_TRUE(host.next_end());
  EXPECT_NEAR(*host.next_end(), 9.0 / 4, 1e-12);
  // The job held 2 of the 3 threads' worth of the 2 cores: 4/3 core-seconds.
  EXPECT_NEAR(host.jobs_core_seconds(1, 0), 4.0 / 3, 1e-12);
  host.add(1, {.left_s = 0.5, .weight = 1, .tag = 2});
  host.add(1, {.left_s = 4, .weight = 1, .spin = true, .tag = 3});
  EXPECT_NEAR(*host.next_end(), 1 + 0.5 / 0.4, 1e-12);
  // Without the spin, demand 4: the one-thread job at 1/2 ends at 2 s, the
  // two-thread one at 1/4 has 5/9 - 1/4 = 11/36 left then.
  host.cancel(1, [](const Host::Job& j) { return j.tag == 3; });
  EXPECT_NEAR(*host.next_end(), 2.0, 1e-12);
  auto done = host.take_done(2);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, 2u);
  EXPECT_DOUBLE_EQ(done[0].started_s, 1);
  EXPECT_NEAR(*host.next_end(), 2 + (11.0 / 36) / (4.0 / 9), 1e-12);
  host.set_background(2.5, 0);  // 2/9 more done by 2.5 s, 1/12 left; alone now, at full speed
  EXPECT_NEAR(*host.next_end(), 2.5 + 1.0 / 12, 1e-12);
  done = host.take_done(2.5 + 1.0 / 12);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(host.next_end());
  // The jobs' core-seconds: 4/3 to 1 s; 3/4 of both cores to 2 s; 2/3 of
  // them to 2.5 s; both cores alone to the end; nothing after.
  EXPECT_NEAR(host.jobs_core_seconds(3, 0), 4.0 / 3 + 1.5 + 2.0 / 3 + 2.0 / 12, 1e-12);
  EXPECT_EQ(host.jobs_core_seconds(3, 1), 0.0);  // no job of group 1
}

TEST(SimulatorHost, AOneThreadJobSharesTheCoreItIsQueuedOn) {
  // Two cores, no background. A two-thread job has a thread on each; a
  // one-thread job joins core 0 and gets half of it — not the 2/3 a share of
  // the whole host would give: a one-thread resnet18 beside a two-thread one
  // took 1.99x its time alone (bench/cluster/coschedule.py --target-threads
  // 1). The two-thread job moves while both its threads run: 1/2 x 1.
  Host host(2, 0);
  host.add(0, {.left_s = 1, .weight = 2, .tag = 1});
  host.add(0, {.left_s = 0.25, .weight = 1, .tag = 2});
  EXPECT_EQ(host.queued(), (std::vector<int>{2, 1}));
  EXPECT_NEAR(*host.next_end(), 0.5, 1e-12);  // the one-thread job, at 1/2
  // Each thread held its share: 1/2 + 1/2 on core 0, all of core 1.
  EXPECT_NEAR(host.jobs_core_seconds(0.5, 0), 2 * 0.5, 1e-12);
  ASSERT_EQ(host.take_done(0.5).size(), 1u);
  // Alone again (3/4 left): at full speed.
  EXPECT_NEAR(*host.next_end(), 1.25, 1e-12);

  // Three one-thread jobs: two share core 0, one has core 1 — together the
  // whole host, as processor sharing would give them.
  Host three(2, 0);
  for (std::uint64_t t = 1; t <= 3; ++t) three.add(0, {.left_s = 1, .weight = 1, .tag = t});
  EXPECT_EQ(three.queued(), (std::vector<int>{2, 1}));
  EXPECT_NEAR(*three.next_end(), 1.0, 1e-12);  // the one alone on core 1
  ASSERT_EQ(three.take_done(1).size(), 1u);
  // Core 0's two (1/2 done each) now 2 against 0: one moves to core 1, as
  // Linux pulls a waiting thread to an idle core; both at full speed.
  EXPECT_EQ(three.queued(), (std::vector<int>{1, 1}));
  EXPECT_NEAR(*three.next_end(), 1.5, 1e-12);
  EXPECT_NEAR(three.jobs_core_seconds(1.5, 0), 2 + 1, 1e-12);

  // The background fills the idlest core first: with one thread of it, the
  // one-thread jobs on {2, 1} queue to 2 each, as if it had joined core 1.
  Host busy(2, 1);
  busy.add(0, {.left_s = 1, .weight = 1, .tag = 1});
  busy.add(0, {.left_s = 1, .weight = 1, .tag = 2});
  busy.add(0, {.left_s = 1, .weight = 1, .tag = 3});
  EXPECT_NEAR(*busy.next_end(), 2.0, 1e-12);

  EXPECT_THROW(Host(1.5, 0), std::invalid_argument);  // cores are whole
  EXPECT_THROW(Host(0, 0), std::invalid_argument);
}

TEST(SimulatorScenario, ParsesMixesFailuresAndFilesAndRefusesNamingTheField) {
  const auto mix = parse_link_mix("5.85mbit,rtt=40ms:3;1.1mbit,one-way=40ms");
  ASSERT_EQ(mix.size(), 2u);
  EXPECT_DOUBLE_EQ(mix[0].weight, 3);
  EXPECT_DOUBLE_EQ(mix[1].link.rtt_ms, 80);
  EXPECT_EQ(parse_link_mix("4g").size(), 3u);
  EXPECT_THROW(parse_link_mix("rtt=40ms"), std::invalid_argument);  // no rate
  EXPECT_THROW(parse_link_mix("5mbit:x"), std::invalid_argument);
  const Failure f = parse_failure("drain:3@1.5s");
  EXPECT_EQ(f.cloud, 2u);
  EXPECT_DOUBLE_EQ(f.at_s, 1.5);
  EXPECT_EQ(f.action, Failure::Action::drain);
  for (const char* bad : {"kill:0@1s", "stop:1@1s", "kill:1", "kill:x@1s", "kill:1@5"}) {
    EXPECT_THROW(parse_failure(bad), std::invalid_argument) << bad;
  }
  Scenario s = tiny();
  s.failures = {parse_failure("kill:2@1s")};
  try {
    validate(s);
    FAIL() << "a failure of cloud 2 of 1 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("only 1 cloud"), std::string::npos) << e.what();
  }

  const auto dir = std::filesystem::temp_directory_path() / "tandem_sim_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "arrivals.txt") << "# seconds\n0\n0.5\n";
  std::ofstream(dir / "s.json") << R"({"edges": 3, "clouds": 2, "models": ["lenet"], "arrivals": "trace",
      "arrival_trace": "arrivals.txt", "duration": "10s", "link_mix": "wifi", "failures": ["kill:2@1s"],
      "scheduler": "alone", "batch_window": 4, "arrival_offsets": ["0s", "250ms"]})";
  const Scenario loaded = load_scenario(dir / "s.json");
  EXPECT_EQ(loaded.edges, 3u);
  EXPECT_EQ(loaded.scheduler, Scheduler::alone);
  EXPECT_EQ(loaded.batch_window, 4u);
  EXPECT_EQ(Scenario{}.scheduler, Scheduler::timeline);  // as edge_daemon
  for (Scheduler k : {Scheduler::timeline, Scheduler::alone}) EXPECT_EQ(scheduler_from_string(to_string(k)), k);
  EXPECT_FALSE(scheduler_from_string("fifo"));
  EXPECT_EQ(loaded.arrivals.trace_s, (std::vector<double>{0, 0.5}));
  EXPECT_EQ(loaded.arrivals.offsets_s, (std::vector<double>{0, 0.25}));
  EXPECT_DOUBLE_EQ(loaded.duration_s, 10);
  // Files load_scenario refuses, naming the field.
  const auto expect_refused = [&](const std::string& name, const std::string& text, const std::string& why) {
    std::ofstream(dir / name) << text;
    try {
      load_scenario(dir / name);
      ADD_FAILURE() << name << " was accepted: " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  expect_refused("sched.json", R"({"scheduler": "fifo"})", "scheduler: timeline or alone");
  expect_refused("bad.json", R"({"edges": 3, "cloudz": 2})", "cloudz: unknown field");
  expect_refused("cores.json", R"({"models": ["lenet"], "host_cores": 1.5})", "host_cores must be a whole number");
  std::ofstream(dir / "late.txt") << "1\n0.5\n";
  EXPECT_THROW(load_arrival_trace(dir / "late.txt"), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST(SimulatorReport, JsonAndSvgCarryTheSummary) {
  const auto planner = lenet_planner();
  Scenario s = tiny();
  s.failures = {parse_failure("kill:1@1.5s")};
  const SimResult r = simulate(s, *planner);
  const auto j = to_json(s, r);
  EXPECT_EQ(j["completed"], 3);
  EXPECT_EQ(j["lost"], 0);
  EXPECT_NEAR(j["latency_ms"]["p50"].get<double>(), r.latency_ms.p50, 1e-12);
  EXPECT_EQ(j["scenario"]["failures"][0], "kill:1@1.5s");
  const auto path = std::filesystem::temp_directory_path() / "tandem_sim_test.svg";
  write_svg(path, s, r);
  std::ifstream in(path);
  const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("kill 1"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tandem::sim
