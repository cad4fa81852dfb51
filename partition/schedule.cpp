#include "partition/schedule.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "partition/flow_network.hpp"
#include "partition/internal.hpp"

namespace tandem::partition {
namespace {

constexpr double k_ms_per_s = 1000.0;
constexpr double k_inf = std::numeric_limits<double>::infinity();

// strictly_better() that also accepts an infinite incumbent (nothing found yet).
bool better(double candidate, double incumbent) {
  return std::isinf(incumbent) ? candidate < incumbent : detail::strictly_better(candidate, incumbent);
}

// ---- candidates -------------------------------------------------------------

bool dominates(const CutWork& a, const CutWork& b) {
  return a.edge_ms <= b.edge_ms && a.upload_bytes <= b.upload_bytes && a.cloud_ms <= b.cloud_ms &&
         a.download_bytes <= b.download_bytes;
}

// The transfer weights of the min-cut grid, as the bandwidth they stand for
// (bytes/s; the network is built with a 1 MB/s reference link): 0.1 mbit to
// 10 gbit, log-spaced, and the cloud's weight relative to the edge's.
constexpr std::array k_grid_bandwidths{1.25e4, 3e4, 6e4, 1.25e5, 2.5e5, 5e5, 7.3e5, 1e6,  1.5e6, 2.36e6,
                                       3.5e6,  5e6, 7.5e6, 1.25e7, 2.5e7, 5e7,  1.25e8, 3e8, 1.25e9};
constexpr std::array k_grid_cloud_weights{0.25, 0.5, 1.0, 2.0, 4.0};

std::vector<Cut> raw_candidates(const GraphDesc& graph, const CostModel& model, const CandidateOptions& options,
                                std::vector<Cut>& supported) {
  std::vector<Cut> cuts;
  if (graph.is_chain()) {
    for (std::size_t s = 0; s < graph.size(); ++s) cuts.push_back(Cut::chain_prefix(graph, s));
    return cuts;
  }
  try {
    cuts = enumerate_closed_cuts(graph, options.enumeration_limit);
    return cuts;
  } catch (const std::length_error&) {
    cuts.clear();
  }
  CostModel reference = model;
  reference.link = Link{1e6, 1e6, 0.0};
  reference.cloud_wait_ms = 0;
  detail::DadsNetwork network(graph, reference);
  for (double bandwidth : k_grid_bandwidths) {
    const double transfer = 1e6 / bandwidth;
    for (double cloud : k_grid_cloud_weights) {
      supported.push_back(network.solve({1.0, transfer, cloud, transfer, 0.0}));
    }
  }
  supported.push_back(Cut::edge_only(graph));
  supported.push_back(Cut::cloud_only(graph));
  return supported;
}

}  // namespace

CutWork cut_work(const GraphDesc& graph, const CostModel& model, const Cut& cut) {
  const Breakdown b = evaluate(graph, model, cut);
  CutWork w;
  w.cut = cut;
  w.edge_ms = b.edge_ms;
  w.edge_only = cut.is_edge_only();
  if (!w.edge_only) {
    w.upload_bytes = b.upload_bytes;
    w.cloud_ms = b.cloud_ms;
    w.download_bytes = b.download_bytes;
    for (NodeId id : cut.crossing(graph)) w.upload_codec_ms += codec_ms(graph.node(id), model);
    for (NodeId s : graph.sinks()) {
      if (!cut.on_edge(s)) w.download_codec_ms += codec_ms(graph.node(s), model);
    }
  }
  return w;
}

std::vector<CutWork> candidate_cuts(const GraphDesc& graph, const CostModel& model,
                                    const CandidateOptions& options) {
  validate(graph, model);
  std::vector<Cut> supported;
  std::vector<Cut> cuts = raw_candidates(graph, model, options, supported);
  std::vector<CutWork> works;
  works.reserve(cuts.size() + 2);
  for (const Cut& c : cuts) works.push_back(cut_work(graph, model, c));
  for (const Cut& c : {Cut::edge_only(graph), Cut::cloud_only(graph)}) works.push_back(cut_work(graph, model, c));

  // Pareto front: sorted by edge ms (then the rest), a cut survives when no
  // earlier survivor dominates it. Exact duplicates keep the first.
  std::sort(works.begin(), works.end(), [](const CutWork& a, const CutWork& b) {
    return std::tie(a.edge_ms, a.upload_bytes, a.cloud_ms, a.download_bytes) <
           std::tie(b.edge_ms, b.upload_bytes, b.cloud_ms, b.download_bytes);
  });
  std::vector<CutWork> front;
  for (CutWork& w : works) {
    const bool dominated = std::any_of(front.begin(), front.end(), [&](const CutWork& f) { return dominates(f, w); });
    if (!dominated) front.push_back(std::move(w));
  }
  // Edge-only and cloud-only are always offered: forced plans and fallbacks
  // are priced with them, and they bracket every other cut.
  for (const Cut& c : {Cut::edge_only(graph), Cut::cloud_only(graph)}) {
    if (std::none_of(front.begin(), front.end(), [&](const CutWork& f) { return f.cut == c; })) {
      front.push_back(cut_work(graph, model, c));
    }
  }
  if (front.size() > options.max_candidates) {
    // Keep the cuts that are best for some point of the grid, then the rest
    // by latency on a 10 mbit link with a free cloud.
    const auto latency_at = [](const CutWork& w, double bandwidth, double cloud_weight) {
      return w.edge_ms + cloud_weight * w.cloud_ms +
             static_cast<double>(w.upload_bytes + w.download_bytes) * k_ms_per_s / bandwidth;
    };
    std::vector<char> keep(front.size(), 0);
    for (double bandwidth : k_grid_bandwidths) {
      for (double cloud : k_grid_cloud_weights) {
        std::size_t best = 0;
        for (std::size_t i = 1; i < front.size(); ++i) {
          if (latency_at(front[i], bandwidth, cloud) < latency_at(front[best], bandwidth, cloud)) best = i;
        }
        keep[best] = 1;
      }
    }
    for (std::size_t i = 0; i < front.size(); ++i) {
      if (front[i].edge_only || front[i].cut.is_cloud_only()) keep[i] = 1;
    }
    std::vector<std::size_t> rest;
    for (std::size_t i = 0; i < front.size(); ++i) {
      if (!keep[i]) rest.push_back(i);
    }
    std::sort(rest.begin(), rest.end(), [&](std::size_t a, std::size_t b) {
      return latency_at(front[a], 1.25e6, 1.0) < latency_at(front[b], 1.25e6, 1.0);
    });
    std::size_t kept = static_cast<std::size_t>(std::count(keep.begin(), keep.end(), 1));
    for (std::size_t i : rest) {
      if (kept >= options.max_candidates) break;
      keep[i] = 1;
      ++kept;
    }
    std::vector<CutWork> capped;
    for (std::size_t i = 0; i < front.size(); ++i) {
      if (keep[i]) capped.push_back(std::move(front[i]));
    }
    front = std::move(capped);
  }
  std::sort(front.begin(), front.end(), [](const CutWork& a, const CutWork& b) { return a.edge_ms < b.edge_ms; });
  return front;
}

Stages stages_of(const CutWork& work, const Link& link) {
  Stages s;
  s.edge = work.edge_ms;
  s.sends = !work.edge_only;
  if (s.sends) {
    s.upload = static_cast<double>(work.upload_bytes) * k_ms_per_s / link.uplink_bytes_per_s + work.upload_codec_ms;
    s.cloud = work.cloud_ms;
    s.download =
        static_cast<double>(work.download_bytes) * k_ms_per_s / link.downlink_bytes_per_s + work.download_codec_ms;
  }
  return s;
}

double Slot::cloud_wait(double rtt_ms) const {
  if (cloud_start == upload_end && cloud_end == upload_end) return 0;  // nothing sent
  return std::max(0.0, cloud_start - (upload_end + rtt_ms / 2));
}

Slot place(const Stages& stages, double rtt_ms, Timeline& t) {
  Slot s;
  s.edge_start = t.edge;
  s.edge_end = s.edge_start + stages.edge;
  t.edge = s.edge_end;
  if (!stages.sends) {
    s.upload_start = s.upload_end = s.cloud_start = s.cloud_end = s.done = s.edge_end;
    return s;
  }
  s.upload_start = std::max(s.edge_end, t.uplink);
  s.upload_end = s.upload_start + stages.upload;
  t.uplink = s.upload_end;
  s.cloud_start = std::max(s.upload_end + rtt_ms / 2, t.cloud);
  s.cloud_end = s.cloud_start + stages.cloud;
  t.cloud = s.cloud_end;
  s.done = s.cloud_end + stages.download + rtt_ms / 2;
  if (t.serial) t.edge = s.done;
  return s;
}

Slot earliest_completion(const std::vector<Stages>& options, double rtt_ms, const Timeline& timeline) {
  if (options.empty()) throw std::invalid_argument("earliest_completion: no options");
  Slot best;
  best.done = k_inf;
  for (std::size_t k = 0; k < options.size(); ++k) {
    Timeline t = timeline;
    Slot s = place(options[k], rtt_ms, t);
    s.option = k;
    if (better(s.done, best.done)) best = s;
  }
  return best;
}

std::string_view to_string(BatchObjective objective) {
  return objective == BatchObjective::makespan ? "makespan" : "total_completion";
}

namespace {

// ---- batch scheduling -------------------------------------------------------

using Weights = std::array<double, 3>;  // λ over (edge, uplink, cloud)

double weighted(const Weights& l, const Stages& s) { return l[0] * s.edge + l[1] * s.upload + l[2] * s.cloud; }
double weighted(const Weights& l, const Timeline& t) { return l[0] * t.edge + l[1] * t.uplink + l[2] * t.cloud; }

std::vector<Weights> simplex_grid(int steps) {
  std::vector<Weights> grid;
  for (int a = 0; a <= steps; ++a) {
    for (int b = 0; a + b <= steps; ++b) {
      grid.push_back({static_cast<double>(a) / steps, static_cast<double>(b) / steps,
                      static_cast<double>(steps - a - b) / steps});
    }
  }
  return grid;
}

struct Entry {
  std::size_t task;
  std::size_t option;
};

class Batch {
 public:
  Batch(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start, BatchObjective objective)
      : tasks_(tasks), rtt_(rtt_ms), start_(start), objective_(objective) {}

