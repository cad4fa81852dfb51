// EdgeService and CloudService together in one process, on a real loopback
// net::Server: pipelining, fallback when the cloud refuses or is absent, and
// the light/heavy switch — fast, without starting daemon processes.

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "cloud_daemon/cloud_service.hpp"
#include "edge_daemon/edge_service.hpp"
#include "testutil/tasks.hpp"
#include "testutil/tensor_compare.hpp"

namespace tandem::edge {
namespace {

using namespace std::chrono_literals;
using control::TaskResult;
using control::TaskSpec;

constexpr auto k_bound = 120s;
const std::string k_profiles = TANDEM_PROFILES_DIR;

net::AuthKey test_key() {
  const std::vector<std::uint8_t> bytes(32, 0x5a);
  return std::move(net::AuthKey::from_bytes(bytes).value());
}

// Refuses every `every`-th request, passes the rest to the real service.
class Refusing : public net::ServerHandler {
 public:
  Refusing(std::shared_ptr<cloud::CloudService> inner, int every) : inner_(std::move(inner)), every_(every) {}
  std::optional<net::Error> check_models(const std::vector<net::ModelFingerprint>& m) override {
    return inner_->check_models(m);
  }
  void infer(const net::InferContext& c, net::InferRequest r, net::Responder responder) override {
    if (every_ > 0 && ++count_ % every_ == 0) {
      responder.fail(net::Errc::request_failed, "refused by the test");
      return;
    }
    inner_->infer(c, std::move(r), std::move(responder));
  }

 private:
  std::shared_ptr<cloud::CloudService> inner_;
  int every_;
  std::atomic<int> count_{0};
};

// Holds every request on the server's worker until the test lets it
// through, one at a time, so the queue the cloud reports in its replies is
// the one the test built.
class Holding : public net::ServerHandler {
 public:
  explicit Holding(std::shared_ptr<cloud::CloudService> inner) : inner_(std::move(inner)) {}
  ~Holding() override { release(1 << 20); }
  std::optional<net::Error> check_models(const std::vector<net::ModelFingerprint>& m) override {
    return inner_->check_models(m);
  }
  void infer(const net::InferContext& c, net::InferRequest r, net::Responder responder) override {
    {
      std::unique_lock lock(mutex_);
      const int mine = arrived_++;
      changed_.notify_all();
      changed_.wait_for(lock, 120s, [&] { return released_ > mine; });
    }
    inner_->infer(c, std::move(r), std::move(responder));
  }
  bool wait_arrived(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 120s, [&] { return arrived_ >= n; });
  }
  void release(int n) {
    std::lock_guard lock(mutex_);
    released_ += n;
    changed_.notify_all();
  }

 private:
  std::shared_ptr<cloud::CloudService> inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0, released_ = 0;
};

// Results collected from the service's threads.
struct Results {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::uint64_t, TaskResult> by_task;
  std::vector<std::uint64_t> order;

  ResultCallback callback() {
    return [this](TaskResult r) {
      std::lock_guard lock(mutex);
      order.push_back(r.task);
      by_task.emplace(r.task, std::move(r));
      changed.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, k_bound, [&] { return by_task.size() >= n; });
  }
};

struct Fixture {
  ModelSet models = load_models({"lenet", "resnet18"}, 3);
  std::shared_ptr<cloud::CloudService> cloud = std::make_shared<cloud::CloudService>(models, 1);
  std::unique_ptr<net::Server> server;
  std::shared_ptr<CloudLink> link;
  std::shared_ptr<planner::Planner> planner =
      planner::Planner::from_profiles(k_profiles + "/edge.json", k_profiles + "/cloud.json");

  std::shared_ptr<Holding> holding;  // the server's handler when the fixture holds requests

  explicit Fixture(int refuse_every = 0, bool with_server = true, bool hold = false) {
    for (const auto& [name, m] : models) planner->add_model(m->graph());
    std::uint16_t port = 1;  // nothing listens there: unreachable
    if (with_server) {
      net::ServerConfig sc;
      sc.port = 0;
      std::shared_ptr<net::ServerHandler> handler;
      if (hold) {
        handler = holding = std::make_shared<Holding>(cloud);
      } else {
        handler = std::make_shared<Refusing>(cloud, refuse_every);
      }
      server = std::make_unique<net::Server>(sc, test_key(), handler);
      EXPECT_FALSE(server->start());
      port = server->port();
    }
    CloudLinkConfig lc;
    lc.port = port;
    for (const auto& [name, m] : models) lc.client.models.push_back({name, m->fingerprint()});
    link = std::make_shared<CloudLink>(lc, test_key());
    link->start();
    if (with_server) {
      EXPECT_TRUE(link->wait_connected(20s));
    }
  }

