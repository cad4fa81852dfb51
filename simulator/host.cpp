#include "simulator/host.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace tandem::sim {
namespace {

constexpr double k_epsilon_s = 1e-9;  // a job this close to its end is done

std::size_t whole_cores(double cores) {
  if (!(cores >= 1) || cores > 4096 || cores != std::floor(cores)) {
    throw std::invalid_argument("host cores must be a whole number from 1 to 4096");
  }
  return static_cast<std::size_t>(cores);
}

}  // namespace

Host::Host(double cores, double background)
    : cores_(whole_cores(cores)), background_(background), queued_(cores_, 0), load_(cores_, 0.0) {
  reshare();
}

void Host::add(double now, Job job) {
  advance(now);
  job.started_s = now;
  Running r{job, {}};
  place(r);
  jobs_.push_back(std::move(r));
  reshare();
}

void Host::set_background(double now, double threads) {
  advance(now);
  background_ = threads;
  reshare();
}

void Host::cancel(double now, const std::function<bool(const Job&)>& drop) {
  advance(now);
  std::erase_if(jobs_, [&](const Running& r) {
    if (!drop(r.job)) return false;
    for (std::size_t c : r.cores) --queued_[c];
    return true;
  });
  rebalance();
  reshare();
}

std::vector<Host::Job> Host::take_done(double now) {
  advance(now);
  std::vector<Job> done;
  std::erase_if(jobs_, [&](const Running& r) {
    if (r.job.left_s > k_epsilon_s) return false;
    for (std::size_t c : r.cores) --queued_[c];
    done.push_back(r.job);
    return true;
  });
  rebalance();
  reshare();
  return done;
}

std::optional<double> Host::next_end() const {
  if (jobs_.empty()) return std::nullopt;
  double left = std::numeric_limits<double>::infinity();
  for (const Running& r : jobs_) left = std::min(left, std::max(r.job.left_s, 0.0) / speed(r));
  return at_ + left;
}

double Host::jobs_core_seconds(double now, std::size_t group) const {
  double held = group < group_core_s_.size() ? group_core_s_[group] : 0.0;
  for (const Running& r : jobs_) {
    if (r.job.group != group) continue;
    for (std::size_t c : r.cores) held += (now - at_) * share(c);
  }
  return held;
}

double Host::share(std::size_t core) const { return 1.0 / std::max(1.0, load_[core]); }

double Host::speed(const Running& r) const {
  if (r.job.spin) return 1.0;
  double s = 1.0;
  for (std::size_t c : r.cores) s *= share(c);
  return s;
}

void Host::advance(double now) {
  const double dt = now - at_;
  for (Running& r : jobs_) {
    r.job.left_s -= dt * speed(r);  // a spin's speed is 1: wall time
    if (r.job.group >= group_core_s_.size()) group_core_s_.resize(r.job.group + 1, 0.0);
    for (std::size_t c : r.cores) group_core_s_[r.job.group] += dt * share(c);
  }
  at_ = now;
}

// A woken thread goes to the core with the fewest queued (the lowest
// numbered of those), each of a job's threads to a different core.
void Host::place(Running& r) {
  const double threads = std::clamp(std::ceil(r.job.weight), 1.0, static_cast<double>(cores_));
  for (std::size_t t = 0; t < static_cast<std::size_t>(threads); ++t) {
    std::size_t best = cores_;
    for (std::size_t c = 0; c < cores_; ++c) {
      if (std::find(r.cores.begin(), r.cores.end(), c) != r.cores.end()) continue;
      if (best == cores_ || queued_[c] < queued_[best]) best = c;
    }
    r.cores.push_back(best);
    ++queued_[best];
  }
}

// Linux's load balancer moves a waiting thread from the busiest run queue
// to the idlest while they differ by two or more; the one moved here is of
// the latest started job that has no thread on the idler core yet.
void Host::rebalance() {
  for (std::size_t moves = 0; moves < jobs_.size() * cores_; ++moves) {
    const auto [lo, hi] = std::minmax_element(queued_.begin(), queued_.end());
    if (*hi - *lo < 2) return;
    const auto from = static_cast<std::size_t>(hi - queued_.begin());
    const auto to = static_cast<std::size_t>(lo - queued_.begin());
    const auto movable = std::find_if(jobs_.rbegin(), jobs_.rend(), [&](const Running& r) {
      return std::find(r.cores.begin(), r.cores.end(), from) != r.cores.end() &&
             std::find(r.cores.begin(), r.cores.end(), to) == r.cores.end();
    });
    if (movable == jobs_.rend()) return;
    *std::find(movable->cores.begin(), movable->cores.end(), from) = to;
    --queued_[from];
    ++queued_[to];
  }
}

// The background poured over the cores like water: the least loaded fill
// first, up to a common level.
void Host::reshare() {
  std::vector<double> sorted(queued_.begin(), queued_.end());
  std::sort(sorted.begin(), sorted.end());
  double level = 0;
  double poured = 0;  // over the first k cores
  for (std::size_t k = 1; k <= cores_; ++k) {
    poured += sorted[k - 1];
    const double fill = (background_ + poured) / static_cast<double>(k);  // common level of the first k
    if (k == cores_ || fill <= sorted[k]) {
      level = fill;
      break;
    }
  }
  for (std::size_t c = 0; c < cores_; ++c) load_[c] = std::max(static_cast<double>(queued_[c]), level);
}

}  // namespace tandem::sim