  // Objective of a sequence of (task, option).
  double value(const std::vector<Entry>& seq) const {
    Timeline t = start_;
    double makespan = 0, total = 0;
    for (const Entry& e : seq) {
      const double done = place(tasks_[e.task].options[e.option], rtt_, t).done;
      makespan = std::max(makespan, done);
      total += done;
    }
    return objective_ == BatchObjective::makespan ? makespan : total;
  }

  // Best insertion of `task` into `seq` over positions and options (or only
  // `fixed` when given). Returns the objective and sets pos/option.
  double best_insertion(const std::vector<Entry>& seq, std::size_t task, const std::size_t* fixed, std::size_t& pos,
                        std::size_t& option) const {
    // Prefix timelines and partial objectives.
    std::vector<Timeline> prefix(seq.size() + 1);
    std::vector<double> prefix_value(seq.size() + 1, 0.0);
    prefix[0] = start_;
    for (std::size_t i = 0; i < seq.size(); ++i) {
      prefix[i + 1] = prefix[i];
      const double done = place(tasks_[seq[i].task].options[seq[i].option], rtt_, prefix[i + 1]).done;
      prefix_value[i + 1] = combine(prefix_value[i], done);
    }
    double best = k_inf;
    const auto& options = tasks_[task].options;
    for (std::size_t p = 0; p <= seq.size(); ++p) {
      for (std::size_t k = 0; k < options.size(); ++k) {
        if (fixed && k != *fixed) continue;
        Timeline t = prefix[p];
        double v = combine(prefix_value[p], place(options[k], rtt_, t).done);
        for (std::size_t i = p; i < seq.size() && v < best; ++i) {
          v = combine(v, place(tasks_[seq[i].task].options[seq[i].option], rtt_, t).done);
        }
        if (better(v, best)) {
          best = v;
          pos = p;
          option = k;
        }
      }
    }
    return best;
  }

