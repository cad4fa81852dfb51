#include "partition/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem::partition {
namespace {

constexpr double k_ms_per_s = 1000.0;
// A plan found at a crossing must beat the crossing lines by this relative
// margin to count as a new envelope piece (not a tie up to rounding).
constexpr double k_envelope_relative = 1e-9;

// The sweep works in x = 1/bandwidth (s/byte), where latency and energy are affine.
struct Segment {
  double x_left;
  Plan left;
  double x_right;
  Plan right;
};

// A plan that is best from x_from until the next piece's x_from.
struct Piece {
  double x_from;
  Plan plan;
};

struct Line {
  double intercept;
  double slope;
  double at(double x) const { return intercept + slope * x; }
};

class Sweeper {
 public:
  Sweeper(const GraphDesc& graph, const CostModel& model, Objective objective, const SweepOptions& options)
      : graph_(graph), model_(model), objective_(objective), options_(options) {}

  Plan solve(double x) {
    ++solves_;
    return optimise(graph_, with_bandwidth(model_, 1.0 / x, options_.downlink_follows_uplink), objective_,
                    options_.optimise);
  }
  bool budget_left() const { return solves_ < options_.max_solves; }

  // The plan's objective as a line in x (latency and energy only).
  Line line_of(const Plan& plan, double x_evaluated) const {
    const auto& b = plan.predicted;
    const double down = options_.downlink_follows_uplink ? static_cast<double>(b.download_bytes) : 0.0;
    const double up = static_cast<double>(b.upload_bytes);
    const double slope = objective_ == Objective::latency
                             ? (up + down) * k_ms_per_s
                             : (model_.power.transmit_w * up + model_.power.idle_w * down) * k_ms_per_s;
    return {plan.objective_value - slope * x_evaluated, slope};
  }

  // Resolves segments left to right; appends a piece at every plan change.
  void refine(std::vector<Segment> stack, std::vector<Piece>& pieces) {
    while (!stack.empty()) {
      Segment seg = std::move(stack.back());
      stack.pop_back();
      if (seg.left.cut == seg.right.cut) continue;
      const auto split = split_point(seg, pieces);
      if (!split) continue;  // decided without another solve; split_point recorded the change
      if (!budget_left()) {
        pieces.push_back({*split, seg.right});
        continue;
      }
      Plan mid = solve(*split);
      if (is_breakpoint(seg, *split, mid)) {
        pieces.push_back({*split, seg.right});
        continue;
      }
      stack.push_back({*split, mid, seg.x_right, std::move(seg.right)});
      stack.push_back({seg.x_left, std::move(seg.left), *split, std::move(mid)});
    }
  }

 private:
  // Where to solve next inside a segment with different end plans, or nullopt
  // when the segment is decided without another solve (then records the change).
  std::optional<double> split_point(const Segment& seg, std::vector<Piece>& pieces) const {
    if (objective_ == Objective::throughput) {
      if (seg.x_right / seg.x_left - 1 <= options_.relative_tolerance) {
        pieces.push_back({std::sqrt(seg.x_left * seg.x_right), seg.right});
        return std::nullopt;
      }
      return std::sqrt(seg.x_left * seg.x_right);
    }
    const Line l = line_of(seg.left, seg.x_left);
    const Line r = line_of(seg.right, seg.x_right);
    // Left is best at x_left and right at x_right, so the left line is the
    // steeper one (worse as x grows); equal slopes mean equal lines: a tie.
    if (!(l.slope > r.slope)) {
      pieces.push_back({seg.x_right, seg.right});
      return std::nullopt;
    }
    const double crossing = std::clamp((r.intercept - l.intercept) / (l.slope - r.slope), seg.x_left, seg.x_right);
    if (crossing <= seg.x_left || crossing >= seg.x_right) {
      pieces.push_back({crossing, seg.right});
      return std::nullopt;
    }
    return crossing;
  }

