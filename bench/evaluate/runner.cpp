#include "bench/evaluate/runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon_process.hpp"
#include "bench/evaluate/analysis.hpp"
#include "control/client.hpp"

namespace tandem::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// tbf lets this much of the rate through at once: at least a few full-size
// frames (tbf drops packets larger than its burst), else 2 ms of rate.
constexpr double k_min_burst_bytes = 4096;
constexpr double k_burst_seconds = 0.002;
// Queue allowed in the tbf before it drops: far above what one TCP flow
// keeps queued, so the shaper delays and never drops.
constexpr const char* k_tbf_latency = "1s";
constexpr std::size_t k_netem_limit_packets = 100000;
constexpr auto k_estimate_timeout = 60s;

std::string tail(const std::string& text, std::size_t lines = 30) {
  std::size_t pos = text.size();
  for (std::size_t i = 0; i < lines && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

fs::path find_in_path(const std::string& exe) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  dirs += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / exe;
    if (!candidate.parent_path().empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw std::runtime_error(fmt::format("'{}' not found in PATH", exe));
}

// Names passed to a shell: namespaces and devices are ours, but check anyway.
const std::string& shell_safe(const std::string& word) {
  static const std::regex safe("[A-Za-z0-9_.:/-]+");
  if (!std::regex_match(word, safe)) throw std::invalid_argument(fmt::format("unsafe name '{}'", word));
  return word;
}

// Runs a command line; returns its exit status and output.
std::pair<int, std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error(fmt::format("cannot run '{}'", command));
  std::string out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe)) out += buf.data();
  const int status = ::pclose(pipe);
  return {status, out};
}

void check_command(const std::string& command) {
  const auto [status, out] = run_command(command);
  if (status != 0) throw std::runtime_error(fmt::format("'{}' failed: {}", command, out));
}

Sample sample_from(const control::TaskResult& r) {
  Sample s;
  s.ok = r.ok;
  s.error = r.error.value_or("");
  s.cut = r.cut;
  s.measured_ms = r.measured_ms;
  s.edge_ms = r.edge_ms;
  s.transfer_ms = r.transfer_ms;
  s.cloud_ms = r.cloud_ms;
  s.predicted_ms = r.predicted_ms;
  s.predicted_edge_ms = r.predicted_edge_ms;
  s.predicted_transfer_ms = r.predicted_transfer_ms;
  s.predicted_cloud_ms = r.predicted_cloud_ms;
  s.crossing_bytes = r.crossing_bytes;
  s.bandwidth_mbit = r.bandwidth_mbit;
  s.rtt_ms = r.rtt_ms;
  s.fallback = r.fallback;
  return s;
}

}  // namespace

Runner::Runner(RunnerConfig config) : config_(std::move(config)) {
  fs::create_directories(config_.work_dir);
  key_file_ = config_.work_dir / "key";
  {
    std::ifstream random("/dev/urandom", std::ios::binary);
    std::array<char, 32> key{};
    random.read(key.data(), key.size());
    std::ofstream out(key_file_, std::ios::binary | std::ios::trunc);
    out.write(key.data(), key.size());
    if (!random || !out) throw std::runtime_error("cannot write the key file in " + config_.work_dir.string());
  }
  fs::permissions(key_file_, fs::perms::owner_read | fs::perms::owner_write);

  std::string models;
  for (const auto& m : config_.models) models += (models.empty() ? "" : ",") + m;
  std::vector<std::string> args{"--listen", config_.cloud_addr + ":0", "--threads",
                                std::to_string(config_.cloud_threads), "--key-file", key_file_.string(),
                                "--models", models};
  if (!config_.model_dir.empty()) args.insert(args.end(), {"--model-dir", config_.model_dir.string()});
  const fs::path cloud_bin = config_.bin_dir / "cloud_daemon";
  if (config_.mode == LinkMode::netns) {
    std::vector<std::string> wrapped{"netns", "exec", shell_safe(config_.cloud_netns), cloud_bin.string()};
    wrapped.insert(wrapped.end(), args.begin(), args.end());
    cloud_ = std::make_unique<test::DaemonProcess>(find_in_path("ip").string(), wrapped);
  } else {
    cloud_ = std::make_unique<test::DaemonProcess>(cloud_bin.string(), args);
  }
  const auto port = cloud_->wait_for_line(std::regex("listening on [0-9.]+:([0-9]+)"),
                                          config_.start_timeout);
  if (!port) throw std::runtime_error("cloud_daemon did not start:\n" + tail(cloud_->output()));
  cloud_port_ = static_cast<std::uint16_t>(std::stoi(*port));
}

