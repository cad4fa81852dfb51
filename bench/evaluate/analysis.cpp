#include "bench/evaluate/analysis.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace tandem::bench {

namespace {

bool good(const Sample& s) { return s.ok && !s.fallback; }

template <class F>
double median_of(const std::vector<Sample>& samples, F field) {
  std::vector<double> v;
  for (const auto& s : samples) {
    if (good(s)) v.push_back(field(s));
  }
  return median(v);
}

void fill_medians(Measurement& m) {
  m.failures = static_cast<std::size_t>(std::count_if(m.samples.begin(), m.samples.end(),
                                                      [](const Sample& s) { return !good(s); }));
  m.measured_ms = median_of(m.samples, [](const Sample& s) { return s.measured_ms; });
  m.edge_ms = median_of(m.samples, [](const Sample& s) { return s.edge_ms; });
  m.transfer_ms = median_of(m.samples, [](const Sample& s) { return s.transfer_ms; });
  m.cloud_ms = median_of(m.samples, [](const Sample& s) { return s.cloud_ms; });
  m.predicted_ms = median_of(m.samples, [](const Sample& s) { return s.predicted_ms; });
}

// Measured minus predicted, per term, medians over a measurement's runs.
struct Terms {
  std::array<double, 4> error{};  // edge, transfer (upload, RTT, download), cloud, rest (waits, runtime)
};

Terms term_errors(const Measurement& m) {
  Terms t;
  t.error[0] = median_of(m.samples, [](const Sample& s) { return s.edge_ms - s.predicted_edge_ms; });
  t.error[1] = median_of(m.samples, [](const Sample& s) { return s.transfer_ms - s.predicted_transfer_ms; });
  t.error[2] = median_of(m.samples, [](const Sample& s) { return s.cloud_ms - s.predicted_cloud_ms; });
  t.error[3] = median_of(m.samples, [](const Sample& s) {
    return (s.measured_ms - s.edge_ms - s.transfer_ms - s.cloud_ms) -
           (s.predicted_ms - s.predicted_edge_ms - s.predicted_transfer_ms - s.predicted_cloud_ms);
  });
  return t;
}

constexpr std::array<const char*, 4> k_term_names{"edge compute", "transfer (upload, RTT, download)",
                                                  "cloud compute", "queueing and runtime overhead"};

}  // namespace

void analyse(PairResult& r) {
  fill_medians(r.planner);
  for (auto& m : r.candidates) fill_medians(m);

  std::map<std::string, std::size_t> chosen;
  std::size_t ok_runs = 0;
  for (const auto& s : r.planner.samples) {
    if (!good(s)) continue;
    ++chosen[s.cut];
    ++ok_runs;
  }
  r.planner_cut.clear();
  std::size_t most = 0;
  for (const auto& [cut, n] : chosen) {
    if (n > most) {
      most = n;
      r.planner_cut = cut;
    }
  }
  r.planner_cut_share = ok_runs ? static_cast<double>(most) / static_cast<double>(ok_runs) : 0;
  r.planner_auto_ms = r.planner.measured_ms;
  r.predicted_ms = r.planner.predicted_ms;
  r.prediction_error = r.planner_auto_ms > 0 ? (r.predicted_ms - r.planner_auto_ms) / r.planner_auto_ms : 0;
  r.est_bandwidth_mbit = median_of(r.planner.samples, [](const Sample& s) { return s.bandwidth_mbit.value_or(0); });
  r.est_rtt_ms = median_of(r.planner.samples, [](const Sample& s) { return s.rtt_ms.value_or(0); });

  r.planner_index = r.edge_only_index = r.cloud_only_index = -1;
  for (std::size_t i = 0; i < r.candidates.size(); ++i) {
    const Candidate& c = r.candidates[i].candidate;
    if (c.cut.to_string() == r.planner_cut) r.planner_index = static_cast<int>(i);
    if (c.cut.is_edge_only()) r.edge_only_index = static_cast<int>(i);
    if (c.cut.is_cloud_only()) r.cloud_only_index = static_cast<int>(i);
  }
  // Pool the planner's runs with the forced runs of the same cut.
  const Measurement* basis = &r.planner;
  if (r.planner_cut_share == 1.0 && r.planner_index >= 0 && r.candidates[r.planner_index].measured()) {
    Measurement& c = r.candidates[r.planner_index];
    c.samples.insert(c.samples.end(), r.planner.samples.begin(), r.planner.samples.end());
    c.pooled = r.planner.samples.size();
    fill_medians(c);
    basis = &c;
  }
  r.planner_ms = basis->measured_ms;

  r.oracle_index = -1;
  double best = INFINITY;
  for (std::size_t i = 0; i < r.candidates.size(); ++i) {
    const Measurement& m = r.candidates[i];
    if (m.measured() && m.measured_ms < best) {
      best = m.measured_ms;
      r.oracle_index = static_cast<int>(i);
    }
  }
  if (r.planner_ms > 0 && r.planner_ms <= best) {
    best = r.planner_ms;
    if (r.planner_index >= 0) r.oracle_index = r.planner_index;
  }
  r.oracle_ms = std::isfinite(best) ? best : 0;
  // Fresh interleaved runs, when the runner made them, replace the explored
  // medians of the two plans compared.
  fill_medians(r.confirm_planner);
  fill_medians(r.confirm_oracle);
  if (r.confirm_index >= 0 && r.confirm_planner.measured() && r.confirm_oracle.measured()) {
    basis = &r.confirm_planner;
    r.planner_ms = r.confirm_planner.measured_ms;
    if (r.confirm_oracle.measured_ms < r.planner_ms) {
      r.oracle_index = r.confirm_index;
      r.oracle_ms = r.confirm_oracle.measured_ms;
    } else {
      r.oracle_index = r.planner_index;
      r.oracle_ms = r.planner_ms;
    }
  }
  r.regret = r.oracle_ms > 0 ? r.planner_ms / r.oracle_ms - 1 : 0;

  r.edge_only_ms = r.edge_only_index >= 0 ? r.candidates[r.edge_only_index].measured_ms : 0;
  r.cloud_only_ms = r.cloud_only_index >= 0 ? r.candidates[r.cloud_only_index].measured_ms : 0;
  // The same cut gets one latency: the planner's runs of it are the better estimate.
  if (r.planner_cut_share == 1.0 && r.planner_index == r.edge_only_index) r.edge_only_ms = r.planner_ms;
  if (r.planner_cut_share == 1.0 && r.planner_index == r.cloud_only_index) r.cloud_only_ms = r.planner_ms;
  r.speedup_vs_edge = r.planner_ms > 0 ? r.edge_only_ms / r.planner_ms : 0;
  r.speedup_vs_cloud = r.planner_ms > 0 ? r.cloud_only_ms / r.planner_ms : 0;

  const bool edge_only = r.planner_cut == "edge_only";
  const double bytes = median_of(basis->samples, [](const Sample& s) { return static_cast<double>(s.crossing_bytes); });
  r.ideal_ms = edge_only ? basis->edge_ms
                         : basis->edge_ms + bytes / r.link.bytes_per_s() * 1e3 + r.link.rtt_ms() + basis->cloud_ms;
  r.overhead_ms = r.planner_ms - r.ideal_ms;
}

