#include "simulator/host.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tandem::sim {
namespace {

constexpr double k_epsilon_s = 1e-9;  // a job this close to its end is done

}  // namespace

Host::Host(double cores, double background) : cores_(cores), background_(background) { reshare(); }

void Host::add(double now, Job job) {
  advance(now);
  job.started_s = now;
  jobs_.push_back(job);
  reshare();
}

void Host::set_background(double now, double threads) {
  advance(now);
  background_ = threads;
  reshare();
}

void Host::cancel(double now, const std::function<bool(const Job&)>& drop) {
  advance(now);
  std::erase_if(jobs_, drop);
  reshare();
}

std::vector<Host::Job> Host::take_done(double now) {
  advance(now);
  std::vector<Job> done;
  std::erase_if(jobs_, [&](const Job& j) {
    if (j.left_s > k_epsilon_s) return false;
    done.push_back(j);
    return true;
  });
  reshare();
  return done;
}

std::optional<double> Host::next_end() const {
  if (jobs_.empty()) return std::nullopt;
  double left = std::numeric_limits<double>::infinity();
  for (const Job& j : jobs_) left = std::min(left, std::max(j.left_s, 0.0) / speed(j));
  return at_ + left;
}

double Host::jobs_core_seconds(double now, std::size_t group) const {
  double held = group < group_core_s_.size() ? group_core_s_[group] : 0.0;
  for (const Job& j : jobs_) {
    if (j.group == group) held += (now - at_) * j.weight * per_thread();
  }
  return held;
}

double Host::speed(const Job& job) const {
  if (job.spin || demand_ <= cores_) return 1.0;
  if (job.weight <= 1.0) return cores_ / demand_;
  // Each of its w threads is on a core's own run queue among demand / cores
  // runnable threads, running there a cores / demand share of the time.
  const double w = std::min(std::ceil(job.weight), cores_);
  return std::pow(cores_ / demand_, w);
}

void Host::advance(double now) {
  const double dt = now - at_;
  const double cores_per_thread = per_thread();
  for (Job& j : jobs_) {
    j.left_s -= dt * speed(j);  // a spin's speed is 1: wall time
    if (j.group >= group_core_s_.size()) group_core_s_.resize(j.group + 1, 0.0);
    group_core_s_[j.group] += dt * j.weight * cores_per_thread;
  }
  at_ = now;
}

void Host::reshare() {
  demand_ = background_;
  for (const Job& j : jobs_) demand_ += j.weight;
}

}  // namespace tandem::sim