Runner::~Runner() {
  stop_edge();
  if (cloud_) {
    cloud_->signal(SIGTERM);
    cloud_->wait_exit(30s);
    std::ofstream(config_.work_dir / "cloud.log") << cloud_->output();
  }
}

void Runner::stop_edge() {
  control_.reset();
  if (!edge_) return;
  edge_->signal(SIGTERM);
  edge_->wait_exit(60s);
  std::ofstream(config_.work_dir / "edge.log", std::ios::app) << edge_->output();
  edge_.reset();
}

void Runner::shape(const LinkCase& link) {
  if (config_.mode == LinkMode::emulated) {
    link_kind_ = "emulated (edge_daemon --emulate-link: token bucket + delay, loopback)";
    return;
  }
  const std::string& ens = shell_safe(config_.edge_netns);
  const std::string& cns = shell_safe(config_.cloud_netns);
  const std::string& edev = shell_safe(config_.edge_dev);
  const std::string& cdev = shell_safe(config_.cloud_dev);
  if (!netem_checked_) {
    // sch_netem may be missing from the kernel; try it once on the cloud's end.
    netem_ = run_command(fmt::format("tc -n {} qdisc replace dev {} root netem delay 1ms", cns, cdev)).first == 0;
    run_command(fmt::format("tc -n {} qdisc del dev {} root", cns, cdev));
    netem_checked_ = true;
  }
  const double rate_bits = link.mbit * 1e6;
  const auto burst = static_cast<long>(std::max(k_min_burst_bytes, link.bytes_per_s() * k_burst_seconds));
  const std::string tbf = fmt::format("tbf rate {:.0f}bit burst {} latency {}", rate_bits, burst, k_tbf_latency);
  run_command(fmt::format("tc -n {} qdisc del dev {} root", ens, edev));
  run_command(fmt::format("tc -n {} qdisc del dev {} root", cns, cdev));
  if (netem_ && link.rtt_ms() > 0) {
    const std::string netem = fmt::format("netem delay {:g}ms limit {}", link.one_way_delay_ms(), k_netem_limit_packets);
    check_command(fmt::format("tc -n {} qdisc add dev {} root handle 1: {}", ens, edev, netem));
    check_command(fmt::format("tc -n {} qdisc add dev {} parent 1: handle 2: {}", ens, edev, tbf));
    check_command(fmt::format("tc -n {} qdisc add dev {} root {}", cns, cdev, netem));
    link_kind_ = "netns veth: tbf rate + netem delay (both directions)";
  } else {
    check_command(fmt::format("tc -n {} qdisc add dev {} root {}", ens, edev, tbf));
    link_kind_ = link.rtt_ms() > 0
                     ? "netns veth: tbf rate; delay emulated by edge_daemon (kernel has no sch_netem)"
                     : "netns veth: tbf rate";
  }
}

