// tandem submit: send a task queue to an edge daemon and report the results.

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <utility>  // before Asio (Boost 1.74)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "cli/options.hpp"
#include "edge_daemon/task.hpp"
#include "net/endpoint.hpp"

namespace tandem::cli {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Reads a queue file: one task per line as a JSON object (the control
// protocol's task form); blank lines and lines starting with '#' are skipped.
std::vector<edge::TaskSpec> read_queue(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CliError(fmt::format("cannot open queue file {}", path));
  std::vector<edge::TaskSpec> tasks;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    try {
      auto task = edge::task_from_json(nlohmann::json::parse(line));
      task.id = tasks.size();
      tasks.push_back(std::move(task));
    } catch (const std::exception& e) {
      throw CliError(fmt::format("{}:{}: {}", path, no, e.what()));
    }
  }
  if (tasks.empty()) throw CliError(fmt::format("queue file {} holds no tasks", path));
  return tasks;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

std::string opt_ms(const std::optional<double>& v) { return v ? fmt::format("{:.1f}", *v) : "-"; }

void print_row_header() {
  fmt::print("{:>5} {:<13} {:<10} {:>5} {:>10} {:>17} {:>17} {:>17} {:>17} {:>6} {}\n", "task",
             "model", "placement", "edge", "bytes", "edge ms p/m", "xfer ms p/m", "cloud ms p/m",
             "total ms p/m", "mbit", "note");
}

void print_row(const edge::TaskResult& r) {
  if (!r.ok) {
    fmt::print("{:>5} {:<13} FAILED: {}\n", r.task, r.model, r.error);
    return;
  }
  std::string note = r.fallback ? "fallback: " + r.fallback_reason : "";
  fmt::print("{:>5} {:<13} {:<10} {:>5} {:>10} {:>8.1f}/{:<8.1f} {:>8.1f}/{:<8.1f} {:>8.1f}/{:<8.1f} "
             "{:>8.1f}/{:<8.1f} {:>6} {}\n",
             r.task, r.model, r.placement, r.edge_nodes, r.crossing_bytes, r.predicted_edge_ms,
             r.edge_ms, r.predicted_transfer_ms, r.transfer_ms, r.predicted_cloud_ms,
             r.cloud_ms + r.fallback_ms, r.predicted_ms, r.measured_ms, opt_ms(r.bandwidth_mbit), note);
}

struct Summary {
  std::vector<double> latencies;
  std::vector<double> overheads;  // measured - edge compute - cloud compute, tasks that used the cloud
  std::vector<double> bytes;
  int failures = 0;
  int fallbacks = 0;
  std::map<std::string, int> placements;
};

void print_summary(const std::map<std::string, Summary>& per_model, const Summary& all,
                   std::size_t expected, double wall_s) {
  fmt::print("\n{:<14} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10}\n",
             "model", "count", "failed", "p50 ms", "p95 ms", "p99 ms", "fallback", "edge_only",
             "split", "cloud_only", "tasks/s", "ovh p50", "KB/task");
  auto row = [&](const std::string& name, const Summary& s) {
    const auto n = s.latencies.size() + static_cast<std::size_t>(s.failures);
    auto share = [&](const char* p) {
      const auto it = s.placements.find(p);
      const int c = it == s.placements.end() ? 0 : it->second;
      return fmt::format("{:.0f}%", n ? 100.0 * c / static_cast<double>(n) : 0.0);
    };
    fmt::print("{:<14} {:>5} {:>6} {:>9.1f} {:>9.1f} {:>9.1f} {:>9} {:>10} {:>10} {:>10} {:>9.2f} {:>10} {:>10.1f}\n",
               name, n, s.failures, percentile(s.latencies, 50), percentile(s.latencies, 95),
               percentile(s.latencies, 99), s.fallbacks, share("edge_only"), share("split"),
               share("cloud_only"), wall_s > 0 ? static_cast<double>(n) / wall_s : 0.0,
               s.overheads.empty() ? std::string("-") : fmt::format("{:.3f}", percentile(s.overheads, 50)),
               s.bytes.empty() ? 0.0 : percentile(s.bytes, 50) / 1e3);
  };
  for (const auto& [name, s] : per_model) row(name, s);
  row("all", all);
  const auto got = all.latencies.size() + static_cast<std::size_t>(all.failures);
  fmt::print("{} of {} tasks answered in {:.2f} s{}\n", got, expected, wall_s,
             got == expected ? "" : fmt::format(" — {} LOST", expected - got));
}

}  // namespace

int cmd_submit(const Args& args) {
  cxxopts::Options options(
      args[0],
      "Submit a task queue to an edge daemon and print each result as it completes, then a\n"
      "summary per model (latency percentiles include queueing; 'ovh p50' is the median of\n"
      "measured - edge compute - cloud compute over tasks that used the cloud). Tasks come from --models/--count (cycling through the models, or\n"
      "shuffled) or from --queue FILE (one JSON task per line, e.g.\n"
      "{\"model\": \"resnet18\", \"seed\": 3, \"plan\": \"auto\"}; '#' starts a comment).");
  options.add_options()
      ("edge", "edge daemon control address", cxxopts::value<std::string>()->default_value("127.0.0.1:7071"), "HOST:PORT")
      ("models", "models to cycle through, comma-separated", cxxopts::value<std::string>(), "LIST")
      ("count", "number of tasks", cxxopts::value<std::size_t>()->default_value("1"), "N")
      ("shuffle", "random model order (seeded by --seed)")
      ("queue", "queue file: one JSON task per line", cxxopts::value<std::string>(), "FILE")
      ("rate", "submit at this many tasks per second (default: all at once)", cxxopts::value<double>(), "R")
      ("objective", "latency, energy or throughput", cxxopts::value<std::string>()->default_value("latency"), "O")
      ("deadline", "deadline for each task's cloud part in ms (0: the daemon's default)", cxxopts::value<double>()->default_value("0"), "MS")
      ("plan", "auto, edge_only, cloud_only, split:K or cut:NODES", cxxopts::value<std::string>()->default_value("auto"), "P")
      ("codec", "fp32 or fp16 for crossing tensors", cxxopts::value<std::string>()->default_value("fp32"), "C")
      ("seed", "seed for inputs and --shuffle", cxxopts::value<std::uint64_t>()->default_value("1"), "N")
      ("timeout", "give up waiting for results after this many seconds", cxxopts::value<double>()->default_value("600"), "S")
      ("json", "print one JSON object per result instead of a table");
  const auto result = parse_options(options, args);
  if (!result) return 0;
  const bool json = result->count("json") > 0;

  std::vector<edge::TaskSpec> tasks;
  const auto seed = (*result)["seed"].as<std::uint64_t>();
  if (result->count("queue")) {
    if (result->count("models")) throw CliError("use either --queue or --models, not both");
    tasks = read_queue((*result)["queue"].as<std::string>());
  } else {
    if (!result->count("models")) throw CliError("--models or --queue is required");
    const auto models = net::split_list((*result)["models"].as<std::string>());
    if (models.empty()) throw CliError("--models lists no model");
    const auto count = (*result)["count"].as<std::size_t>();
    if (count == 0) throw CliError("--count must be at least 1");
    nlohmann::json base{{"objective", (*result)["objective"].as<std::string>()},
                        {"deadline_ms", (*result)["deadline"].as<double>()},
                        {"plan", (*result)["plan"].as<std::string>()},
                        {"codec", (*result)["codec"].as<std::string>()}};
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < count; ++i) {
      nlohmann::json j = base;
      j["task"] = i;
      j["model"] = result->count("shuffle") ? models[rng() % models.size()] : models[i % models.size()];
      j["seed"] = seed + i;
      try {
        tasks.push_back(edge::task_from_json(j));
      } catch (const std::invalid_argument& e) {
        throw CliError(e.what());
      }
    }
  }
  std::optional<double> rate;
  if (result->count("rate")) {
    rate = (*result)["rate"].as<double>();
    if (!(*rate > 0)) throw CliError("--rate must be positive");
  }
  const auto endpoint = [&] {
    try {
      return net::parse_endpoint((*result)["edge"].as<std::string>());
    } catch (const std::invalid_argument& e) {
      throw CliError(e.what());
    }
  }();

  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (!ec) asio::connect(socket, endpoints, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot reach the edge daemon at {}:{}: {} (is edge_daemon "
                                         "running with --control {}:{}?)",
                                         endpoint.host, endpoint.port, ec.message(), endpoint.host,
                                         endpoint.port));
  }
  socket.set_option(tcp::no_delay(true));

  const auto start = Clock::now();
  // Writer thread: paced submission; the main thread reads results meanwhile.
  std::thread writer([&] {
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      if (rate) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(static_cast<double>(i) / *rate)));
      }
      const std::string line = edge::to_json(tasks[i]).dump() + "\n";
      boost::system::error_code wec;
      asio::write(socket, asio::buffer(line), wec);
      if (wec) return;
    }
  });

  if (!json) print_row_header();
  std::map<std::string, Summary> per_model;
  Summary all;
  std::size_t answered = 0;
  asio::streambuf input;
  const auto timeout = std::chrono::duration<double>((*result)["timeout"].as<double>());
  // A watchdog closes the socket at the timeout so the blocking read returns.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    while (!done && Clock::now() - start < timeout) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!done) {
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
    }
  });
  while (answered < tasks.size()) {
    const std::size_t n = asio::read_until(socket, input, '\n', ec);
    if (ec) break;
    std::string line(asio::buffers_begin(input.data()),
                     asio::buffers_begin(input.data()) + static_cast<std::ptrdiff_t>(n));
    input.consume(n);
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (!j.contains("model")) {
      // A line the daemon could not accept: it names the task when it can.
      fmt::print(stderr, "edge daemon: {}\n", j.value("error", line));
      ++all.failures;
      ++answered;
      continue;
    }
    const edge::TaskResult r = edge::result_from_json(j);
    ++answered;
    if (json) {
      fmt::print("{}\n", j.dump());
    } else {
      print_row(r);
    }
    Summary& s = per_model[r.model];
    for (Summary* t : {&s, &all}) {
      if (r.ok) {
        t->latencies.push_back(r.measured_ms + r.queue_ms);
        if (r.placement != "edge_only" && !r.fallback) {
          t->overheads.push_back(r.measured_ms - r.edge_ms - r.cloud_ms);
          t->bytes.push_back(static_cast<double>(r.crossing_bytes));
        }
        ++t->placements[r.placement];
        if (r.fallback) ++t->fallbacks;
      } else {
        ++t->failures;
      }
    }
  }
  done = true;
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  writer.join();
  watchdog.join();
  if (!json) print_summary(per_model, all, tasks.size(), wall_s);
  if (answered < tasks.size()) {
    fmt::print(stderr, "tandem submit: {} of {} tasks got no result ({})\n", tasks.size() - answered,
               tasks.size(), ec ? ec.message() : "timeout");
    return 1;
  }
  return all.failures > 0 ? 1 : 0;
}

}  // namespace tandem::cli
