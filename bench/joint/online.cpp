#include "bench/joint/online.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "app/stats.hpp"

namespace tandem::bench {

using app::percentile;

OnlineRun run_images(Runner& runner, const std::string& name, const std::string& link, const control::TaskSpec& base,
                     const app::LabelledImages& data, std::size_t count,
                     const std::function<void(const std::string&)>& progress) {
  OnlineRun run;
  run.name = name;
  run.link = link;
  run.command = control::to_line(base);
  const std::size_t n = std::min(count, data.count());
  std::vector<double> latencies;
  std::size_t correct = 0, on_edge = 0;
  double bytes = 0;
  std::map<std::string, std::size_t> cuts;
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    control::TaskSpec task = base;
    task.input = control::InlineTensor{
        {1, 1, static_cast<std::int64_t>(data.rows), static_cast<std::int64_t>(data.cols)},
        std::vector<float>(data.image(i), data.image(i) + data.rows * data.cols)};
    const control::TaskResult r = runner.run_task(std::move(task));
    ++run.samples;
    if (!r.ok || r.fallback) {
      ++run.failures;
      continue;
    }
    latencies.push_back(r.measured_ms);
    correct += r.top1 == data.labels[i];
    on_edge += r.joint ? r.joint->answered_by == "little" : r.placement == partition::Placement::edge_only;
    bytes += static_cast<double>(r.crossing_bytes);
    const std::string cut = r.joint && r.joint->answered_by == "little" ? "little" : r.cut;
    ++cuts[cut];
    if ((i + 1) % 1000 == 0 && progress) {
      progress(fmt::format("  {} {}: {} of {} samples", name, link, i + 1, n));
    }
  }
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double done = static_cast<double>(std::max<std::size_t>(1, run.samples - run.failures));
  run.accuracy = 100.0 * static_cast<double>(correct) / done;
  run.edge_share = 100.0 * static_cast<double>(on_edge) / done;
  run.p50_ms = percentile(latencies, 50);
  run.p95_ms = percentile(latencies, 95);
  run.bytes_per_sample = bytes / done;
  std::vector<std::pair<std::size_t, std::string>> ranked;
  for (const auto& [cut, k] : cuts) ranked.emplace_back(k, cut);
  std::sort(ranked.rbegin(), ranked.rend());
  for (std::size_t i = 0; i < ranked.size() && i < 3; ++i) {
    run.cuts += fmt::format("{}{} ×{}", i ? "; " : "", ranked[i].second, ranked[i].first);
  }
  return run;
}

}  // namespace tandem::bench