void Runner::use_link(const LinkCase& link) {
  stop_edge();
  shape(link);
  std::string models;
  for (const auto& m : config_.models) models += (models.empty() ? "" : ",") + m;
  std::vector<std::string> args{
      "--cloud", fmt::format("{}:{}", config_.cloud_addr, cloud_port_),
      "--key-file", key_file_.string(),
      "--profiles", config_.profiles_dir.string(),
      "--edge-profile", config_.edge_profile,
      "--cloud-profile", config_.cloud_profile,
      "--control", "127.0.0.1:0",
      "--models", models,
      "--threads", std::to_string(config_.edge_threads),
      "--slowdown", fmt::format("{:g}", config_.edge_slowdown),
      "--no-pipeline",
      "--heavy-backlog", "0",
      "--probe-interval", config_.probe_interval};
  if (!config_.model_dir.empty()) args.insert(args.end(), {"--model-dir", config_.model_dir.string()});
  args.insert(args.end(), config_.edge_args.begin(), config_.edge_args.end());
  if (config_.mode == LinkMode::emulated) {
    args.insert(args.end(), {"--emulate-link", link.spec()});
  } else if (!netem_ && link.rtt_ms() > 0) {
    args.insert(args.end(), {"--emulate-link", fmt::format("rtt={:g}ms", link.rtt_ms())});
  }
  {
    std::ofstream log(config_.work_dir / "edge.log", std::ios::app);
    log << fmt::format("==== link {} ({})\n", link.spec(), link_kind_);
  }
  edge_ = std::make_unique<test::DaemonProcess>((config_.bin_dir / "edge_daemon").string(), args);
  const auto port = edge_->wait_for_line(std::regex("control listening on 127\\.0\\.0\\.1:([0-9]+)"),
                                         config_.start_timeout);
  if (!port) throw std::runtime_error("edge_daemon did not start:\n" + tail(edge_->output()));
  control_ = std::make_unique<control::Client>("127.0.0.1", static_cast<std::uint16_t>(std::stoi(*port)));

  // Plans made before the first probe would use the assumed bandwidth.
  const auto until = std::chrono::steady_clock::now() + k_estimate_timeout;
  for (;;) {
    const auto status = control_->status(10s);
    if (!status) throw std::runtime_error("edge_daemon does not answer status:\n" + tail(edge_->output()));
    if (status->cloud_connected && status->bandwidth_mbit && status->rtt_ms) break;
    if (std::chrono::steady_clock::now() > until) {
      throw std::runtime_error(fmt::format("no link estimate after {} s (status {}):\n{}",
                                           k_estimate_timeout.count(), control::to_line(*status),
                                           tail(edge_->output())));
    }
    std::this_thread::sleep_for(250ms);
  }
}

Sample Runner::run(const std::string& model, const std::string& plan, std::uint64_t seed) {
  control::TaskSpec task;
  task.model = model;
  task.seed = seed;
  task.plan = control::parse_plan_choice(plan);
  return sample_from(run_task(std::move(task)));
}

control::TaskResult Runner::run_task(control::TaskSpec task) {
  if (!control_) throw std::logic_error("Runner::run before use_link");
  const std::uint64_t id = next_task_++;
  task.task = id;
  const std::string& model = task.model;
  const std::string plan = control::to_string(task.plan);
  control_->submit(task);
  const auto deadline = std::chrono::steady_clock::now() + config_.task_timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const auto reply = control_->next(std::max(left, 1ms));
    if (!reply) {
      throw std::runtime_error(fmt::format("task {} ({} plan {}) got no result within {} s:\n{}", id, model,
                                           plan, config_.task_timeout.count(), tail(edge_->output())));
    }
    if (const auto* error = std::get_if<control::ErrorReply>(&*reply)) {
      throw std::runtime_error(fmt::format("edge_daemon rejected task {} ({} plan {}): {}", id, model, plan,
                                           error->error));
    }
    const auto* result = std::get_if<control::TaskResult>(&*reply);
    if (result && result->task == id) return *result;
  }
}

void Runner::run_into(Measurement& m, const std::string& model, std::uint64_t seed) {
  Sample s = run(model, m.candidate.plan, seed);
  if (!s.ok || s.fallback) ++m.failures;
  m.samples.push_back(std::move(s));
}