  std::vector<Entry> neh(const std::vector<std::size_t>& seeds, const std::vector<std::size_t>* fixed) const {
    std::vector<Entry> seq;
    for (std::size_t task : seeds) {
      std::size_t pos = 0, option = 0;
      best_insertion(seq, task, fixed ? &(*fixed)[task] : nullptr, pos, option);
      seq.insert(seq.begin() + static_cast<std::ptrdiff_t>(pos), Entry{task, option});
    }
    return seq;
  }

  double local_search(std::vector<Entry>& seq, std::size_t passes) const {
    double current = value(seq);
    for (std::size_t pass = 0; pass < passes; ++pass) {
      bool improved = false;
      for (std::size_t task = 0; task < tasks_.size(); ++task) {
        const auto it = std::find_if(seq.begin(), seq.end(), [&](const Entry& e) { return e.task == task; });
        const Entry removed = *it;
        const auto at = it - seq.begin();
        seq.erase(it);
        std::size_t pos = 0, option = 0;
        const double v = best_insertion(seq, task, nullptr, pos, option);
        if (detail::strictly_better(v, current)) {
          seq.insert(seq.begin() + static_cast<std::ptrdiff_t>(pos), Entry{task, option});
          current = v;
          improved = true;
        } else {
          seq.insert(seq.begin() + at, removed);
        }
      }
      if (!improved) break;
    }
    return current;
  }