  std::unique_ptr<EdgeService> service(EdgeServiceConfig config = {}) {
    return std::make_unique<EdgeService>(config, models, planner, link);
  }

  at::Tensor local(const std::string& model, std::uint64_t seed) const {
    const auto& m = *models.at(model);
    return m.run(m.make_input(seed)).begin()->second;
  }
};

TaskSpec task(std::uint64_t id, const std::string& model, const std::string& plan) {
  return testutil::make_task(id, model, id, plan, true);
}

using testutil::max_rel_diff;

// A cut of resnet18 in the middle: both sides compute.
std::string middle_cut(const Fixture& f) {
  const auto cuts = articulation_cuts(f.models.at("resnet18")->graph());
  return "cut:" + cuts[cuts.size() / 2].to_string();
}

TEST(CloudLink, IdleProbesSpaceOutSoTheyHoldTheLinkAtMostTheirDuty) {
  // A 64 KB probe on a 1.1 mbit uplink holds it 477 ms: at a 500 ms interval
  // and a 10% duty the next waits 4.77 s, not 0.5 s.
  EXPECT_EQ(probe_gap(500ms, 477, 0.1), 4770ms);
  // A probe that fits its share leaves the interval as it was.
  EXPECT_EQ(probe_gap(500ms, 12, 0.1), 500ms);
  EXPECT_EQ(probe_gap(500ms, 50, 0.1), 500ms);
  // A duty of 1 lets probes follow each other (the interval still holds).
  EXPECT_EQ(probe_gap(500ms, 477, 1.0), 500ms);
  EXPECT_EQ(probe_gap(200ms, 900, 1.0), 900ms);
  // No usable figure: the interval. A probe that never came back: an hour at most.
  EXPECT_EQ(probe_gap(500ms, 0, 0.1), 500ms);
  EXPECT_EQ(probe_gap(500ms, std::nan(""), 0.1), 500ms);
  EXPECT_EQ(probe_gap(500ms, 477, 0), 500ms);
  EXPECT_EQ(probe_gap(500ms, 1e12, 0.1), std::chrono::milliseconds(3600 * 1000));
}

// With pipelining the compute thread starts task k+1 as soon as task k is on
// the wire; without, it waits for task k's result. A task starts at
// started_ms on the service's clock and ends measured_ms later.
TEST(EdgeService, PipeliningOverlapsTasksAndKeepsOutputsExact) {
  Fixture f;
  const std::string cut = middle_cut(f);
  for (const bool pipeline : {true, false}) {
    SCOPED_TRACE(pipeline ? "pipeline on" : "pipeline off");
    Results results;
    {
      auto service = f.service({.pipeline = pipeline, .heavy_backlog = 0});
      constexpr int k_tasks = 6;
      for (int i = 0; i < k_tasks; ++i) service->submit(task(i, "resnet18", cut), results.callback());
      ASSERT_TRUE(results.wait_for(k_tasks));
    }
    int overlaps = 0;
    for (std::uint64_t i = 0; i + 1 < results.by_task.size(); ++i) {
      const TaskResult& a = results.by_task.at(i);
      const TaskResult& b = results.by_task.at(i + 1);
      ASSERT_TRUE(a.ok) << control::to_line(a);
      EXPECT_EQ(a.placement, partition::Placement::split);
      EXPECT_FALSE(a.fallback);
      EXPECT_EQ(a.pipelined, pipeline);
      EXPECT_LE(max_rel_diff(a.outputs, f.local("resnet18", i)), 1e-4);
      const double a_end = a.started_ms + a.measured_ms;
      const double b_start = b.started_ms;
      if (b_start < a_end) ++overlaps;
      if (!pipeline) {
        EXPECT_GE(b_start, a_end) << "task " << i + 1 << " started before task " << i << " ended";
      }
    }
    if (pipeline) {
      EXPECT_GT(overlaps, 0);
    } else {
      // Predicted at submission on a timeline without pipelining: each task
      // waits for the previous one's result, so task k completes k+1 task
      // latencies after the first was submitted (the first alone: its latency).
      // Each prediction counts from its own submission (started - queued),
      // a little after the first's: under TSan the submits were 4 ms apart.
      const auto submitted = [&](std::uint64_t k) {
        return results.by_task.at(k).started_ms - results.by_task.at(k).queue_ms;
      };
      const double alone = results.by_task.at(0).predicted_completion_ms;
      ASSERT_GT(alone, 0);
      for (std::uint64_t k = 1; k < results.by_task.size(); ++k) {
        EXPECT_GE(submitted(k) - submitted(0) + results.by_task.at(k).predicted_completion_ms,
                  0.95 * static_cast<double>(k + 1) * alone)
            << k;
      }
    }
  }
}

TEST(EdgeService, RefusedRequestsFallBackToTheEdgeWithCorrectOutputs) {
  Fixture f(/*refuse_every=*/2);
  const std::string cut = middle_cut(f);
  Results results;
  {
    auto service = f.service();
    for (int i = 0; i < 6; ++i) service->submit(task(i, "resnet18", cut), results.callback());
    ASSERT_TRUE(results.wait_for(6));
    EXPECT_EQ(service->stats().fallbacks, 3u);
  }
  int fallbacks = 0;
  for (const auto& [id, r] : results.by_task) {
    ASSERT_TRUE(r.ok) << control::to_line(r);
    EXPECT_LE(max_rel_diff(r.outputs, f.local("resnet18", id)), 1e-4) << id;
    if (r.fallback) {
      ++fallbacks;
      EXPECT_NE(r.fallback_reason.find("refused by the test"), std::string::npos) << r.fallback_reason;
    }
  }
  EXPECT_EQ(fallbacks, 3);
}

TEST(EdgeService, WithoutACloudEveryTaskRunsOnTheEdgeAndSaysWhy) {
  Fixture f(0, /*with_server=*/false);
  Results results;
  {
    auto service = f.service();
    service->submit(task(0, "lenet", "auto"), results.callback());
    service->submit(task(1, "lenet", "cloud_only"), results.callback());
    ASSERT_TRUE(results.wait_for(2));
  }
  for (const auto& [id, r] : results.by_task) {
    ASSERT_TRUE(r.ok) << control::to_line(r);
    EXPECT_TRUE(r.fallback);
    EXPECT_NE(r.fallback_reason.find("cloud unreachable"), std::string::npos) << r.fallback_reason;
    EXPECT_LE(max_rel_diff(r.outputs, f.local("lenet", id)), 1e-4);
  }
  EXPECT_EQ(results.by_task.at(0).placement, partition::Placement::edge_only);
}

// The planner is told the edge is three times faster than it is; a few
// tasks later the service has measured the difference and predicts with it.
TEST(EdgeService, LearnsHowFastTheEdgeReallyComputesFromItsTasks) {
  for (const bool calibrate : {true, false}) {
    SCOPED_TRACE(calibrate ? "calibrating" : "--no-calibrate");
    Fixture f;
    const GraphDesc& g = f.models.at("resnet18")->graph();
    planner::ModelCosts costs = planner::predict_costs(*f.planner->edge_predictor(), *f.planner->cloud_predictor(), g);
    const auto measured = [&] {  // this machine's edge-only run, now
      const auto& m = *f.models.at("resnet18");
      const auto input = m.make_input(1);
      m.run(input);
      const auto t0 = std::chrono::steady_clock::now();
      m.run(input);
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }();
    double unscaled = costs.edge_run_ms;
    for (double v : costs.edge_ms) unscaled += v;
    const double tell = measured / 3 / unscaled;  // the planner's edge: three times faster than this one
    for (double& v : costs.edge_ms) v *= tell;
    costs.edge_run_ms *= tell;
    unscaled *= tell;
    f.planner->add_model(g, costs);
    Results results;
    auto service = f.service({.calibrate_compute = calibrate});
    for (std::uint64_t i = 0; i < 5; ++i) service->submit(task(i, "resnet18", "edge_only"), results.callback());
    ASSERT_TRUE(results.wait_for(5));
    const control::Status status = service->status();
    service->submit(task(5, "resnet18", "edge_only"), results.callback());
    ASSERT_TRUE(results.wait_for(6));
    for (const auto& [id, r] : results.by_task) ASSERT_TRUE(r.ok) << control::to_line(r);
    // The monitor measures either way; only calibration plans with it.
    EXPECT_GT(status.edge_compute_scale, 1.5);
    EXPECT_DOUBLE_EQ(status.cloud_compute_scale, 1.0);  // nothing ran in the cloud
    const double predicted = results.by_task.at(5).predicted_edge_ms;
    if (calibrate) {
      EXPECT_GT(predicted, 1.5 * unscaled);
    } else {
      EXPECT_NEAR(predicted, unscaled, 1e-9 * unscaled);
    }
    EXPECT_NEAR(results.by_task.at(0).predicted_edge_ms, unscaled, 1e-9 * unscaled);  // before any sample
  }
}

TEST(EdgeService, TheAloneSchedulerSwitchesToThroughputPlanningBehindABacklog) {
  Fixture f;
  Results results;
  {
    auto service = f.service({.scheduler = Scheduler::alone, .heavy_backlog = 4});
    for (int i = 0; i < 12; ++i) service->submit(task(i, "lenet", "auto"), results.callback());
    ASSERT_TRUE(results.wait_for(12));
    EXPECT_FALSE(service->stats().heavy);
  }
  int heavy = 0, light = 0;
  for (const auto& [id, r] : results.by_task) {
    ASSERT_TRUE(r.ok) << control::to_line(r);
    ASSERT_TRUE(r.mode.has_value());
    if (*r.mode == control::PlanningMode::heavy) {
      ++heavy;
      EXPECT_EQ(r.objective, partition::Objective::throughput);
    } else {
      ++light;
      EXPECT_EQ(r.objective, partition::Objective::latency);
    }
  }
  EXPECT_GT(heavy, 0);
  EXPECT_GT(light, 0);
  // Forced plans are never switched.
  Results forced;
  {
    auto service = f.service({.scheduler = Scheduler::alone, .heavy_backlog = 1});
    for (int i = 0; i < 3; ++i) service->submit(task(i, "lenet", "edge_only"), forced.callback());
    ASSERT_TRUE(forced.wait_for(3));
  }
  for (const auto& [id, r] : forced.by_task) EXPECT_FALSE(r.mode.has_value());
}

// The timeline scheduler with every resource free: exactly the latency
// optimiser's plan and prediction under the conditions the task saw.
TEST(EdgeService, ATaskAlonePlansAsTheLatencyOptimiser) {
  Fixture f;
  for (const std::string model : {"lenet", "resnet18"}) {
    SCOPED_TRACE(model);
    Results results;
    {
      auto service = f.service();
      service->submit(task(0, model, "auto"), results.callback());
      ASSERT_TRUE(results.wait_for(1));
    }
    const TaskResult& r = results.by_task.at(0);
    ASSERT_TRUE(r.ok) << control::to_line(r);
    ASSERT_TRUE(r.mode.has_value());
    EXPECT_EQ(*r.mode, control::PlanningMode::timeline);
    ASSERT_TRUE(r.rtt_ms.has_value());
    planner::Conditions cond;
    const double bytes_per_s = r.bandwidth_mbit ? *r.bandwidth_mbit * 1e6 / 8 : EdgeServiceConfig{}.assumed_bandwidth_bytes_per_s;
    cond.link = {.uplink_bytes_per_s = bytes_per_s, .downlink_bytes_per_s = bytes_per_s, .rtt_ms = *r.rtt_ms};
    const partition::Plan plan = f.planner->plan(model, partition::Objective::latency, cond);
    EXPECT_EQ(r.cut, plan.cut.to_string());
    EXPECT_NEAR(r.predicted_ms, plan.predicted.total_ms, 0.05 * plan.predicted.total_ms + 0.05);
    EXPECT_NEAR(r.predicted_completion_ms, r.predicted_ms, 0.05 * r.predicted_ms + 0.05);
    EXPECT_EQ(r.predicted_wait, control::ResourceWaits{});
    EXPECT_GT(r.completion_ms, 0);
    EXPECT_GE(r.completion_ms + 1e-6, r.measured_ms);
  }
}

// A result's predicted_cloud_ms is the cut's cloud compute, as its cloud_ms
// measures it: the wait for the cloud's queue is reported apart
// (predicted_wait.cloud, and within predicted_ms), never added to it.
TEST(EdgeService, PredictedCloudComputeLeavesTheCloudsQueueOut) {
  Fixture f(0, true, /*hold=*/true);
  Results results;
  {
    auto service = f.service({.calibrate_compute = false});
    // Four requests at the cloud: one on its worker, three in its queue.
    for (int i = 0; i < 4; ++i) service->submit(task(i, "resnet18", "cloud_only"), results.callback());
    ASSERT_TRUE(f.holding->wait_arrived(1));
    const auto deadline = std::chrono::steady_clock::now() + k_bound;
    while (f.server->load().queue_length < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);  // polling a condition, bounded
    }
    ASSERT_EQ(f.server->load().queue_length, 3u);
    // Two replies, one at a time: the second reports the queue and a service time.
    f.holding->release(1);
    ASSERT_TRUE(results.wait_for(1));
    f.holding->release(1);
    ASSERT_TRUE(results.wait_for(2));
    const net::CloudLoad heard = f.link->cloud_load();
    EXPECT_GT(heard.queue_length * heard.recent_service_ms, 0);
    service->submit(task(4, "resnet18", "cloud_only"), results.callback());  // planned behind that queue
    f.holding->release(3);
    ASSERT_TRUE(results.wait_for(5));
  }
  const auto& g = f.models.at("resnet18")->graph();
  const partition::Plan whole = f.planner->evaluate("resnet18", Cut::cloud_only(g), partition::Objective::latency, {});
  ASSERT_GT(whole.predicted.cloud_ms, 0);
  for (const auto& [id, r] : results.by_task) {
    ASSERT_TRUE(r.ok) << control::to_line(r);
    EXPECT_NEAR(r.predicted_cloud_ms, whole.predicted.cloud_ms, 1e-9) << id;
  }
  // The queue is in the task's total instead.
  const TaskResult& behind = results.by_task.at(4);
  EXPECT_GE(behind.predicted_ms, behind.predicted_cloud_ms + behind.predicted_wait.cloud);
}

