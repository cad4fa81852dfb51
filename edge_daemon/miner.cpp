#include "edge_daemon/miner.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace tandem::edge {
namespace {

constexpr double k_confidence_threshold = 0.9;
constexpr double k_entropy_threshold = 0.25;
constexpr double k_ibt_threshold = 0.9;
constexpr double k_ibt_box_threshold = 0.8;

// Softmax in double, shifted by the largest logit so exp never overflows.
std::vector<double> softmax(std::span<const float> logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(static_cast<double>(logits[i]) - top);
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace

double default_threshold(control::MinerKind kind) {
  switch (kind) {
    case control::MinerKind::confidence: return k_confidence_threshold;
    case control::MinerKind::entropy: return k_entropy_threshold;
    case control::MinerKind::ibt: return k_ibt_threshold;
  }
  return k_confidence_threshold;
}

double default_box_threshold() { return k_ibt_box_threshold; }

MinerConfig miner_config(const control::TaskSpec& task) {
  MinerConfig c;
  c.kind = task.miner;
  c.threshold = task.threshold.value_or(default_threshold(task.miner));
  c.box_threshold = task.box_threshold.value_or(default_box_threshold());
  return c;
}

MinerDecision mine(const MinerConfig& config, std::span<const float> logits) {
  if (logits.empty()) throw std::invalid_argument("the little model's output is empty: nothing to mine");
  MinerDecision d;
  if (std::any_of(logits.begin(), logits.end(), [](float v) { return !std::isfinite(v); })) {
    d.hard = true;
    d.score = std::nan("");
    d.reason = "the little model's output is not finite";
    return d;
  }
  const std::vector<double> p = softmax(logits);
  const auto classes = static_cast<double>(p.size());
  switch (config.kind) {
    case control::MinerKind::confidence: {
      d.score = *std::max_element(p.begin(), p.end());
      d.hard = d.score < config.threshold;
      d.reason = fmt::format("max softmax {:.3f} {} {:.3f}", d.score, d.hard ? "<" : ">=", config.threshold);
      break;
    }
    case control::MinerKind::entropy: {
      double h = 0;
      for (double v : p) {
        if (v > 0) h -= v * std::log(v);
      }
      d.score = p.size() > 1 ? h / std::log(classes) : 0.0;
      d.hard = d.score > config.threshold;
      d.reason = fmt::format("normalised entropy {:.3f} {} {:.3f}", d.score, d.hard ? ">" : "<=", config.threshold);
      break;
    }
    case control::MinerKind::ibt: {
      std::size_t undecided = 0;
      for (double v : p) undecided += std::max(v, 1 - v) < config.box_threshold;
      d.score = static_cast<double>(undecided) / classes;
      const double limit = 1 - config.threshold;
      d.hard = d.score >= limit;
      d.reason = fmt::format("{} of {} classes undecided at box threshold {:.2f}: hard coefficient {:.3f} {} {:.3f}",
                             undecided, p.size(), config.box_threshold, d.score, d.hard ? ">=" : "<", limit);
      break;
    }
  }
  return d;
}

}  // namespace tandem::edge