  double combine(double acc, double done) const {
    return objective_ == BatchObjective::makespan ? std::max(acc, done) : acc + done;
  }

  // min over options of the task's completion when placed next after t.
  double best_next_done(std::size_t task, const Timeline& t) const {
    double best = k_inf;
    for (const Stages& s : tasks_[task].options) {
      Timeline copy = t;
      best = std::min(best, place(s, rtt_, copy).done);
    }
    return best;
  }

  const std::vector<BatchTask>& tasks_;
  double rtt_;
  Timeline start_;
  BatchObjective objective_;
};

// λ-bound on the makespan of the tasks in `remaining` after t: a resource
// that is used must first finish what it already has, so when anything is
// sent, makespan >= Σ_r λ_r (T_r + W_r) >= λ·T + Σ_j min_k λ·w_jk; when
// nothing is (every task edge-only), makespan >= T_edge + Σ_j e_j(edge-only).
// The bound is the smaller of the two cases.
double lambda_bound(const std::vector<BatchTask>& tasks, const std::vector<std::size_t>& remaining, const Weights& l,
                    const Timeline& t) {
  double sending = weighted(l, t);
  double edge_only = t.edge;
  bool all_can_stay = true;
  for (std::size_t j : remaining) {
    double best = k_inf, local = k_inf;
    for (const Stages& s : tasks[j].options) {
      best = std::min(best, weighted(l, s));
      if (!s.sends) local = std::min(local, s.edge);
    }
    sending += best;
    if (std::isinf(local)) all_can_stay = false;
    edge_only += local;
  }
  return all_can_stay ? std::min(sending, edge_only) : sending;
}

// Branch and bound over orders and options (exact over the candidates).
class Exact {
 public:
  Exact(const Batch& batch, std::size_t budget, double incumbent, std::vector<Entry> best)
      : b_(batch), n_(batch.tasks_.size()), budget_(budget), best_value_(incumbent), best_(std::move(best)),
        used_(n_, 0) {
    lambdas_ = simplex_grid(2);
  }

  bool run() {
    std::vector<Entry> seq;
    dfs(seq, b_.start_, 0.0);
    return nodes_ <= budget_;
  }
  double best_value() const { return best_value_; }
  const std::vector<Entry>& best() const { return best_; }

 private:
  double bound(const Timeline& t, double acc) const {
    if (b_.objective_ == BatchObjective::total_completion) {
      double sum = acc;
      for (std::size_t j = 0; j < n_; ++j) {
        if (!used_[j]) sum += b_.best_next_done(j, t);
      }
      return sum;
    }
    double lb = acc;
    for (std::size_t j = 0; j < n_; ++j) {
      if (!used_[j]) lb = std::max(lb, b_.best_next_done(j, t));
    }
    remaining_.clear();
    for (std::size_t j = 0; j < n_; ++j) {
      if (!used_[j]) remaining_.push_back(j);
    }
    for (const Weights& l : lambdas_) lb = std::max(lb, lambda_bound(b_.tasks_, remaining_, l, t));
    return lb;
  }