PairResult Runner::measure(const planner::Planner& planner, const std::string& model, const LinkCase& link,
                           const CandidateOptions& options,
                           const std::function<void(const std::string&)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  PairResult r;
  r.model = model;
  r.chain = planner.graph(model).is_chain();
  r.link = link;
  r.link_kind = link_kind_;
  r.candidates.clear();
  for (auto& c : make_candidates(planner, model, link, options)) r.candidates.push_back(Measurement{std::move(c)});
  r.planner.candidate.plan = "auto";
  r.planner.candidate.label = "planner";
  r.planner.candidate.origin = "auto";

  for (std::size_t i = 0; i < config_.warmup; ++i) run(model, "auto", 1000 + i);

  // Phase 1: the planner, edge-only and cloud-only, round-robin.
  std::vector<Measurement*> first{&r.planner};
  for (auto& m : r.candidates) {
    if (m.candidate.cut.is_edge_only() || m.candidate.cut.is_cloud_only()) first.push_back(&m);
  }
  for (std::size_t round = 0; round < config_.runs; ++round) {
    for (Measurement* m : first) run_into(*m, model, round + 1);
  }
  // Any cut the planner chose that is not a candidate yet becomes one.
  const GraphDesc& g = planner.graph(model);
  for (const Sample& s : r.planner.samples) {
    if (!s.ok || s.cut.empty()) continue;
    const Cut cut = Cut::parse(g, s.cut);
    const bool known = std::any_of(r.candidates.begin(), r.candidates.end(),
                                   [&](const Measurement& m) { return m.candidate.cut == cut; });
    if (!known) {
      r.candidates.push_back(Measurement{make_candidate(planner, model, cut, link, "planner")});
    }
  }
  std::stable_sort(r.candidates.begin(), r.candidates.end(), [](const Measurement& a, const Measurement& b) {
    return a.candidate.edge_nodes < b.candidate.edge_nodes;
  });

  // Phase 2: prune what the link alone makes slower than a plan measured
  // already, run the rest round-robin.
  auto ok_median = [](const Measurement& m) {
    std::vector<double> v;
    for (const auto& s : m.samples) {
      if (s.ok && !s.fallback) v.push_back(s.measured_ms);
    }
    return v.empty() ? INFINITY : median(v);
  };
  double bound = ok_median(r.planner);
  for (const auto& m : r.candidates) {
    if (!m.samples.empty()) bound = std::min(bound, ok_median(m));
  }
  std::vector<Measurement*> second;
  for (auto& m : r.candidates) {
    m.lower_bound_ms = transfer_lower_bound_ms(m.candidate, link);
    if (!m.samples.empty()) continue;
    if (m.lower_bound_ms >= bound) {
      m.pruned = true;
    } else {
      second.push_back(&m);
    }
  }
  progress(fmt::format("{} @ {}: {} candidates, {} pruned by the transfer bound ({:.0f} ms), {} to run",
                       model, link.spec(), r.candidates.size(),
                       r.candidates.size() - second.size() - (first.size() - 1), bound, second.size()));
  for (std::size_t round = 0; round < config_.runs; ++round) {
    for (Measurement* m : second) run_into(*m, model, round + 1);
  }

  // Phase 3: confirm a fastest candidate that is not the planner's cut with
  // fresh runs, alternating which of the two goes first.
  PairResult explored = r;
  analyse(explored);
  if (config_.confirm_runs > 0 && explored.oracle_index >= 0 && explored.regret > 0) {
    r.confirm_index = explored.oracle_index;
    r.confirm_planner.candidate = r.planner.candidate;
    r.confirm_oracle.candidate = r.candidates[static_cast<std::size_t>(r.confirm_index)].candidate;
    progress(fmt::format("{} @ {}: confirming {} (explored median {:.1f} ms) against the planner ({:.1f} ms), "
                         "{} runs each",
                         model, link.spec(), r.confirm_oracle.candidate.label, explored.oracle_ms,
                         explored.planner_ms, config_.confirm_runs));
    for (std::size_t round = 0; round < config_.confirm_runs; ++round) {
      const std::uint64_t seed = 100 + round;
      if (round % 2 == 0) {
        run_into(r.confirm_planner, model, seed);
        run_into(r.confirm_oracle, model, seed);
      } else {
        run_into(r.confirm_oracle, model, seed);
        run_into(r.confirm_planner, model, seed);
      }
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

}  // namespace tandem::bench
