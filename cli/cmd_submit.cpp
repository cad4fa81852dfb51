// tandem submit: send a task queue to an edge daemon and report the results.

#include <algorithm>
#include <atomic>
#include <fstream>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "app/endpoint.hpp"
#include "app/stats.hpp"
#include "cli/commands.hpp"
#include "cli/submit_tasks.hpp"
#include "control/client.hpp"
#include "control/queue_file.hpp"

namespace tandem::cli {
namespace {

using Clock = std::chrono::steady_clock;
using control::TaskResult;
using app::percentile;
using control::TaskSpec;

// Seconds since the Unix epoch, as --start-at takes them.
double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string opt_ms(const std::optional<double>& v) { return v ? fmt::format("{:.1f}", *v) : "-"; }

void print_row_header() {
  fmt::print("{:>5} {:<13} {:<10} {:>5} {:>10} {:>17} {:>17} {:>17} {:>17} {:>19} {:>23} {:>6} {}\n",
             "task", "model", "placement", "edge", "bytes", "edge ms p/m", "xfer ms p/m",
             "cloud ms p/m", "total ms p/m", "done ms p/m", "waits e/u/c ms p|m", "mbit", "note");
}

std::string waits(const control::ResourceWaits& w) {
  return fmt::format("{:.0f}/{:.0f}/{:.0f}", w.edge, w.uplink, w.cloud);
}

void print_row(const TaskResult& r) {
  if (!r.ok) {
    fmt::print("{:>5} {:<13} FAILED: {}\n", r.task, r.model, r.error.value_or("(no reason given)"));
    return;
  }
  std::string note = r.fallback ? "fallback: " + r.fallback_reason : "";
  if (r.replanned) note = "re-planned to the edge while waiting for the uplink";
  fmt::print("{:>5} {:<13} {:<10} {:>5} {:>10} {:>8.1f}/{:<8.1f} {:>8.1f}/{:<8.1f} {:>8.1f}/{:<8.1f} "
             "{:>8.1f}/{:<8.1f} {:>9.1f}/{:<9.1f} {:>11}|{:<11} {:>6} {}\n",
             r.task, r.model, r.placement ? partition::to_string(*r.placement) : "-", r.edge_nodes,
             r.crossing_bytes, r.predicted_edge_ms, r.edge_ms, r.predicted_transfer_ms, r.transfer_ms,
             r.predicted_cloud_ms, r.cloud_ms + r.fallback_ms, r.predicted_ms, r.measured_ms,
             r.predicted_completion_ms, r.completion_ms, waits(r.predicted_wait), waits(r.measured_wait),
             opt_ms(r.bandwidth_mbit), note);
}

struct Summary {
  std::vector<double> latencies;
  std::vector<double> overheads;  // measured - edge - cloud compute - uplink and cloud waits, tasks that used the cloud
  std::vector<double> bytes;
  std::vector<double> completion_errors;  // |predicted - measured| / measured completion, %
  int failures = 0;
  int fallbacks = 0;
  std::map<partition::Placement, int> placements;
};

void print_summary(const std::map<std::string, Summary>& per_model, const Summary& all,
                   std::size_t expected, double wall_s) {
  fmt::print("\n{:<14} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10}\n",
             "model", "count", "failed", "p50 ms", "p95 ms", "p99 ms", "fallback", "edge_only",
             "split", "cloud_only", "tasks/s", "ovh p50", "KB/task", "|err| p50");
  auto row = [&](const std::string& name, const Summary& s) {
    const auto n = s.latencies.size() + static_cast<std::size_t>(s.failures);
    auto share = [&](partition::Placement p) {
      const auto it = s.placements.find(p);
      const int c = it == s.placements.end() ? 0 : it->second;
      return fmt::format("{:.0f}%", n ? 100.0 * c / static_cast<double>(n) : 0.0);
    };
    fmt::print("{:<14} {:>5} {:>6} {:>9.1f} {:>9.1f} {:>9.1f} {:>9} {:>10} {:>10} {:>10} {:>9.2f} {:>10} {:>10.1f} {:>10}\n",
               name, n, s.failures, percentile(s.latencies, 50), percentile(s.latencies, 95),
               percentile(s.latencies, 99), s.fallbacks, share(partition::Placement::edge_only),
               share(partition::Placement::split), share(partition::Placement::cloud_only), wall_s > 0 ? static_cast<double>(n) / wall_s : 0.0,
               s.overheads.empty() ? std::string("-") : fmt::format("{:.3f}", percentile(s.overheads, 50)),
               s.bytes.empty() ? 0.0 : percentile(s.bytes, 50) / 1e3,
               s.completion_errors.empty() ? std::string("-")
                                           : fmt::format("{:.1f}%", percentile(s.completion_errors, 50)));
  };
  for (const auto& [name, s] : per_model) row(name, s);
  row("all", all);
  const auto got = all.latencies.size() + static_cast<std::size_t>(all.failures);
  fmt::print("{} of {} tasks answered in {:.2f} s{}\n", got, expected, wall_s,
             got == expected ? "" : fmt::format(" — {} LOST", expected - got));
  fmt::print("latencies count from submission (queueing included); '|err| p50' is the median of\n"
             "|predicted - measured| completion over measured completion, predicted at submission\n");
}

// The tasks of --queue, of --dataset (their labels into `labels`), or of
// --models/--count with the flags' options.
std::vector<TaskSpec> make_tasks(const cxxopts::ParseResult& args, std::vector<int>& labels) {
  if (args.count("queue")) {
    if (args.count("models") || args.count("dataset")) throw app::UsageError("use either --queue or --models, not both");
    try {
      return control::read_queue_file(args["queue"].as<std::string>());
    } catch (const std::invalid_argument& e) {
      throw app::UsageError(e.what());
    }
  }
  const auto models = app::split_list(app::required(args, "models", "or --queue"));
  if (models.empty()) throw app::UsageError("--models lists no model");
  TaskSpec base;
  const auto field = [&](const char* flag, auto parse) {
    try {
      return parse(args[flag].as<std::string>());
    } catch (const std::exception& e) {
      throw app::UsageError(fmt::format("--{}: {}", flag, e.what()));
    }
  };
  base.objective = field("objective", [](const std::string& t) { return nlohmann::json(t).get<partition::Objective>(); });
  base.codec = field("codec", [](const std::string& t) { return nlohmann::json(t).get<control::CodecChoice>(); });
  base.plan = field("plan", control::parse_plan_choice);
  base.deadline_ms = args["deadline"].as<double>();
  if (!(base.deadline_ms >= 0)) throw app::UsageError("--deadline must be >= 0");
  apply_task_options(args, base);
  if (args.count("dataset")) {
    LabelledTasks data = dataset_tasks(args, base, models);
    labels = std::move(data.labels);
    return std::move(data.tasks);
  }
  if (args.count("limit") || args.count("dataset-dir")) throw app::UsageError("--limit and --dataset-dir need --dataset");
  const auto count = args.count("count") ? args["count"].as<std::size_t>() : std::size_t{1};
  if (count == 0) throw app::UsageError("--count must be at least 1");
  const auto seed = args["seed"].as<std::uint64_t>();
  std::mt19937_64 rng(seed);
  std::vector<TaskSpec> tasks;
  for (std::size_t i = 0; i < count; ++i) {
    TaskSpec t = base;
    t.task = i;
    t.model = args.count("shuffle") ? models[rng() % models.size()] : models[i % models.size()];
    t.seed = seed + i;
    tasks.push_back(std::move(t));
  }
  return tasks;
}

}  // namespace

int cmd_submit(const Args& args, const Context&) {
  cxxopts::Options options(
      args[0],
      "Submit a task queue to an edge daemon and print each result as it completes, then a\n"
      "summary per model (latency percentiles include queueing; 'ovh p50' is the median of\n"
      "measured - edge compute - cloud compute - uplink and cloud queueing over tasks that used\n"
      "the cloud). Tasks come from --models/--count (cycling through the models, or shuffled),\n"
      "from --queue FILE (one JSON task per line, e.g. {\"model\": \"resnet18\", \"seed\": 3,\n"
      "\"plan\": \"auto\"}; '#' starts a comment),\n"
      "or from --dataset (one task per labelled image, sent inline; the summary adds accuracy).\n"
      "Joint inference: --mode joint --little MODEL runs MODEL on the edge and sends only the\n"
      "samples the miner finds hard to the --models model.");
  options.add_options()
      ("edge", "edge daemon control address", cxxopts::value<std::string>()->default_value("127.0.0.1:7071"), "HOST:PORT")
      ("token-file", "send the token in this file's first line first (an edge started with --control-token-file)", cxxopts::value<std::string>(), "FILE")
      ("models", "models to cycle through, comma-separated", cxxopts::value<std::string>(), "LIST")
      ("count", "number of tasks (default 1)", cxxopts::value<std::size_t>(), "N")
      ("shuffle", "random model order (seeded by --seed)")
      ("queue", "queue file: one JSON task per line", cxxopts::value<std::string>(), "FILE")
      ("rate", "submit at this many tasks per second (default: all at once)", cxxopts::value<double>(), "R")
      ("poisson", "with --rate: Poisson arrivals (exponential gaps, seeded by --seed) instead of even spacing")
      ("start-at", "hold the first submission until this wall-clock time (seconds since the Unix epoch, e.g. "
       "$(date -d '+3 s' +%s.%N)); --rate spacing counts from it, so several submits can run in step or at chosen offsets",
       cxxopts::value<double>(), "UNIX_S")
      ("objective", "latency (each task as early as it can), makespan (the whole waiting batch as early as it can), energy (least edge energy) or throughput",  cxxopts::value<std::string>()->default_value("latency"), "O")
      ("deadline", "deadline for each task's cloud part in ms (0: the daemon's default)", cxxopts::value<double>()->default_value("0"), "MS")
      ("plan", "auto, edge_only, cloud_only, split:K or cut:NODES", cxxopts::value<std::string>()->default_value("auto"), "P")
      ("codec", "fp32, fp16, int8, fp32+zstd, fp16+zstd, int8+zstd, or auto (the planner picks within --accuracy-budget)", cxxopts::value<std::string>()->default_value("fp32"), "C")
      ("max-in-flight", "at most this many tasks unanswered at once (0: no limit; the edge allows 4096 per connection)", cxxopts::value<std::size_t>()->default_value("0"), "N")
      ("quiet", "no line per task: the summary only")
      ("seed", "seed for inputs and --shuffle", cxxopts::value<std::uint64_t>()->default_value("1"), "N")
      ("timeout", "give up waiting for results after this many seconds", cxxopts::value<double>()->default_value("600"), "S")
      ("json", "print one JSON object per result instead of a table");
  add_task_options(options);
  const auto parsed = app::parse_args(options, args);
  if (!parsed) return 0;
  const cxxopts::ParseResult& result = *parsed;
  const bool json = result.count("json") > 0;
  const bool quiet = result.count("quiet") > 0;
  std::vector<int> labels;
  const std::vector<TaskSpec> tasks = make_tasks(result, labels);
  AccuracyTally accuracy(std::move(labels));
  const std::size_t max_in_flight = result["max-in-flight"].as<std::size_t>();
  std::optional<double> rate;
  if (result.count("rate")) {
    rate = result["rate"].as<double>();
    if (!(*rate > 0) || !std::isfinite(*rate)) throw app::UsageError("--rate must be a positive number");
  }
  const bool poisson = result.count("poisson") > 0;
  if (poisson && !rate) throw app::UsageError("--poisson needs --rate");
  std::optional<double> start_at;
  if (result.count("start-at")) {
    start_at = result["start-at"].as<double>();
    const double from_now = *start_at - unix_now();
    if (!std::isfinite(*start_at) || from_now < -1 || from_now > 24 * 3600) {
      throw app::UsageError(
          fmt::format("--start-at {:.3f} is {:+.1f} s from now: give a Unix time within the next day", *start_at, from_now));
    }
  }
  const auto endpoint = app::parse_flag(result, "edge", app::parse_endpoint);
  std::string token;
  if (result.count("token-file")) {
    std::ifstream in(result["token-file"].as<std::string>());
    if (!in || !std::getline(in, token) || token.empty()) {
      throw std::runtime_error(fmt::format("--token-file {}: cannot read a token from its first line",
                                           result["token-file"].as<std::string>()));
    }
  }
  control::Client client(endpoint.host, endpoint.port, std::chrono::seconds(5), token);

  // The clock the pacing and --timeout count from: now, or --start-at.
  auto start = Clock::now();
  if (start_at) {
    start += std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(std::max(0.0, *start_at - unix_now())));
  }
  // Writer thread: paced submission; this thread reads results meanwhile.
  // Submission times, s from the start: all at once, evenly spaced or Poisson.
  std::vector<double> at(tasks.size(), 0.0);
  if (rate) {
    std::mt19937_64 rng(result["seed"].as<std::uint64_t>() ^ 0x9e3779b97f4a7c15ULL);
    std::exponential_distribution<double> gap(*rate);
    for (std::size_t i = 1; i < at.size(); ++i) {
      at[i] = poisson ? at[i - 1] + gap(rng) : static_cast<double>(i) / *rate;
    }
  }
  std::atomic<bool> stop_writing{false};
  InFlightWindow window(max_in_flight);
  std::thread writer([&] {
    for (std::size_t i = 0; i < tasks.size() && !stop_writing; ++i) {
      if (!window.wait_to_send(i)) return;
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(at[i])));
      try {
        client.submit(tasks[i]);
      } catch (const std::exception&) {
        return;  // the reader sees the connection close
      }
    }
  });

  if (!json) print_row_header();
  std::map<std::string, Summary> per_model;
  Summary all;
  std::size_t answered = 0;
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(result["timeout"].as<double>()));
  std::string why = "timeout";
  while (answered < tasks.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    auto reply = client.next(left);
    if (!reply) {
      if (client.closed()) why = "the edge daemon closed the connection";
      break;
    }
    if (const auto* error = std::get_if<control::ErrorReply>(&*reply)) {
      // A line the daemon could not accept: it names the task when it can.
      fmt::print(stderr, "edge daemon: {}\n", error->error);
      ++all.failures;
      ++answered;
      window.answered();
      continue;
    }
    const auto* r = std::get_if<TaskResult>(&*reply);
    if (!r) continue;  // a status or auth reply
    ++answered;
    window.answered();
    accuracy.add(*r);
    if (json) {
      fmt::print("{}\n", control::to_line(*r));
    } else if (!quiet) {
      print_row(*r);
    }
    Summary& s = per_model[r->model];
    for (Summary* t : {&s, &all}) {
      if (r->ok) {
        t->latencies.push_back(r->completion_ms > 0 ? r->completion_ms : r->measured_ms + r->queue_ms);
        if (r->placement != partition::Placement::edge_only && !r->fallback) {
          // Queueing on the uplink and in the cloud is waiting, not overhead.
          t->overheads.push_back(r->measured_ms - r->edge_ms - r->cloud_ms - r->measured_wait.uplink -
                                 r->measured_wait.cloud);
          t->bytes.push_back(static_cast<double>(r->crossing_bytes));
        }
        if (r->completion_ms > 0 && r->predicted_completion_ms > 0) {
          t->completion_errors.push_back(100.0 * std::abs(r->predicted_completion_ms - r->completion_ms) /
                                         r->completion_ms);
        }
        if (r->placement) ++t->placements[*r->placement];
        if (r->fallback) ++t->fallbacks;
      } else {
        ++t->failures;
      }
    }
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  stop_writing = true;
  window.close();
  client.close();
  writer.join();
  if (!json) {
    print_summary(per_model, all, tasks.size(), wall_s);
    accuracy.print();
  }
  if (answered < tasks.size()) {
    fmt::print(stderr, "tandem submit: {} of {} tasks got no result ({})\n", tasks.size() - answered,
               tasks.size(), why);
    return 1;
  }
  return all.failures > 0 ? 1 : 0;
}

}  // namespace tandem::cli