  void dfs(std::vector<Entry>& seq, const Timeline& t, double acc) {
    if (++nodes_ > budget_) return;
    if (seq.size() == n_) {
      if (better(acc, best_value_)) {
        best_value_ = acc;
        best_ = seq;
      }
      return;
    }
    // Children, most promising first.
    struct Child {
      std::size_t task, option;
      Timeline t;
      double acc, lb;
    };
    std::vector<Child> children;
    for (std::size_t j = 0; j < n_; ++j) {
      if (used_[j]) continue;
      // Identical tasks (same group) go in index order.
      bool earlier_twin = false;
      for (std::size_t i = 0; i < j && !earlier_twin; ++i) {
        earlier_twin = !used_[i] && b_.tasks_[i].group == b_.tasks_[j].group;
      }
      if (earlier_twin) continue;
      for (std::size_t k = 0; k < b_.tasks_[j].options.size(); ++k) {
        Child c{j, k, t, 0, 0};
        c.acc = b_.combine(acc, place(b_.tasks_[j].options[k], b_.rtt_, c.t).done);
        children.push_back(c);
      }
    }
    for (Child& c : children) {
      used_[c.task] = 1;
      c.lb = bound(c.t, c.acc);
      used_[c.task] = 0;
    }
    std::sort(children.begin(), children.end(), [](const Child& a, const Child& b) { return a.lb < b.lb; });
    for (const Child& c : children) {
      if (!better(c.lb, best_value_)) break;
      used_[c.task] = 1;
      seq.push_back({c.task, c.option});
      dfs(seq, c.t, c.acc);
      seq.pop_back();
      used_[c.task] = 0;
      if (nodes_ > budget_) return;
    }
  }