  bool is_breakpoint(const Segment& seg, double x, const Plan& mid) const {
    // Bisection keeps halving whichever half still has different end plans.
    if (objective_ == Objective::throughput) return false;
    // On an envelope of lines, an end plan optimal at the crossing owns it.
    if (mid.cut == seg.left.cut || mid.cut == seg.right.cut) return true;
    const double on_lines = line_of(seg.left, seg.x_left).at(x);
    return mid.objective_value >= on_lines - k_envelope_relative * std::max(1.0, std::abs(on_lines));
  }

  const GraphDesc& graph_;
  const CostModel& model_;
  Objective objective_;
  const SweepOptions& options_;
  std::size_t solves_ = 0;
};

}  // namespace

CostModel with_bandwidth(const CostModel& model, double bytes_per_s, bool downlink_follows_uplink) {
  CostModel out = model;
  out.link.uplink_bytes_per_s = bytes_per_s;
  if (downlink_follows_uplink) out.link.downlink_bytes_per_s = bytes_per_s;
  return out;
}

std::vector<BandwidthInterval> sweep_bandwidth(const GraphDesc& graph, const CostModel& model, Objective objective,
                                               double low, double high, const SweepOptions& options) {
  if (!std::isfinite(low) || !std::isfinite(high) || low <= 0 || high < low) {
    throw std::invalid_argument(
        fmt::format("bandwidth sweep: need 0 < low <= high, both finite (got {} .. {} bytes/s)", low, high));
  }
  if (options.samples < 2) throw std::invalid_argument("bandwidth sweep: samples must be >= 2");
  if (!(options.relative_tolerance > 0)) throw std::invalid_argument("bandwidth sweep: relative_tolerance must be > 0");
  validate(graph, with_bandwidth(model, low, options.downlink_follows_uplink));

  const double x_low = 1.0 / high;  // x ascends while bandwidth descends
  const double x_high = 1.0 / low;
  Sweeper sweeper(graph, model, objective, options);
  std::vector<Piece> pieces;

  std::vector<double> xs{x_low};
  if (x_high > x_low) {
    const std::size_t steps = objective == Objective::throughput ? options.samples - 1 : 1;
    for (std::size_t k = 1; k < steps; ++k) {
      xs.push_back(x_low * std::pow(x_high / x_low, static_cast<double>(k) / static_cast<double>(steps)));
    }
    xs.push_back(x_high);
  }
  std::vector<Plan> plans;
  for (double x : xs) plans.push_back(sweeper.solve(x));
  pieces.push_back({x_low, plans.front()});
  std::vector<Segment> stack;
  for (std::size_t k = xs.size(); k-- > 1;) stack.push_back({xs[k - 1], plans[k - 1], xs[k], plans[k]});
  sweeper.refine(std::move(stack), pieces);

  // Pieces ascend in x; turn them into bandwidth intervals ascending in bandwidth.
  auto bandwidth_at = [&](double x) { return x == x_low ? high : x == x_high ? low : 1.0 / x; };
  std::vector<BandwidthInterval> out;
  for (std::size_t i = pieces.size(); i-- > 0;) {
    const double x_to = i + 1 < pieces.size() ? pieces[i + 1].x_from : x_high;
    const double x_from = pieces[i].x_from;
    if (x_to <= x_from && pieces.size() > 1) continue;  // zero-length piece
    const double b_low = bandwidth_at(x_to);
    const double b_high = bandwidth_at(x_from);
    if (!out.empty() && out.back().plan.cut == pieces[i].plan.cut) {
      out.back().high_bytes_per_s = b_high;
      continue;
    }
    out.push_back({b_low, b_high, pieces[i].plan});
  }
  for (auto& interval : out) {
    const Plan& solved = interval.plan;
    Plan plan = make_plan_unchecked(graph, with_bandwidth(model, interval.low_bytes_per_s, options.downlink_follows_uplink),
                                    solved.cut, objective);
    plan.solver = solved.solver;
    plan.exact = solved.exact;
    plan.lower_bound = solved.exact ? plan.objective_value : 0.0;
    interval.plan = std::move(plan);
  }
  return out;
}

}  // namespace tandem::partition