// Tasks submitted at once: every one is scheduled (some as a batch), ends
// with exact outputs, and reports its predicted and measured completion and
// waits; later tasks are predicted to wait on the edge.
TEST(EdgeService, AQueueSubmittedAtOnceIsScheduledWithPredictedWaits) {
  Fixture f;
  Results results;
  constexpr int k_tasks = 10;
  {
    auto service = f.service({.batch_window = 4});
    for (int i = 0; i < k_tasks; ++i) {
      TaskSpec t = task(i, i % 2 ? "lenet" : "resnet18", "auto");
      if (i >= k_tasks / 2) t.objective = partition::Objective::makespan;
      service->submit(t, results.callback());
    }
    ASSERT_TRUE(results.wait_for(k_tasks));
    const auto status = service->status();
    EXPECT_EQ(status.scheduler, "timeline");
    EXPECT_EQ(status.uplink_queued, 0u);
  }
  int batch = 0;
  double max_predicted_edge_wait = 0;
  for (const auto& [id, r] : results.by_task) {
    ASSERT_TRUE(r.ok) << control::to_line(r);
    EXPECT_LE(max_rel_diff(r.outputs, f.local(r.model, id)), 1e-4) << id;
    ASSERT_TRUE(r.mode.has_value());
    EXPECT_TRUE(*r.mode == control::PlanningMode::timeline || *r.mode == control::PlanningMode::batch);
    if (*r.mode == control::PlanningMode::batch) ++batch;
    EXPECT_GT(r.predicted_completion_ms, 0) << id;
    EXPECT_GT(r.completion_ms, 0) << id;
    EXPECT_GE(r.completion_ms + 1e-6, r.measured_ms) << id;
    for (double w : {r.measured_wait.edge, r.measured_wait.uplink, r.measured_wait.cloud,
                     r.predicted_wait.edge, r.predicted_wait.uplink, r.predicted_wait.cloud}) {
      EXPECT_GE(w, 0) << id;
    }
    EXPECT_NEAR(r.measured_wait.edge, r.queue_ms, 1e-9);
    max_predicted_edge_wait = std::max(max_predicted_edge_wait, r.predicted_wait.edge);
  }
  EXPECT_GT(batch, 0);
  EXPECT_GT(max_predicted_edge_wait, 0);
  EXPECT_GT(results.by_task.at(k_tasks - 1).predicted_wait.edge, 0);
}

TEST(EdgeService, SchedulerNamesRoundTrip) {
  for (Scheduler s : {Scheduler::timeline, Scheduler::alone}) EXPECT_EQ(scheduler_from_string(to_string(s)), s);
  EXPECT_FALSE(scheduler_from_string("fifo"));
}

TEST(EdgeService, UnknownModelsAndBadPlansFailWithTheReason) {
  Fixture f;
  Results results;
  {
    auto service = f.service();
    service->submit(task(0, "nosuch", "auto"), results.callback());
    service->submit(task(1, "resnet18", "split:3"), results.callback());
    service->submit(task(2, "lenet", "cut:1-3"), results.callback());
    ASSERT_TRUE(results.wait_for(3));
  }
  EXPECT_NE(results.by_task.at(0).error.value_or("").find("not loaded"), std::string::npos);
  EXPECT_NE(results.by_task.at(1).error.value_or("").find("needs a chain model"), std::string::npos);
  EXPECT_NE(results.by_task.at(2).error.value_or("").find("input node must be on the edge"), std::string::npos)
      << results.by_task.at(2).error.value_or("");
  for (const auto& [id, r] : results.by_task) {
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.placement.has_value());
  }
}

}  // namespace
}  // namespace tandem::edge