  const Batch& b_;
  std::size_t n_;
  std::size_t budget_;
  std::size_t nodes_ = 0;
  double best_value_;
  std::vector<Entry> best_;
  std::vector<char> used_;
  std::vector<Weights> lambdas_;
  mutable std::vector<std::size_t> remaining_;
};

Schedule to_schedule(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start,
                     const std::vector<Entry>& seq, BatchObjective objective) {
  std::vector<std::size_t> order, choice(tasks.size(), 0);
  for (const Entry& e : seq) {
    order.push_back(e.task);
    choice[e.task] = e.option;
  }
  return evaluate_schedule(tasks, rtt_ms, start, order, choice, objective);
}

}  // namespace

Schedule evaluate_schedule(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start,
                           const std::vector<std::size_t>& order, const std::vector<std::size_t>& choice,
                           BatchObjective objective) {
  Schedule s;
  s.order = order;
  s.slots.resize(tasks.size());
  Timeline t = start;
  for (std::size_t task : order) {
    const auto& options = tasks.at(task).options;
    const std::size_t k = choice.at(task);
    Slot slot = place(options.at(k), rtt_ms, t);
    slot.option = k;
    s.slots[task] = slot;
    s.makespan = std::max(s.makespan, slot.done);
    s.total_completion += slot.done;
  }
  s.objective_value = objective == BatchObjective::makespan ? s.makespan : s.total_completion;
  return s;
}

double batch_lower_bound(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start,
                         BatchObjective objective) {
  const Batch batch(tasks, rtt_ms, start, objective);
  if (objective == BatchObjective::total_completion) {
    double sum = 0;
    for (std::size_t j = 0; j < tasks.size(); ++j) sum += batch.best_next_done(j, start);
    return sum;
  }
  double lb = 0;
  for (std::size_t j = 0; j < tasks.size(); ++j) lb = std::max(lb, batch.best_next_done(j, start));
  std::vector<std::size_t> all(tasks.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  for (const Weights& l : simplex_grid(20)) lb = std::max(lb, lambda_bound(tasks, all, l, start));
  return lb;
}

Schedule schedule_batch(const std::vector<BatchTask>& tasks, double rtt_ms, const Timeline& start,
                        BatchObjective objective, const ScheduleOptions& options) {
  for (std::size_t j = 0; j < tasks.size(); ++j) {
    if (tasks[j].options.empty()) throw std::invalid_argument(fmt::format("schedule_batch: task {} has no options", j));
  }
  if (tasks.empty()) return Schedule{.exact = true};
  const Batch batch(tasks, rtt_ms, start, objective);
  const std::size_t n = tasks.size();

  // Start 1: NEH with a free cut choice; seeds by their cheapest total work,
  // largest first for the makespan, smallest first for completion times.
  std::vector<double> work(n, k_inf);
  for (std::size_t j = 0; j < n; ++j) {
    for (const Stages& s : tasks[j].options) work[j] = std::min(work[j], s.edge + s.upload + s.cloud);
  }
  std::vector<std::size_t> seeds(n);
  std::iota(seeds.begin(), seeds.end(), std::size_t{0});
  std::stable_sort(seeds.begin(), seeds.end(), [&](std::size_t a, std::size_t b) {
    return objective == BatchObjective::makespan ? work[a] > work[b] : work[a] < work[b];
  });
  std::vector<Entry> best = batch.neh(seeds, nullptr);
  double best_value = batch.local_search(best, options.local_search_passes);

  // Start 2: the Lagrangian balance's cuts, ordered by NEH, then polished.
  {
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    Weights best_l{1.0 / 3, 1.0 / 3, 1.0 / 3};
    double best_lb = -k_inf;
    for (const Weights& l : simplex_grid(20)) {
      const double lb = lambda_bound(tasks, all, l, start);
      if (lb > best_lb) {
        best_lb = lb;
        best_l = l;
      }
    }
    std::vector<std::size_t> fixed(n, 0);
    for (std::size_t j = 0; j < n; ++j) {
      double v = k_inf;
      for (std::size_t k = 0; k < tasks[j].options.size(); ++k) {
        if (const double w = weighted(best_l, tasks[j].options[k]); w < v) {
          v = w;
          fixed[j] = k;
        }
      }
    }
    std::vector<Entry> seq = batch.neh(seeds, &fixed);
    const double v = batch.local_search(seq, options.local_search_passes);
    if (detail::strictly_better(v, best_value)) {
      best = std::move(seq);
      best_value = v;
    }
  }

  // Start 3: the other objective's schedule, polished for this one. A
  // makespan has plateaus (moving a task that does not finish last changes
  // nothing), where the insertion search above stalls; the mean-completion
  // search keeps moving and its order is often the better makespan too
  // (measured on 40 zoo tasks at 5.85 mbit: 4.36 s against 5.47 s).
  {
    const BatchObjective other =
        objective == BatchObjective::makespan ? BatchObjective::total_completion : BatchObjective::makespan;
    const Batch other_batch(tasks, rtt_ms, start, other);
    std::vector<std::size_t> other_seeds = seeds;
    std::reverse(other_seeds.begin(), other_seeds.end());
    std::vector<Entry> seq = other_batch.neh(other_seeds, nullptr);
    other_batch.local_search(seq, options.local_search_passes);
    const double v = batch.local_search(seq, options.local_search_passes);
    if (detail::strictly_better(v, best_value)) {
      best = std::move(seq);
      best_value = v;
    }
  }

  bool exact = false;
  if (n <= options.exact_max_tasks) {
    Exact search(batch, options.exact_node_budget, best_value, best);
    exact = search.run();
    best = search.best();
    best_value = search.best_value();
  }
  // Interchangeable tasks keep their submission order: tasks of one group
  // have identical options, so giving their positions to them in index order
  // changes no completion time.
  std::map<std::size_t, std::vector<std::size_t>> members;
  for (const Entry& e : best) members[tasks[e.task].group].push_back(e.task);
  for (auto& [group, ids] : members) std::sort(ids.begin(), ids.end());
  std::map<std::size_t, std::size_t> next;
  for (Entry& e : best) {
    const std::size_t g = tasks[e.task].group;
    e.task = members[g][next[g]++];
  }
  Schedule s = to_schedule(tasks, rtt_ms, start, best, objective);
  s.lower_bound = batch_lower_bound(tasks, rtt_ms, start, objective);
  if (exact) s.lower_bound = std::max(s.lower_bound, s.objective_value);
  s.exact = exact || !detail::strictly_better(s.lower_bound, s.objective_value);
  return s;
}

}  // namespace tandem::partition
