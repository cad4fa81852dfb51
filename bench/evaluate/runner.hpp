#pragma once
// Runs the daemons and the tasks: one cloud_daemon for the whole evaluation,
// one edge_daemon per link setting, tasks sent one at a time on the control
// port. Either link kind shapes the edge's uplink:
//   netns     two network namespaces joined by a veth pair (bench/netns_link.sh
//             makes them); this program runs inside the edge's namespace, starts
//             cloud_daemon in the cloud's with `ip netns exec`, and shapes the
//             edge's veth with a tbf qdisc per link (`tc -n`). The one-way delay
//             is netem on both veth ends when the kernel has sch_netem, else the
//             edge daemon's emulated delay (--emulate-link DELAY).
//   emulated  loopback; the edge daemon's --emulate-link RATE,DELAY.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/evaluate/candidates.hpp"
#include "bench/evaluate/evaluate.hpp"
#include "control/protocol.hpp"

namespace tandem::test {
class DaemonProcess;
}  // namespace tandem::test

namespace tandem::control {
class Client;
}  // namespace tandem::control

namespace tandem::bench {

enum class LinkMode { netns, emulated };

struct RunnerConfig {
  std::filesystem::path bin_dir;       // edge_daemon, cloud_daemon
  std::filesystem::path profiles_dir;
  std::string edge_profile = "edge.json", cloud_profile = "cloud.json";
  std::filesystem::path work_dir;      // key file and daemon logs
  std::vector<std::string> models;
  std::filesystem::path model_dir;     // --model-dir of both daemons; empty: the zoo only
  std::vector<std::string> edge_args;  // more edge_daemon flags
  int edge_threads = 1;
  double edge_slowdown = 1;
  int cloud_threads = 2;
  std::string probe_interval = "2s";
  LinkMode mode = LinkMode::emulated;
  std::string edge_netns, cloud_netns;   // netns mode
  std::string edge_dev, cloud_dev;       // the veth ends
  std::string cloud_addr = "127.0.0.1";  // where cloud_daemon listens
  std::size_t runs = 5;                  // timed runs per plan
  std::size_t warmup = 1;                // untimed runs of the planner's plan per pair
  std::size_t confirm_runs = 10;         // fresh runs each of the planner and a faster candidate (0: off)
  std::chrono::seconds task_timeout{600};
  std::chrono::seconds start_timeout{600};  // daemon start-up (model loading)
};

/// Owns the daemons. Not thread-safe; one task at a time.
class Runner {
 public:
  /// Writes a key file and starts cloud_daemon. Throws std::runtime_error
  /// with the daemon's output when it does not come up.
  explicit Runner(RunnerConfig config);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  /// Shapes the link for `link` and (re)starts edge_daemon on it; returns once
  /// the edge is connected and has a bandwidth estimate. Throws on failure.
  void use_link(const LinkCase& link);
  /// How the current link is shaped, e.g. "netns veth + tbf, delay emulated (no sch_netem)".
  const std::string& link_kind() const { return link_kind_; }

  /// Runs one task to completion. Throws std::runtime_error when the daemon
  /// answers nothing within the task timeout or has exited.
  Sample run(const std::string& model, const std::string& plan, std::uint64_t seed);
  /// Runs any task to completion (its id is replaced) and returns the
  /// daemon's result. Throws like run(), and when the daemon refuses the line.
  control::TaskResult run_task(control::TaskSpec task);

  /// Measures `model` on the current link: the planner's plan, edge-only and
  /// cloud-only `runs` times each, then every candidate that a transfer bound
  /// does not rule out, round-robin; then, when a candidate beat the planner's
  /// cut, `confirm_runs` fresh alternating runs of both. `progress` gets a
  /// line per phase.
  PairResult measure(const planner::Planner& planner, const std::string& model, const LinkCase& link,
                     const CandidateOptions& options,
                     const std::function<void(const std::string&)>& progress);

  const RunnerConfig& config() const { return config_; }

 private:
  void shape(const LinkCase& link);
  void stop_edge();
  void run_into(Measurement& m, const std::string& model, std::uint64_t seed);

  RunnerConfig config_;
  std::filesystem::path key_file_;
  std::unique_ptr<test::DaemonProcess> cloud_, edge_;
  std::unique_ptr<control::Client> control_;
  std::uint16_t cloud_port_ = 0;
  std::uint64_t next_task_ = 1;
  bool netem_ = false;          // kernel delay available (netns mode)
  bool netem_checked_ = false;
  std::string link_kind_;
};

}  // namespace tandem::bench
