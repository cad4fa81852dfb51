#include "bench/evaluate/candidates.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <fmt/format.h>

#include <thread>

#include "app/cli.hpp"
#include "predictor/profile.hpp"
#include "units/units.hpp"

namespace tandem::bench {

namespace {

// Bytes a shaper may let through ahead of its rate: tbf's burst (we configure
// at most a few ms of rate) or the emulator's one chunk. Generous on purpose:
// the bound must never exceed a real run.
constexpr double k_burst_allowance_bytes = 64 * 1024;
// Control-port round trip and result bookkeeping per task, for the estimate.
constexpr double k_task_overhead_ms = 5;

partition::Objective latency() { return partition::Objective::latency; }

std::string label_of(const GraphDesc& g, const Cut& cut) {
  if (cut.is_edge_only()) return "edge_only";
  if (cut.is_cloud_only()) return "cloud_only";
  const auto crossing = cut.crossing(g);
  if (crossing.size() == 1) return g.node(crossing.front()).name;
  return fmt::format("{} nodes/{} tensors", cut.computed_on_edge(), crossing.size());
}

std::string plan_of(const Cut& cut) {
  if (cut.is_edge_only()) return "edge_only";
  if (cut.is_cloud_only()) return "cloud_only";
  return "cut:" + cut.to_string();
}

}  // namespace

std::vector<LinkCase> parse_links(const std::string& text) {
  std::vector<LinkCase> links;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    const std::string_view item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    if (item.empty()) continue;
    units::Link link;
    try {
      link = units::parse_link(item);
    } catch (const std::invalid_argument& e) {
      throw app::UsageError(fmt::format("--links: {}", e.what()));
    }
    if (!link.bytes_per_s) throw app::UsageError(fmt::format("--links: '{}' has no rate", item));
    links.push_back({units::to_mbit(*link.bytes_per_s), link.rtt_ms});
  }
  if (links.empty()) throw app::UsageError("--links is empty");
  return links;
}

std::string host_description() {
  return fmt::format("{}, {} cores", predictor::cpu_model(), std::thread::hardware_concurrency());
}

std::string LinkCase::spec() const { return units::to_string(units::Link{bytes_per_s(), rtt}); }

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

planner::Conditions nominal_conditions(const LinkCase& link) {
  planner::Conditions c;
  c.link.uplink_bytes_per_s = link.bytes_per_s();
  c.link.downlink_bytes_per_s = link.bytes_per_s();
  c.link.rtt_ms = link.rtt_ms();
  return c;
}

Candidate make_candidate(const planner::Planner& planner, const std::string& model, const Cut& cut,
                         const LinkCase& link, std::string origin) {
  const GraphDesc& g = planner.graph(model);
  const auto plan = planner.evaluate(model, cut, latency(), nominal_conditions(link));
  Candidate c;
  c.cut = cut;
  c.plan = plan_of(cut);
  c.label = label_of(g, cut);
  c.origin = std::move(origin);
  c.edge_nodes = cut.computed_on_edge();
  c.crossing_bytes = cut.is_edge_only() ? 0 : cut.crossing_bytes(g);
  c.predicted_ms = plan.predicted.total_ms;
  return c;
}

