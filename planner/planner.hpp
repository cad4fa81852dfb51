#pragma once
// The planner: device profiles (predictor/) turned into per-node costs, and
// per-task plans from the partition optimisers (partition/) under the link
// and cloud conditions of the moment. Plans come from static shapes and
// cached costs — no forward pass at planning time (docs/design.md §4).
// Torch-free: the daemons, `tandem plan` and the benchmarks all build their
// planner here.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/plan.hpp"
#include "partition/privacy.hpp"
#include "partition/schedule.hpp"
#include "predictor/predictor.hpp"

namespace tandem::planner {

/// Per-node predicted ms of one model on the edge and in the cloud.
struct ModelCosts {
  std::vector<double> edge_ms;
  std::vector<double> cloud_ms;
  // Each side's fixed cost of a run (the profiles' cold start), paid once by
  // a side that computes anything (partition::CostModel).
  double edge_run_ms = 0;
  double cloud_run_ms = 0;
};

/// What the planner knows about the link and the cloud right now.
struct Conditions {
  partition::Link link;
  double cloud_wait_ms = 0;
  partition::Codec codec = partition::Codec::fp32;
  partition::PrivacyFloor privacy;  // nodes whose outputs must not leave the edge (partition/privacy.hpp)
  // How much slower (> 1) or faster than its profile each device computes
  // now (planner/compute_monitor.hpp): multiplies its node and run costs.
  double edge_scale = 1.0;
  double cloud_scale = 1.0;
};

/// Set up once (add_model), then plan() from any thread. Plans are cached
/// per (model, objective, codec, privacy floor) and small buckets of bandwidth and
/// compute scales (2% steps), RTT and cloud wait (0.5 ms steps): a new measurement within a bucket reuses
/// the plan, so the optimiser runs only when conditions really move.
class Planner {
 public:
  /// A planner without profiles: costs come with add_model(graph, costs).
  explicit Planner(partition::EdgePower power = {});

  /// A planner predicting costs from two device profiles. Throws
  /// std::runtime_error naming a file that is missing (with the command that
  /// makes one) or invalid.
  static std::shared_ptr<Planner> from_profiles(const std::filesystem::path& edge_profile,
                                                const std::filesystem::path& cloud_profile,
                                                partition::EdgePower power = {});

  /// Registers a model with costs predicted from the profiles. Throws
  /// std::logic_error when the planner has no profiles, std::out_of_range
  /// when a profile has no regressor for one of the graph's node classes.
  void add_model(const GraphDesc& graph);
  /// Registers a model with explicit costs. Throws std::invalid_argument when
  /// the cost vectors do not match the graph.
  void add_model(const GraphDesc& graph, ModelCosts costs);

  /// The graph of a registered model; throws std::out_of_range naming it.
  const GraphDesc& graph(const std::string& model) const;
  /// Its per-node costs; throws std::out_of_range naming it.
  const ModelCosts& costs(const std::string& model) const;
  /// The cost model of a registered model under `conditions`. Throws
  /// std::invalid_argument when the privacy floor names a node the model lacks.
  partition::CostModel cost_model(const std::string& model, const Conditions& conditions) const;

  /// Best plan for `objective` under `conditions`. Microseconds to a
  /// millisecond; never runs the model. Thread-safe.
  partition::Plan plan(const std::string& model, partition::Objective objective,
                       const Conditions& conditions) const;
  /// The prediction for a given cut (forced plans, fallbacks). Throws
  /// std::invalid_argument for a cut that is not closed.
  partition::Plan evaluate(const std::string& model, const Cut& cut,
                           partition::Objective objective, const Conditions& conditions) const;

  /// The scheduling candidates of a registered model under `codec`: the
  /// Pareto front of its cuts' work (partition/schedule.hpp). Computed on the
  /// first call and cached; thread-safe. Throws std::out_of_range for an
  /// unknown model.
  std::shared_ptr<const std::vector<partition::CutWork>> candidates(const std::string& model,
                                                                     partition::Codec codec) const;
  /// The work of one cut of a registered model (forced plans). Throws
  /// std::invalid_argument for a cut that is not closed.
  partition::CutWork cut_work(const std::string& model, const Cut& cut, partition::Codec codec) const;

  /// The profiles' predictors (null for a planner built without profiles).
  const predictor::Predictor* edge_predictor() const { return edge_.get(); }
  const predictor::Predictor* cloud_predictor() const { return cloud_.get(); }
  const partition::EdgePower& power() const { return power_; }

 private:
  struct Entry {
    GraphDesc graph;
    ModelCosts costs;
  };
  const Entry& entry(const std::string& model) const;

  partition::EdgePower power_;
  std::shared_ptr<const predictor::Predictor> edge_, cloud_;
  std::map<std::string, Entry> models_;
  using CacheKey = std::tuple<std::string, int, int, long, long, long, long, long, long, std::string>;
  mutable std::mutex cache_mutex_;
  mutable std::map<CacheKey, partition::Plan> cache_;
  mutable std::mutex candidates_mutex_;
  mutable std::map<std::pair<std::string, int>, std::shared_ptr<const std::vector<partition::CutWork>>> candidates_;
};

/// `work` at the compute scales of `conditions` (candidates() and cut_work()
/// are at scale 1; scaling each side keeps the candidates' Pareto front).
partition::CutWork scaled(partition::CutWork work, const Conditions& conditions);

/// Per-node costs of `graph` predicted by two devices' predictors.
ModelCosts predict_costs(const predictor::Predictor& edge, const predictor::Predictor& cloud,
                         const GraphDesc& graph);

/// Loads a device profile for planning. Throws std::runtime_error naming the
/// file: missing (with the `tandem profile` command that makes one) or invalid.
predictor::DeviceProfile load_profile_for_planning(const std::filesystem::path& path);

}  // namespace tandem::planner
