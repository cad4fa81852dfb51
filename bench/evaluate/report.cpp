#include "bench/evaluate/report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/evaluate/analysis.hpp"
#include "bench/evaluate/svg.hpp"

namespace tandem::bench {

namespace fs = std::filesystem;

namespace {

constexpr double k_goal_mean_regret = 0.03;
constexpr double k_goal_max_regret = 0.10;

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string num(double v, int precision = 3) { return fmt::format("{:.{}f}", v, precision); }

std::ofstream open(const fs::path& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return out;
}

const Candidate* candidate_at(const PairResult& r, int index) {
  return index >= 0 ? &r.candidates[static_cast<std::size_t>(index)].candidate : nullptr;
}

std::string planner_label(const PairResult& r) {
  const Candidate* c = candidate_at(r, r.planner_index);
  return c ? c->label : r.planner_cut;
}

std::string oracle_label(const PairResult& r) {
  const Candidate* c = candidate_at(r, r.oracle_index);
  return c ? c->label : "";
}

std::string oracle_cut(const PairResult& r) {
  const Candidate* c = candidate_at(r, r.oracle_index);
  return c ? c->cut.to_string() : "";
}

std::size_t failures(const PairResult& r) {
  std::size_t n = r.planner.failures + r.confirm_planner.failures + r.confirm_oracle.failures;
  for (const auto& m : r.candidates) n += m.failures;
  return n;
}

void write_pairs_csv(const fs::path& path, const std::vector<PairResult>& pairs) {
  auto out = open(path);
  out << "model,link_mbit,rtt_ms,link_kind,planner_cut,planner_label,planner_cut_share,planner_ms,planner_auto_ms,"
         "oracle_cut,oracle_label,oracle_ms,regret,edge_only_ms,cloud_only_ms,speedup_vs_edge,speedup_vs_cloud,"
         "predicted_ms,prediction_error,ideal_ms,overhead_ms,est_bandwidth_mbit,est_rtt_ms,candidates,"
         "candidates_run,candidates_pruned,failed_runs,runs,confirm_runs,seconds\n";
  for (const auto& r : pairs) {
    const auto run = std::count_if(r.candidates.begin(), r.candidates.end(),
                                   [](const Measurement& m) { return m.measured(); });
    const auto pruned = std::count_if(r.candidates.begin(), r.candidates.end(),
                                      [](const Measurement& m) { return m.pruned; });
    out << fmt::format("{},{:g},{:g},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                       r.model, r.link.mbit, r.link.rtt_ms(), csv_field(r.link_kind), csv_field(r.planner_cut),
                       csv_field(planner_label(r)), num(r.planner_cut_share, 2), num(r.planner_ms),
                       num(r.planner_auto_ms), csv_field(oracle_cut(r)), csv_field(oracle_label(r)),
                       num(r.oracle_ms), num(r.regret, 4), num(r.edge_only_ms), num(r.cloud_only_ms),
                       num(r.speedup_vs_edge), num(r.speedup_vs_cloud), num(r.predicted_ms),
                       num(r.prediction_error, 4), num(r.ideal_ms), num(r.overhead_ms),
                       num(r.est_bandwidth_mbit), num(r.est_rtt_ms), r.candidates.size(), run, pruned,
                       failures(r), r.planner.samples.size(), r.confirm_planner.samples.size(), num(r.seconds, 1));
  }
}

void write_candidates_csv(const fs::path& path, const std::vector<PairResult>& pairs) {
  auto out = open(path);
  out << "model,link_mbit,rtt_ms,index,label,origin,cut,edge_nodes,crossing_bytes,status,runs,failed_runs,"
         "measured_ms,edge_ms,transfer_ms,cloud_ms,predicted_ms,predicted_nominal_ms,lower_bound_ms,"
         "is_planner,is_oracle\n";
  for (const auto& r : pairs) {
    for (std::size_t i = 0; i < r.candidates.size(); ++i) {
      const Measurement& m = r.candidates[i];
      const Candidate& c = m.candidate;
      const std::string status = m.pruned ? "pruned" : m.measured() ? "measured" : "failed";
      out << fmt::format("{},{:g},{:g},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.model,
                         r.link.mbit, r.link.rtt_ms(), i, csv_field(c.label), c.origin, csv_field(c.cut.to_string()),
                         c.edge_nodes, c.crossing_bytes, status, m.samples.size(), m.failures, num(m.measured_ms),
                         num(m.edge_ms), num(m.transfer_ms), num(m.cloud_ms), num(m.predicted_ms),
                         num(c.predicted_ms), num(m.lower_bound_ms), static_cast<int>(i) == r.planner_index ? 1 : 0,
                         static_cast<int>(i) == r.oracle_index ? 1 : 0);
    }
  }
}

nlohmann::json sample_json(const Sample& s) {
  nlohmann::json j{{"ok", s.ok},
                   {"cut", s.cut},
                   {"measured_ms", s.measured_ms},
                   {"edge_ms", s.edge_ms},
                   {"transfer_ms", s.transfer_ms},
                   {"cloud_ms", s.cloud_ms},
                   {"predicted_ms", s.predicted_ms},
                   {"predicted_edge_ms", s.predicted_edge_ms},
                   {"predicted_transfer_ms", s.predicted_transfer_ms},
                   {"predicted_cloud_ms", s.predicted_cloud_ms},
                   {"crossing_bytes", s.crossing_bytes},
                   {"fallback", s.fallback}};
  if (!s.error.empty()) j["error"] = s.error;
  if (s.bandwidth_mbit) j["bandwidth_mbit"] = *s.bandwidth_mbit;
  if (s.rtt_ms) j["rtt_ms"] = *s.rtt_ms;
  return j;
}

void write_samples(const fs::path& path, const std::vector<PairResult>& pairs) {
  auto out = open(path);
  auto dump = [&](const PairResult& r, const Measurement& m, std::size_t count, const char* phase) {
    for (std::size_t i = 0; i < count; ++i) {
      nlohmann::json j = sample_json(m.samples[i]);
      j["model"] = r.model;
      j["link_mbit"] = r.link.mbit;
      j["plan"] = m.candidate.plan;
      j["phase"] = phase;
      out << j.dump() << '\n';
    }
  };
  for (const auto& r : pairs) {
    dump(r, r.planner, r.planner.samples.size(), "explore");
    dump(r, r.confirm_planner, r.confirm_planner.samples.size(), "confirm");
    dump(r, r.confirm_oracle, r.confirm_oracle.samples.size(), "confirm");
    // Planner runs pooled into a candidate are written once, under "auto".
    for (const auto& m : r.candidates) dump(r, m, m.samples.size() - m.pooled, "explore");
  }
}

void write_markdown(const fs::path& path, const ReportInfo& info, const std::vector<PairResult>& pairs) {
  auto out = open(path);
  out << "# tandem evaluation: planner vs measured oracle\n\n";
  if (!info.complete) out << "**Partial results: the evaluation was still running or stopped early.**\n\n";
  out << "## Settings\n\n";
  out << fmt::format("| setting | value |\n|---|---|\n");
  out << fmt::format("| date (UTC) | {} |\n| commit | `{}` |\n| host | {} |\n", info.date, info.commit, info.host);
  out << fmt::format("| edge | {} thread(s), slowdown {:g} |\n| cloud | {} thread(s) |\n", info.edge_threads,
                     info.edge_slowdown, info.cloud_threads);
  out << fmt::format("| edge profile | {} |\n| cloud profile | {} |\n", info.edge_profile, info.cloud_profile);
  std::vector<std::string> kinds;
  for (const auto& r : pairs) {
    const std::string k = fmt::format("{}: {}", r.link.spec(), r.link_kind);
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  std::string kind_text;
  for (const auto& k : kinds) kind_text += (kind_text.empty() ? "" : "<br>") + k;
  out << fmt::format("| link | {} |\n", kind_text);
  out << fmt::format("| runs | median of {} timed runs per plan, {} untimed warm-up run(s) of the planner's plan "
                     "per model × link; tasks one at a time, pipelining off, heavy-backlog 0; when a candidate "
                     "beat the planner, {} fresh alternating runs of each decide the regret |\n",
                     info.runs, info.warmup, info.confirm_runs);
  out << fmt::format("| candidates | chains: every split point; DAGs: articulation cuts, the min-cut plan and the "
                     "top {} of {} random closed cuts ∪ those, ranked by the planner's cost model at the nominal link"
                     "{} |\n",
                     info.top_k, info.random_cuts,
                     info.max_candidates ? fmt::format("; at most {} per pair", info.max_candidates) : "");
  out << fmt::format("| edge probe interval | {} |\n", info.probe_interval);
  out << fmt::format("| duration | {:.0f} s measured (estimated {:.0f} s before starting) |\n", info.duration_s,
                     info.estimated_s);
  out << fmt::format("| command | `{}` |\n\n", info.command);

  out << "## Results\n\n"
         "Times in ms, medians. Regret = planner / oracle − 1. Prediction error = (planner's predicted − its "
         "measured) / measured. Overhead = measured − ideal, ideal = measured edge + bytes / link rate + RTT + "
         "measured cloud (docs/design.md §7).\n\n";
  out << "| model | uplink | planner's cut | planner | oracle's cut | oracle | regret | edge-only | cloud-only | "
         "× edge | × cloud | predicted | pred. error | overhead |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : pairs) {
    out << fmt::format("| {} | {:g} mbit, {:g} ms | {}{} | {:.1f} | {} | {:.1f} | {:.1f}% | {:.1f} | {:.1f} | {:.2f} | "
                       "{:.2f} | {:.1f} | {:+.1f}% | {:.1f} |\n",
                       r.model, r.link.mbit, r.link.rtt_ms(), planner_label(r),
                       r.planner_cut_share < 1 ? fmt::format(" ({:.0f}% of runs)", 100 * r.planner_cut_share) : "",
                       r.planner_ms, oracle_label(r), r.oracle_ms, 100 * r.regret, r.edge_only_ms, r.cloud_only_ms,
                       r.speedup_vs_edge, r.speedup_vs_cloud, r.predicted_ms, 100 * r.prediction_error,
                       r.overhead_ms);
  }
  out << '\n';

  if (!pairs.empty()) {
    double sum = 0, abs_err = 0;
    const PairResult* worst = &pairs.front();
    for (const auto& r : pairs) {
      sum += r.regret;
      abs_err += std::abs(r.prediction_error);
      if (r.regret > worst->regret) worst = &r;
    }
    const double mean = sum / static_cast<double>(pairs.size());
    out << "## Regret\n\n";
    out << fmt::format("- pairs: {}\n- mean regret: **{:.2f}%** (goal ≤ {:g}%: {})\n"
                       "- max regret: **{:.2f}%** ({} at {:g} mbit; goal ≤ {:g}%: {})\n"
                       "- mean |prediction error| of the planner's choice: {:.1f}%\n",
                       pairs.size(), 100 * mean, 100 * k_goal_mean_regret, mean <= k_goal_mean_regret ? "met" : "missed",
                       100 * worst->regret, worst->model, worst->link.mbit, 100 * k_goal_max_regret,
                       worst->regret <= k_goal_max_regret ? "met" : "missed", 100 * abs_err / static_cast<double>(pairs.size()));
    std::size_t fails = 0;
    for (const auto& r : pairs) fails += failures(r);
    out << fmt::format("- runs that failed or fell back (excluded from medians): {}\n\n", fails);
    bool any = false;
    for (const auto& r : pairs) {
      if (r.regret <= k_goal_max_regret) continue;
      if (!any) out << "### Pairs above 10%\n\n";
      any = true;
      out << fmt::format("- **{} @ {:g} mbit** ({:.1f}%): {}.\n", r.model, r.link.mbit, 100 * r.regret, explain(r));
    }
    if (any) out << '\n';
  }

  out << "## How to read it\n\n"
         "- The planner runs with plan `auto` and plans every task from its live bandwidth/RTT estimate. When it "
         "chose one cut on every run and that cut was also run as a forced candidate, both sets of runs of that "
         "cut are pooled (the same work; any difference is noise) — `planner_auto_ms` in evaluation.csv is the "
         "auto runs alone.\n"
         "- The fastest explored median is biased low (several cuts do the same work, and the luckiest of them "
         "wins), so when a candidate beat the planner the two are run again, alternately, and those fresh runs "
         "alone give planner_ms, oracle_ms and the regret; candidates.csv keeps the explored medians.\n"
         "- A candidate is not run (pruned) when its upload alone at the shaped rate plus one RTT is already no "
         "faster than the best of the planner, edge-only and cloud-only medians: it cannot be the oracle.\n"
         "- evaluation.csv: one row per model × link; candidates.csv: every candidate (status measured / pruned / "
         "failed); samples.jsonl: every timed run; plots/: per-model latency against split point (stacked "
         "edge / transfer / cloud / rest at each bandwidth) and regret.svg.\n\n";
  std::vector<std::string> models;
  for (const auto& r : pairs) {
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
  }
  out << "## Plots\n\n![regret](plots/regret.svg)\n\n";
  for (const auto& m : models) out << fmt::format("![{}](plots/{}.svg)\n\n", m, m);
}

}  // namespace

void write_outputs(const fs::path& dir, const ReportInfo& info, const std::vector<PairResult>& pairs) {
  fs::create_directories(dir / "plots");
  write_pairs_csv(dir / "evaluation.csv", pairs);
  write_candidates_csv(dir / "candidates.csv", pairs);
  write_samples(dir / "samples.jsonl", pairs);
  write_markdown(dir / "report.md", info, pairs);
  std::vector<std::string> models;
  for (const auto& r : pairs) {
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
  }
  for (const auto& m : models) {
    std::vector<const PairResult*> of_model;
    for (const auto& r : pairs) {
      if (r.model == m) of_model.push_back(&r);
    }
    write_split_plot(dir / "plots" / (m + ".svg"), of_model);
  }
  write_regret_plot(dir / "plots" / "regret.svg", pairs);
}

}  // namespace tandem::bench