std::vector<Candidate> make_candidates(const planner::Planner& planner, const std::string& model,
                                       const LinkCase& link, const CandidateOptions& options) {
  const GraphDesc& g = planner.graph(model);
  std::map<std::vector<bool>, Candidate> by_mask;
  auto add = [&](const Cut& cut, const std::string& origin) {
    auto [it, fresh] = by_mask.try_emplace(cut.mask());
    if (fresh) it->second = make_candidate(planner, model, cut, link, origin);
  };

  add(Cut::edge_only(g), "edge_only");
  add(Cut::cloud_only(g), "cloud_only");
  const Cut best = planner.plan(model, latency(), nominal_conditions(link)).cut;
  if (g.is_chain()) {
    for (std::size_t split = 0; split < g.size(); ++split) add(Cut::chain_prefix(g, split), "split");
  } else {
    // Rank articulation cuts, the optimum and random closed cuts by the
    // planner's own cost model; keep the top k.
    std::map<std::vector<bool>, std::pair<double, Cut>> pool;
    auto consider = [&](const Cut& cut) {
      if (pool.contains(cut.mask())) return;
      const double ms = planner.evaluate(model, cut, latency(), nominal_conditions(link)).predicted.total_ms;
      pool.emplace(cut.mask(), std::make_pair(ms, cut));
    };
    const auto articulation = articulation_cuts(g);
    for (const Cut& cut : articulation) consider(cut);
    consider(best);
    std::mt19937_64 rng(options.seed);
    for (std::size_t i = 0; i < options.random_cuts; ++i) consider(random_closed_cut(g, rng));
    std::vector<std::pair<double, Cut>> ranked;
    for (auto& [mask, entry] : pool) ranked.push_back(entry);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    add(best, "min-cut");
    for (std::size_t i = 0; i < std::min(options.top_k, ranked.size()); ++i) add(ranked[i].second, "top-k");
    for (const Cut& cut : articulation) add(cut, "articulation");
  }

  std::vector<Candidate> out;
  for (auto& [mask, c] : by_mask) out.push_back(std::move(c));
  if (options.max_candidates > 0 && out.size() > options.max_candidates) {
    // Keep edge-only, cloud-only and the planner's optimum, then the best predicted.
    std::stable_sort(out.begin(), out.end(), [&](const Candidate& a, const Candidate& b) {
      auto rank = [&](const Candidate& c) {
        return c.cut.is_edge_only() || c.cut.is_cloud_only() || c.cut == best ? 0 : 1;
      };
      if (rank(a) != rank(b)) return rank(a) < rank(b);
      return a.predicted_ms < b.predicted_ms;
    });
    out.resize(std::max<std::size_t>(options.max_candidates, 3));
  }
  std::stable_sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    return a.edge_nodes != b.edge_nodes ? a.edge_nodes < b.edge_nodes : a.cut.to_string() < b.cut.to_string();
  });
  return out;
}

double transfer_lower_bound_ms(const Candidate& c, const LinkCase& link) {
  if (c.cut.is_edge_only()) return 0;
  const double bytes = std::max(0.0, static_cast<double>(c.crossing_bytes) - k_burst_allowance_bytes);
  return bytes / link.bytes_per_s() * 1e3 + link.rtt_ms();
}

double predicted_pair_seconds(const planner::Planner& planner, const std::string& model,
                              const LinkCase& link, const CandidateOptions& options,
                              std::size_t runs, std::size_t warmup, std::size_t confirm_runs) {
  const auto candidates = make_candidates(planner, model, link, options);
  const double best_plan_ms =
      planner.plan(model, latency(), nominal_conditions(link)).predicted.total_ms;
  // The runner measures edge-only, cloud-only and the planner first; the
  // best of them prunes the rest.
  double bound = best_plan_ms;
  for (const auto& c : candidates) {
    if (c.cut.is_edge_only() || c.cut.is_cloud_only()) bound = std::min(bound, c.predicted_ms);
  }
  double ms = best_plan_ms + k_task_overhead_ms;  // the planner's own runs
  for (const auto& c : candidates) {
    const bool always = c.cut.is_edge_only() || c.cut.is_cloud_only();
    if (!always && transfer_lower_bound_ms(c, link) >= bound) continue;
    ms += c.predicted_ms + k_task_overhead_ms;
  }
  const double confirm_ms = 2 * (best_plan_ms + k_task_overhead_ms) * static_cast<double>(confirm_runs);
  return (ms * static_cast<double>(runs + warmup) + confirm_ms) / 1e3;
}

}  // namespace tandem::bench