std::string explain(const PairResult& r) {
  std::string out;
  if (r.oracle_index < 0) return "no candidate measured";
  const Measurement& oracle = r.candidates[r.oracle_index];
  if (r.planner_cut_share < 1.0) {
    std::vector<double> bw;
    for (const auto& s : r.planner.samples) {
      if (s.bandwidth_mbit) bw.push_back(*s.bandwidth_mbit);
    }
    const auto [lo, hi] = std::minmax_element(bw.begin(), bw.end());
    out += fmt::format("the planner changed its cut between runs (its choice held on {:.0f}% of them; bandwidth "
                       "estimate {:.3g}–{:.3g} mbit); ",
                       100 * r.planner_cut_share, bw.empty() ? 0.0 : *lo, bw.empty() ? 0.0 : *hi);
  }
  const bool confirmed = r.confirm_index >= 0 && r.confirm_oracle.measured();
  const Measurement* planner = confirmed                ? &r.confirm_planner
                               : r.planner_index >= 0 ? &r.candidates[r.planner_index]
                                                      : &r.planner;
  const Measurement& oracle_runs = confirmed && r.oracle_index == r.confirm_index ? r.confirm_oracle : oracle;
  out += fmt::format("planner's cut {} predicted {:.1f} ms, measured {:.1f} ms; oracle's {} predicted {:.1f} ms, "
                     "measured {:.1f} ms",
                     r.planner_index >= 0 ? r.candidates[r.planner_index].candidate.label : r.planner_cut,
                     planner->predicted_ms, r.planner_ms, oracle.candidate.label, oracle_runs.predicted_ms,
                     oracle_runs.measured_ms);
  if (confirmed) out += fmt::format(" (both from {} fresh alternating runs)", r.confirm_planner.samples.size());
  const Terms tp = term_errors(*planner);
  const Terms to = term_errors(oracle_runs);
  std::size_t worst = 0;
  double worst_gap = -INFINITY;
  for (std::size_t i = 0; i < k_term_names.size(); ++i) {
    const double gap = tp.error[i] - to.error[i];
    if (gap > worst_gap) {
      worst_gap = gap;
      worst = i;
    }
  }
  out += fmt::format("; the term that favoured the wrong cut most: {} (measured − predicted: {:+.1f} ms for the "
                     "planner's cut, {:+.1f} ms for the oracle's)",
                     k_term_names[worst], tp.error[worst], to.error[worst]);
  if (r.est_bandwidth_mbit > 0 && std::abs(r.est_bandwidth_mbit / r.link.mbit - 1) > 0.2) {
    out += fmt::format("; the edge's bandwidth estimate was {:.3g} mbit against a shaped {:g} mbit",
                       r.est_bandwidth_mbit, r.link.mbit);
  }
  return out;
}

}  // namespace tandem::bench
